"""Incremental compile: a stored value's manifest lines kept beside its pickle (packed) and read
back as views of the record, which the manifest joins (runs apart whole, runs that meet line by
line) and another process receives as bytes."""
from __future__ import annotations

import json
import pickle

import pytest

from compiler.incremental.chunks import manifest as manifest_of
from compiler.incremental.chunks import stored_files, stored_lines
from compiler.incremental.packed import beside, pack, unpack
from compiler.incremental.stored import StoredFiles, StoredLines
from compiler.artifacts import ManagedObject
from compiler.diagnostics import Loc
from compiler.manifest import assemble, file_line


def _files(service: str, count: int) -> StoredFiles:
    members = [(f"datadog/monitors/{service}/A{i:03}.json", f"{i:064x}",
                ((("datadog", f"datadog/monitors/{service}/A{i:03}.json"),
                  f'{{"hash": "h{i}", "id": "{service}/A{i:03}", "kind": "monitor", '
                  f'"path": "datadog/monitors/{service}/A{i:03}.json", "source": "s.yaml:1:1", '
                  f'"target": "datadog"}}'.encode()),))
               for i in range(count)]
    return stored_files(service, members)


def _lines() -> StoredLines:
    objects = [ManagedObject(f"svc/A{i}", "route_test", "amtool", Loc("s.yaml", i + 1, 1), {"name": f"A{i}"})
               for i in range(3)]
    (block,) = stored_lines("alertmanager/routes.tests.yaml", objects)
    return block


def _record(data: bytes) -> memoryview:
    """The value's bytes as the cache reads them back: a view of a larger record."""
    return memoryview(b"head" + data + b"tail")[4:-4]


def test_a_value_with_no_lines_to_keep_beside_is_stored_as_its_plain_pickle() -> None:
    value = ([], {"a": (1, "b")}, [ManagedObject("x", "k", "t", Loc("f", 1, 1), {"v": 1})])
    assert pack(value) == pickle.dumps(value, protocol=5)
    assert unpack(_record(pack(value))) == value


def test_stored_files_come_back_with_their_lines_as_views_of_the_record_and_the_same_text() -> None:
    files = _files("svc0001", 4)
    kept = unpack(_record(pack([beside(files), "after"])))
    assert kept[1] == "after" and type(kept[0]) is StoredFiles
    back = kept[0]
    assert back[:3] == files[:3]
    for runs, before in ((back.objects, files.objects), (back.files, files.files)):
        assert [type(text) for _, _, text in runs] == [memoryview] * len(before)
        assert [(first, last, bytes(text)) for first, last, text in runs] == list(before)


def test_stored_lines_come_back_as_a_view_of_the_record_with_the_same_text() -> None:
    block = _lines()
    back = unpack(_record(pack((beside(block),))))[0]
    assert type(back) is StoredLines and type(back.text) is memoryview
    assert back[:5] == block[:5] and bytes(back.text) == block.text


def test_stored_forms_read_back_are_sent_to_another_process_with_their_lines_as_bytes() -> None:
    files, block = unpack(_record(pack([beside(_files("svc0002", 2)), beside(_lines())])))
    sent = pickle.loads(pickle.dumps([files, block]))
    assert [type(text) for _, _, text in sent[0].objects + sent[0].files] == [bytes, bytes]
    assert sent[0] == _files("svc0002", 2) and sent[1] == _lines()


def test_a_stored_value_whose_lines_run_past_its_end_fails_to_read_back() -> None:
    data = pack((beside(_lines()),))
    with pytest.raises(pickle.UnpicklingError):
        unpack(data[:40])


MADE = (("prometheus", "prometheus/x.yaml"), b'{"hash": "h", "id": "x", "kind": "rule", '
        b'"path": "prometheus/x.yaml", "source": "s.yaml:1:1", "target": "prometheus"}')


def _manifest(blocks: list[StoredFiles], merge: bool = False) -> bytes:
    """The manifest of stored files and of one file made this run, as the pipeline gives them
    (the made file's line as str)."""
    line = file_line("prometheus/x.yaml", "f" * 64)
    return manifest_of([run for b in blocks for run in b.objects] + [(MADE[0], MADE[0], MADE[1])],
                       [run for b in blocks for run in b.files] + [(line[0], line[0], line[1])], merge)


def test_the_manifest_from_lines_read_back_as_views_is_the_one_from_the_lines_as_bytes_or_str() -> None:
    stored = [_files(f"svc{n:04}", 3) for n in range(3)]
    read_back = [unpack(_record(pack(beside(files)))) for files in stored]
    made = _manifest(read_back)
    assert made == _manifest(stored) == _manifest(stored, merge=True)
    # As the compile without the cache assembles it: every line as str.
    objects = [(key, bytes(text).decode()) for b in stored for key, _, text in b.objects]
    files = [file_line(path, sha) for b in stored for path, sha in zip(b.paths, b.hashes)]
    assert assemble(objects + [(MADE[0], MADE[1].decode())],
                    files + [file_line("prometheus/x.yaml", "f" * 64)]) == made
    assert made.count(b'"datadog/monitors/svc0002/A001.json": "sha256:') == 1


def _folder(service: str, names: list[str]) -> StoredFiles:
    members = [(f"datadog/monitors/{name}.json", f"{n:064x}",
                ((("datadog", f"datadog/monitors/{name}.json"),
                  f'{{"hash": "h", "id": "{service}/{name}", "kind": "monitor", "path": '
                  f'"datadog/monitors/{name}.json", "source": "s.yaml:1:1", "target": "datadog"}}'.encode()),))
               for n, name in enumerate(names)]
    return stored_files(service, members)


@pytest.mark.parametrize("names", [
    (["a1", "a2"], ["b1", "b2"], ["c1"]),         # apart: each run joined whole
    (["a1", "c1"], ["b1", "b2"], ["d1"]),         # interleaving: line by line
    (["a1", "b1"], ["b1", "c1"], ["c2", "d1"]),   # meeting at a path
])
def test_runs_apart_or_interleaving_give_the_manifest_of_every_line_sorted(names: tuple) -> None:
    blocks = [unpack(_record(pack(beside(_folder(f"s{n}", found))))) for n, found in enumerate(names)]
    made = manifest_of([run for b in blocks for run in b.objects], [run for b in blocks for run in b.files])
    # Every line on its own, keyed by its fields, as the compile without the cache gives them.
    lines = [json.loads(line) for b in blocks for _, _, text in b.objects for line in bytes(text).split(b",\n    ")]
    objects = [((o["target"], o["path"], o["kind"], o["id"]), json.dumps(o, sort_keys=True)) for o in lines]
    files = [file_line(path, sha) for b in blocks for path, sha in zip(b.paths, b.hashes)]
    assert made == assemble(objects, files)
