"""What keeps a large compile's memory down gives the same output: a compile for its files only
keeps each artifact rendered (its bytes are the file's) and drops the catalog's memos, and the
loaded documents keep their positions packed in ints."""
from __future__ import annotations

from pathlib import Path

import pytest

from compiler import pipeline
from compiler.artifacts import Digest
from compiler.documents import Pos, pack, unpack
from tests.benchmarks import synthetic


def test_a_compile_for_its_files_only_writes_the_same_bytes_and_lists_the_same_artifacts(tmp_path: Path) -> None:
    synthetic.write_catalog(tmp_path / "catalog", 100)
    full = pipeline.compile_catalog(tmp_path / "catalog")
    lean = pipeline.compile_catalog(tmp_path / "catalog", artifacts=False)
    assert not lean.report.has_errors()
    assert lean.files == full.files
    assert [(a.path, a.format) for a in lean.artifacts] == [(a.path, a.format) for a in full.artifacts]
    assert all(a.data is lean.files[a.path] for a in lean.artifacts)  # one copy of each file's bytes
    assert all(type(o.content) is Digest for a in lean.artifacts for o in a.objects)
    assert [(o.id, o.kind, o.target) for a in lean.artifacts for o in a.objects] == \
        [(o.id, o.kind, o.target) for a in full.artifacts for o in a.objects]
    assert lean.catalog is not None and lean.catalog.memo == {}
    assert full.catalog is not None and full.catalog.memo != {}  # a full result keeps what explain reads


@pytest.mark.parametrize("style", [None, "'", '"', "|", ">"])
@pytest.mark.parametrize("line,column", [(0, 0), (1, 2), (399_999, 16 * 1024 * 1024)])
def test_a_position_packed_in_an_int_reads_back_as_itself(line: int, column: int, style: str | None) -> None:
    assert unpack(pack(line, column, style)) == Pos(line, column, style)
