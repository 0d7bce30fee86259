"""Write stage: a recompile links the files it did not change, and still replaces the tree whole."""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from compiler import writer
from compiler.manifest import MANIFEST


def _tree(version: str, count: int = 100) -> dict[str, bytes]:
    """`count` files over a few directories (enough for the threaded writer), a manifest
    listing them, and one file whose bytes depend on `version`."""
    files = {f"d{i % 7}/f{i:03}.yaml": f"file {i}\n".encode() for i in range(count)}
    files["d0/changing.yaml"] = f"version {version}\n".encode()
    files[MANIFEST] = json.dumps({"files": sorted(files)}).encode()
    return files


def _on_disk(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _inode(path: Path) -> int:
    return path.stat().st_ino


def test_a_recompile_keeps_the_unchanged_files_and_writes_the_changed_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert writer.write(out, _tree("1"))
    before = {rel: _inode(out / rel) for rel in _tree("1")}
    second = _tree("2")
    del second["d3/f003.yaml"]
    second[MANIFEST] = json.dumps({"files": sorted(second)}).encode()
    assert writer.write(out, second)
    assert _on_disk(out) == second
    assert _inode(out / "d1/f001.yaml") == before["d1/f001.yaml"]  # linked, not rewritten
    assert _inode(out / "d0/changing.yaml") != before["d0/changing.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old tree left


def test_an_unchanged_tree_is_not_written_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert writer.write(out, _tree("1"))
    assert not writer.write(out, _tree("1"))


def test_a_file_of_the_same_size_with_other_bytes_is_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writer.write(out, _tree("1"))
    (out / "d2/f002.yaml").write_bytes(b"FILE 2\n")
    assert writer.compare(out, _tree("1")).changed == ("d2/f002.yaml",)
    assert writer.write(out, _tree("1"))
    assert _on_disk(out) == _tree("1")


def test_a_file_whose_mode_was_changed_is_written_afresh(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writer.write(out, _tree("1"))
    os.chmod(out / "d1/f001.yaml", 0o600)
    writer.write(out, _tree("2"))
    assert (out / "d1/f001.yaml").stat().st_mode & 0o777 == (out / "d1/f008.yaml").stat().st_mode & 0o777
    assert _on_disk(out) == _tree("2")


def test_a_foreign_file_is_kept_with_its_bytes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writer.write(out, _tree("1"))
    (out / "d1/notes.txt").write_bytes(b"mine\n")
    writer.write(out, _tree("2"))
    assert _on_disk(out) == {**_tree("2"), "d1/notes.txt": b"mine\n"}


def test_on_a_file_system_without_hard_links_every_file_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    writer.write(out, _tree("1"))

    def refuse(src: str, dst: str, **_: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), src, None, dst)

    monkeypatch.setattr(os, "link", refuse)
    assert writer.write(out, _tree("2"))
    assert _on_disk(out) == _tree("2")


def test_a_full_disk_while_linking_leaves_the_previous_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    writer.write(out, _tree("1"))
    links = []

    def fill(src: str, dst: str, **_: object) -> None:
        if len(links) == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), src, None, dst)
        links.append(dst)
        os.symlink(src, dst)  # stands in for the link: the test checks it is cleaned up

    monkeypatch.setattr(os, "link", fill)
    with pytest.raises(writer.OutputError) as caught:
        writer.write(out, _tree("2"))
    assert caught.value.diag.code == "MC502" and "free some disk space" in caught.value.diag.hint
    assert _on_disk(out) == _tree("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_full_disk_while_writing_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    real = os.write

    def full(fd: int, data: bytes) -> int:
        if b"version" in bytes(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(writer.OutputError) as caught:
        writer.write(out, _tree("1"))
    assert f"cannot write {out}/d0/changing.yaml" in caught.value.diag.message
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_interrupt_waits_for_a_write_under_way_and_refuses_the_next(tmp_path: Path, monkeypatch) -> None:
    import threading
    import time

    monkeypatch.setattr(writer, "_settled", False)
    slow, begun = writer.write_files, threading.Event()

    def slow_write_files(root, files):
        begun.set()
        time.sleep(0.5)
        slow(root, files)

    monkeypatch.setattr(writer, "write_files", slow_write_files)
    files = {"a/one.txt": b"1", "b/two.txt": b"2"}
    worker = threading.Thread(target=writer.write, args=(tmp_path / "out", files))
    worker.start()
    assert begun.wait(30)  # the write has begun: its staging directory exists
    writer.settle()  # as the CLI does on Ctrl-C
    assert {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes()
            for p in (tmp_path / "out").rglob("*") if p.is_file()} == files
    worker.join()
    with pytest.raises(KeyboardInterrupt):
        writer.write(tmp_path / "later", files)
    assert not (tmp_path / "later").exists()
    assert [p.name for p in tmp_path.iterdir() if ".moncat-" in p.name] == []


def test_provisional_files_stay_only_if_the_block_keeps_them_and_an_interrupt_takes_them_back(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer, "_settled", False)
    monkeypatch.setattr(writer, "_undo", [])
    (tmp_path / "mine.yaml").write_bytes(b"kept")
    files = {"new/deep/one.yaml": b"1", "two.yaml": b"2"}
    with writer.provisional(tmp_path, files) as written:
        assert (tmp_path / "new" / "deep" / "one.yaml").read_bytes() == b"1"
        written.remove()  # the caller refuses them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]
    with writer.provisional(tmp_path, files):
        pass  # kept
    assert (tmp_path / "two.yaml").read_bytes() == b"2"
    (tmp_path / "two.yaml").unlink()
    shutil.rmtree(tmp_path / "new")
    with writer.provisional(tmp_path, files) as written:
        writer.settle()  # Ctrl-C while the block runs (validating them)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]
        with pytest.raises(KeyboardInterrupt):
            written.write()  # nothing is written after the interrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]
    with pytest.raises(KeyboardInterrupt), writer.provisional(tmp_path, files):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]


def test_the_replaced_tree_is_removed_whole_without_following_links_out_of_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    deep = {f"t{i % 3}/s{i % 11}/k{i % 5}/f{i}.json": f"{i}\n".encode() for i in range(300)}
    first = {**deep, MANIFEST: json.dumps({"files": sorted(deep)}).encode()}
    writer.write(out, first)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("not moncat's\n")
    (out / "t0" / "s1" / "link").symlink_to(outside)  # no output of moncat's: not carried over
    (out / "t1" / "dirlink").symlink_to(outside)
    second = {rel: data + b"changed\n" for rel, data in deep.items() if not rel.startswith("t2/")}
    second[MANIFEST] = json.dumps({"files": sorted(second)}).encode()
    assert writer.write(out, second)
    assert _on_disk(out) == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "out"]
    assert (outside / "keep.txt").read_text() == "not moncat's\n"


def test_removing_a_tree_that_is_gone_or_holds_only_files_is_quiet(tmp_path: Path) -> None:
    from compiler.trees import remove_tree

    remove_tree(tmp_path / "never-made")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a").write_text("a")
    remove_tree(flat)
    assert list(tmp_path.iterdir()) == []
