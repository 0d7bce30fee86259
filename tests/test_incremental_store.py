"""The cache's packed records (a service's work): read back mapped, as they were written, and a
record that is missing, empty, truncated or of another format is a miss."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from compiler.incremental.store import Store


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
