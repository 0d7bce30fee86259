"""What keeps a large compile's memory down gives the same output: a compile for its files only
keeps each artifact rendered (its bytes are the file's) and drops the catalog's memos, and the
loaded documents keep their positions packed in ints."""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from compiler import pipeline
from compiler.artifacts import Digest
from compiler.diagnostics import Loc
from compiler.documents import Pos, pack, unpack
from compiler.jsonnet_source import load_jsonnet
from compiler.manifest import _joined
from compiler.yaml_source import load_yaml
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


_TWO_DOCUMENTS = """\
service: first
alerts: {}
---
service: second
owner: oncall
alerts:
  Down:
    expr: up == 0
    summary: >-
      The service is down
      on {{ $labels.instance }}
    description: |
      Line one.
        Line {{ two }}.
"""


def test_a_released_document_reads_its_data_and_positions_again_from_its_text() -> None:
    doc = load_yaml("svc.yaml", _TWO_DOCUMENTS)[0][1]
    before = (doc.data, dict(doc.values), dict(doc.keys))
    where = [doc.loc(("alerts", "Down", "expr")), doc.loc(("alerts", "Down"), key=True),
             doc.scalar_loc(("alerts", "Down", "summary"), 24), doc.scalar_loc(("alerts", "Down", "description"), 17)]
    doc.release()
    assert not {"data", "values", "keys"} & doc.__dict__.keys()  # let go of
    assert [doc.loc(("alerts", "Down", "expr")), doc.loc(("alerts", "Down"), key=True),
            doc.scalar_loc(("alerts", "Down", "summary"), 24),
            doc.scalar_loc(("alerts", "Down", "description"), 17)] == where
    assert (doc.data, doc.values, doc.keys) == before  # read again from the text, once
    assert {"data", "values", "keys"} <= doc.__dict__.keys()
    with pytest.raises(AttributeError):
        doc.other  # noqa: B018 - only what release let go of is read again


def test_a_released_jsonnet_document_keeps_its_data(tmp_path: Path) -> None:
    (tmp_path / "svc.jsonnet").write_text('{ service: "svc", alerts: {} }\n')
    docs, diags = load_jsonnet(tmp_path, tmp_path / "svc.jsonnet", "svc.jsonnet")
    assert not diags
    docs[0].release()
    assert docs[0].__dict__["data"] == {"service": "svc", "alerts": {}}  # its text is the source, not the data


def test_a_compile_lets_go_of_its_documents_once_linked_and_still_points_inside_their_scalars(tmp_path: Path) -> None:
    # The checks run after the documents' data and tables were let go of: a template error in a
    # folded summary is still reported at its character in the file, which is read again for it.
    catalog = tmp_path / "catalog"
    synthetic.write_catalog(catalog, 120)
    text = (catalog / "svc0000.yaml").read_text()
    summary = re.search(r"\n( +)summary: (.*)\n", text)
    assert summary is not None
    indent = summary.group(1)
    broken = text.replace(summary.group(0), f"\n{indent}summary: >-\n{indent}  Down\n{indent}  on {{{{ $x }}\n", 1)
    (catalog / "svc0000.yaml").write_text(broken)
    result = pipeline.analyse(catalog)
    line = broken.splitlines().index(f"{indent}  on {{{{ $x }}") + 1
    assert [(d.code, d.loc) for d in result.report.items] == [("MC302", Loc("svc0000.yaml", line, len(indent) + 6))]
    assert result.catalog is not None and len(result.catalog.services) == 2
    docs = {s.id: next(iter(s.alerts.values())).locate_text.doc for s in result.catalog.services}
    assert "data" in docs["svc0000"].__dict__  # read again for the diagnostic
    assert not {"data", "values", "keys"} & docs["svc0001"].__dict__.keys()  # let go of


def test_the_manifest_joins_its_lines_once_between_its_head_and_tail() -> None:
    for n in range(4):
        lines = [f"line{i}".encode() for i in range(n)]
        assert _joined(b"head", lines, b",\n", b"tail") == b"head" + b",\n".join(lines) + b"tail"
        text = [line.decode() for line in lines]
        assert _joined("head", text, ",\n", "tail") == "head" + ",\n".join(text) + "tail"
        assert lines == [f"line{i}".encode() for i in range(n)]  # the caller's list unchanged


def test_a_location_pickles_to_the_bytes_of_its_instance_dict_and_reads_back_as_itself(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Loc.__getstate__ gives pickle what it took by default (the instance's dict), without
    # making that dict: the cache's records keep their bytes.
    def locs() -> list[Loc]:
        return [Loc("svc.yaml", 3, 7), Loc("sérvice.yaml"), Loc("svc.yaml", 3, 7)]

    mine = [pickle.dumps(locs(), protocol=p) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)]
    assert all(pickle.loads(data) == locs() for data in mine)
    monkeypatch.delattr(Loc, "__getstate__")
    assert mine == [pickle.dumps(locs(), protocol=p) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)]
