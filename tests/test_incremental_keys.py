"""The cache's keys and the load stage's reading of the catalog: what makes a record stale (a
catalog file's bytes, the definitions of the series a service names, through recording rules)
and which catalog files are read (links resolved, inside the catalog only)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from compiler.incremental.front import Front, Source
from compiler.incremental.run import _series_digest
from compiler.incremental.store import Store
from compiler.loader import catalog_files
from conftest import ROOT


def _digest(words: list[frozenset[str]], table: dict[str, list[str]], deps: dict[str, set[str]]) -> str:
    return _series_digest([Source("k", words=w) for w in words], table, deps)


TABLE = {"a": ["da"], "b": ["db"], "c": ["dc"], "d": ["dd"], "e": ["de"]}
DEPS = {"a": {"b", "undefined"}, "b": {"c"}}  # a and b are recording rules: a reads b, b reads c


def test_a_services_series_digest_follows_recording_rules_to_what_they_read() -> None:
    before = _digest([frozenset({"a"})], TABLE, DEPS)
    # c is read by b, which a reads: its definition is part of the digest.
    assert _digest([frozenset({"a"})], {**TABLE, "c": ["dc2"]}, DEPS) != before
    # d and e are named by nothing the service reads.
    assert _digest([frozenset({"a"})], {**TABLE, "d": ["dd2"], "e": []}, DEPS) == before
    # The same words, reached directly instead of through a rule: the same definitions.
    assert _digest([frozenset({"a", "b", "c", "word"})], TABLE, DEPS) == before


def test_a_services_series_digest_reads_the_words_of_all_its_parts() -> None:
    one = _digest([frozenset({"d", "e"})], TABLE, {})
    assert _digest([frozenset({"d"}), frozenset({"e"})], TABLE, {}) == one
    assert _digest([frozenset({"d"}), frozenset({"e"})], {**TABLE, "e": ["de2"]}, {}) != one
    assert _digest([frozenset({"d"})], TABLE, {}) != one


def test_a_catalog_files_key_changes_with_any_byte_of_it(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "cache", tmp_path / "catalog")
    assert store is not None
    front = Front(store)
    raw = b"service: a\nalerts: {}\n"
    front.reuse("a.yaml", raw)
    key = front.keys["a.yaml"]
    front.reuse("a.yaml", raw)
    assert front.keys["a.yaml"] == key
    for changed in (raw[:-1], raw + b"\n", raw.replace(b"a\n", b"b\n", 1)):
        front.reuse("a.yaml", changed)
        assert front.keys["a.yaml"] != key, changed
    front.reuse("b.yaml", raw)  # the same bytes in another file
    assert front.keys["b.yaml"] != key


def test_a_catalog_file_linked_to_another_inside_the_catalog_is_read(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    (root / "svc").mkdir(parents=True)
    (root / "moncat.yaml").write_text("version: 1\n")
    (root / "svc" / "real.yaml").write_text("service: a\n")
    os.symlink("real.yaml", root / "svc" / "linked.yaml")
    os.symlink(tmp_path / "catalog" / "moncat.yaml", root / "absolute.yaml")
    files, diags = catalog_files(root)
    assert diags == []
    assert [p.relative_to(root).as_posix() for p in files] == \
        ["absolute.yaml", "moncat.yaml", "svc/linked.yaml", "svc/real.yaml"]


def test_a_catalog_file_linked_outside_the_catalog_is_refused_even_through_a_linked_root(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "moncat.yaml").write_text("version: 1\n")
    (tmp_path / "secret.yaml").write_text("service: x\n")
    os.symlink("../secret.yaml", real / "leak.yaml")
    root = tmp_path / "catalog"
    os.symlink(real, root)  # the catalog named through a link: its files are inside it all the same
    files, diags = catalog_files(root)
    assert [p.name for p in files] == ["moncat.yaml"]
    assert [(d.code, d.loc.file) for d in diags] == [("MC018", "leak.yaml")]


def test_importing_the_cli_sets_its_objects_apart_from_the_collector_and_leaves_it_on() -> None:
    script = textwrap.dedent("""
        import gc
        assert gc.isenabled()
        from compiler import cli
        print(gc.isenabled(), gc.get_freeze_count() > 10000, sum(gc.get_count()) < 10000)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "True"]
