"""The cache's packed records (a service's work): read back mapped, as they were written, and a
record that is missing, empty, truncated or of another format is a miss. The record of what a
compile wrote to an output directory: a whole record and a patch of the files changed since,
read back together; a patch made against another whole record, or one that cannot be read, is
never applied."""
from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest

from compiler.incremental import output_record
from compiler.incremental.front import Source
from compiler.incremental.output_record import PATCH, WHOLE
from compiler.incremental.store import RECENT, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "cache", tmp_path / "catalog")
    assert opened is not None
    return opened


def test_a_packed_record_reads_back_its_value_and_its_bytes(store: Store) -> None:
    store.write_packed("values", "k", {"files": [("a", "b")]}, b"first" + b"x" * 10_000)
    value, data = store.read_packed("values", "k")
    assert value == {"files": [("a", "b")]}
    assert bytes(data) == b"first" + b"x" * 10_000
    assert pickle.loads(pickle.dumps(bytes(data[:5]))) == b"first"
    assert "k" in store.used["values"]


def test_a_packed_record_replaced_or_deleted_while_read_keeps_the_bytes_read(store: Store) -> None:
    store.write_packed("values", "k", "one", b"1" * 5000)
    _, data = store.read_packed("values", "k")
    store.write_packed("values", "k", "two", b"2" * 7000)  # another compile writes the same key
    assert bytes(data) == b"1" * 5000
    os.unlink(store._path("values", "k"))  # a compile pruning it
    assert bytes(data) == b"1" * 5000


@pytest.mark.parametrize("damage", ["missing", "empty", "truncated", "garbage", "short head"])
def test_a_packed_record_that_cannot_be_read_back_is_a_miss(store: Store, damage: str) -> None:
    store.write_packed("values", "k", {"files": []}, b"data")
    path = store._path("values", "k")
    whole = path.read_bytes()
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes({"empty": b"", "truncated": whole[:12], "garbage": b"\x05" * 40,
                          "short head": (10**9).to_bytes(8, "little") + whole[8:]}[damage])
    store.used["values"].clear()
    assert store.read_packed("values", "k") is None
    assert "k" not in store.used["values"]


def _files(n: int, start: int = 0) -> list[tuple[str, tuple]]:
    return [(f"f{i:03}.yaml", (f"h{i}", i, 1000 + i, 50 + i)) for i in range(start, start + n)]


def _groups(n: int) -> dict:
    """n files in groups of ten, one per service."""
    return {f"s{g}": output_record.group(_files(min(10, n - g * 10), g * 10)) for g in range((n + 9) // 10)}


LOOSE = {"manifest.json": ("", 1, 2, 3), "index.html": ("hi", 4, 5, 6)}


def _state(n: int) -> dict:
    return {**dict(_files(n)), **LOOSE}


def _record_file(store: Store, kind: str) -> Path:
    return store._path(kind, "k")


def test_a_whole_record_reads_back_as_written_with_no_patch(store: Store) -> None:
    output_record.write_whole(store, "k", _groups(25), LOOSE)
    record = output_record.read(store, "k")
    assert record.groups == _groups(25) and record.loose == LOOSE and record.token
    assert record.state == _state(25) and record.patch_groups == {} == record.patch_loose
    assert not _record_file(store, PATCH).exists()


def test_a_groups_files_come_back_with_their_states_and_one_is_found_by_its_whole_path(store: Store) -> None:
    group = output_record.group([("a/b.yaml", ("h1", 1, 2, 3)), ("b.yaml", ("h2", 4, 5, 6)), ("a/b.yaml.x", ("h3", 7, 8, 9))])
    assert list(output_record.group_states(group)) == [
        ("a/b.yaml", ("h1", 1, 2, 3)), ("b.yaml", ("h2", 4, 5, 6)), ("a/b.yaml.x", ("h3", 7, 8, 9))]
    assert output_record.group_state(group, "b.yaml") == ("h2", 4, 5, 6)
    assert output_record.group_state(group, "a/b.yaml.x") == ("h3", 7, 8, 9)
    assert output_record.group_state(group, "b.yam") is None and output_record.group_state(group, "a/b") is None
    record = output_record.OutputRecord({"s": group}, {"manifest.json": ("", 1, 1, 1)})
    assert record.get("b.yaml") == ("h2", 4, 5, 6) and record.get("manifest.json") == ("", 1, 1, 1)
    assert record.get("c.yaml") is None and record.files() == 4


def test_a_few_changes_are_written_as_a_patch_and_read_back_applied_to_the_whole_record(store: Store) -> None:
    output_record.write_whole(store, "k", _groups(100), LOOSE)
    whole = _record_file(store, WHOLE).read_bytes()
    changed = output_record.group([("f001.yaml", ("new", 1, 2, 3)), ("added.yaml", ("a", 4, 5, 6))])
    output_record.write_changes(store, "k", output_record.read(store, "k"),
                                {"s0": changed}, {"index.html": None, "new.html": ("n", 7, 8, 9)})
    assert _record_file(store, WHOLE).read_bytes() == whole  # the whole record is not written again
    expected = {**_state(100), "f001.yaml": ("new", 1, 2, 3), "added.yaml": ("a", 4, 5, 6), "new.html": ("n", 7, 8, 9)}
    for gone in ["index.html", *(f"f{i:03}.yaml" for i in range(10) if i != 1)]:
        del expected[gone]
    assert output_record.read(store, "k").state == expected
    # A second patch holds the first's changes too: it replaces it.
    output_record.write_changes(store, "k", output_record.read(store, "k"), {"s1": None}, {})
    for i in range(10, 20):
        del expected[f"f{i:03}.yaml"]
    record = output_record.read(store, "k")
    assert record.state == expected and set(record.patch_groups) == {"s0", "s1"}
    assert set(record.patch_loose) == {"index.html", "new.html"}


def test_a_patch_past_an_eighth_of_the_record_writes_the_whole_record_again_and_removes_the_patch(
        store: Store) -> None:
    output_record.write_whole(store, "k", _groups(100), LOOSE)
    token = output_record.read(store, "k").token
    output_record.write_changes(store, "k", output_record.read(store, "k"),
                                {"s0": output_record.group([(f"f{i:03}.yaml", ("x", 1, 1, 1)) for i in range(10)])}, {})
    assert _record_file(store, PATCH).exists()  # 10 of 102: a patch
    more = {f"more{i}.html": ("z", i, i, i) for i in range(3)}
    output_record.write_changes(store, "k", output_record.read(store, "k"), {}, more)
    record = output_record.read(store, "k")  # 13 changed of 102: the whole record again
    assert not _record_file(store, PATCH).exists() and record.token != token
    assert record.patch_groups == {} == record.patch_loose
    assert record.state == {**_state(100), **{f"f{i:03}.yaml": ("x", 1, 1, 1) for i in range(10)},
                            **more}


def test_a_patch_left_beside_a_newer_whole_record_is_not_applied(store: Store) -> None:
    # A compile that wrote the whole record and stopped before removing the patch.
    output_record.write_whole(store, "k", _groups(100), LOOSE)
    output_record.write_changes(store, "k", output_record.read(store, "k"), {"s1": None}, {})
    stale = _record_file(store, PATCH).read_bytes()
    output_record.write_whole(store, "k", _groups(100), LOOSE)
    _record_file(store, PATCH).write_bytes(stale)
    assert output_record.read(store, "k").state == _state(100)


@pytest.mark.parametrize("damaged", [b"", b"\x00garbage", b"\xa9\x02"])
def test_a_patch_that_cannot_be_read_leaves_the_whole_record_as_it_was(store: Store, damaged: bytes) -> None:
    output_record.write_whole(store, "k", _groups(100), LOOSE)
    output_record.write_changes(store, "k", output_record.read(store, "k"), {"s1": None}, {})
    _record_file(store, PATCH).write_bytes(damaged)
    record = output_record.read(store, "k")
    assert record.state == _state(100) and record.patch_groups == {} == record.patch_loose


@pytest.mark.parametrize("whole", [b"", b"\x00garbage", "states", "token and states", "statuses short",
                                   "hash not text", "another format"])
def test_a_whole_record_missing_damaged_or_of_a_former_or_another_shape_is_no_record(
        store: Store, whole: bytes | str) -> None:
    token = "0123456789abcdef"
    shapes = {
        "states": _state(3),  # the first record: the states alone, marshalled
        "token and states": (token, _state(3)),  # the record before groups
        "statuses short": (output_record.FORMAT, token, {"s0": ("a\0b", "h\0h", b"\0" * 24)}, LOOSE),
        "hash not text": (output_record.FORMAT, token, {}, {"manifest.json": (b"", 1, 2, 3)}),
        "another format": ("moncat-output-1", token, _groups(3), LOOSE),
    }
    if isinstance(whole, str):
        store.write(WHOLE, "k", shapes[whole], plain=True)
    else:
        _record_file(store, WHOLE).write_bytes(whole)
    record = output_record.read(store, "k")
    assert not record and record.state == {} and record.token == ""


def test_a_blob_in_use_has_its_time_renewed_only_once_half_of_recent_has_passed(store: Store) -> None:
    # Another compile prunes the blobs it did not use once RECENT has passed since their time:
    # renewed within half of that, a blob outlives the compile reading it.
    assert store.write_blob("b", b"sections")
    path = store._path("sections", "b")
    now = time.time()
    os.utime(path, (now - 60, now - 60))
    assert store.blob("b", len(b"sections")) == str(path)
    assert abs(path.stat().st_mtime - (now - 60)) < 1  # recent enough: left as it was
    os.utime(path, (now - RECENT, now - RECENT))
    assert store.blob("b", len(b"sections")) == str(path)
    assert path.stat().st_mtime >= now - 1  # renewed
    assert store.blob("b", 3) is None and store.blob("absent", 8) is None


@pytest.mark.parametrize("words", [frozenset(), frozenset({"up"}), frozenset({"http_requests_total", "job:up:sum"})])
def test_a_sources_words_come_back_from_its_record_as_they_were(words: frozenset) -> None:
    source = Source("key", {"up": ("digest", frozenset({"x"}))}, words, frozenset({"svc"}))
    again = pickle.loads(pickle.dumps(source, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == source and type(again.words) is frozenset
