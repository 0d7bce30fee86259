"""Write stage, incremental: a few changed files replaced where they stand, undone on failure,
and a crash's leftovers undone by the next write."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Callable

import pytest

from compiler import patch, writer
from compiler.manifest import MANIFEST


def _tree(version: str, extra: dict[str, bytes] | None = None, drop: str | None = None) -> dict[str, bytes]:
    files = {f"s{i % 9}/k{i % 4}/f{i:03}.yaml": f"file {i}\n".encode() for i in range(200)}
    files["s0/k0/changing.yaml"] = f"version {version}\n".encode()
    files.update(extra or {})
    files.pop(drop, None)
    files[MANIFEST] = json.dumps({"files": sorted(files)}).encode()
    return files


def _on_disk(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _update(out: Path, old: dict[str, bytes], new: dict[str, bytes]) -> bool | None:
    """writer.update as the incremental compile calls it: the files whose bytes changed, and the
    others reused as recorded after the previous write."""
    reuse = {}
    for rel, data in new.items():
        if old.get(rel) == data:
            st = os.lstat(out / rel)
            reuse[rel] = ("", st.st_size, st.st_mtime_ns, st.st_ino)
    changed = {rel: data for rel, data in new.items() if rel not in reuse}
    return writer.update(out, changed, writer.Recorded.of(reuse), lambda target: True, old.keys())


class Crash(BaseException):
    """moncat killed: nothing after it runs, not even the undo."""


def _break_replace(monkeypatch: pytest.MonkeyPatch, fails: Callable[[str, int], BaseException | None],
                   killed: bool = False) -> list[str]:
    """os.replace raising what `fails(destination, call number)` returns (from 1); with `killed`,
    the patch's undo never runs. Returns the destinations asked for."""
    real, calls = os.replace, []

    def replace(src, dst) -> None:
        calls.append(str(dst))
        problem = fails(str(dst), len(calls))
        if problem is not None:
            raise problem
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    if killed:
        monkeypatch.setattr(patch, "_undo", lambda *a: (_ for _ in ()).throw(OSError("killed")))
    return calls


def test_a_few_changed_files_are_replaced_in_place_and_the_rest_keep_their_inodes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = _tree("1", drop=None, extra={"gone/only/file.yaml": b"old\n"})
    writer.write(out, old)
    inode, root = (out / "s3/k3/f003.yaml").stat().st_ino, out.stat().st_ino
    new = _tree("2", extra={"fresh/deep/new.yaml": b"new\n"})
    assert _update(out, old, new) is True
    assert _on_disk(out) == new
    assert (out / "s3/k3/f003.yaml").stat().st_ino == inode
    assert out.stat().st_ino == root  # the same directory: no new tree was built and swapped in
    assert not (out / "gone").exists()  # emptied directories go, as in a new tree
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_full_disk_while_writing_aside_changes_nothing_and_names_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    old = _tree("1")
    writer.write(out, old)

    def full(path: str, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr("compiler.trees.write_file", full)
    with pytest.raises(writer.OutputError) as caught:
        _update(out, old, _tree("2"))
    assert caught.value.diag.code == "MC502"
    assert str(out / "s0/k0/changing.yaml") in caught.value.diag.message or \
        str(out / MANIFEST) in caught.value.diag.message
    assert _on_disk(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_midway_through_the_renames_puts_every_file_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    old = _tree("1", extra={"gone/only/file.yaml": b"old\n"})
    writer.write(out, old)
    calls = _break_replace(monkeypatch, lambda dst, n: OSError(errno.EIO, os.strerror(errno.EIO), dst) if n == 3 else None)
    new = _tree("2", extra={"fresh/deep/new.yaml": b"new\n", "s1/k1/added.yaml": b"added\n"})
    with pytest.raises(writer.OutputError):
        _update(out, old, new)
    assert len(calls) > 3  # the undo moved files back
    assert _on_disk(out) == old
    assert not (out / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_crash_midway_is_undone_by_the_next_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    old = _tree("1", extra={"gone/only/file.yaml": b"old\n"})
    writer.write(out, old)
    # killed before the manifest landed: half the files are new
    _break_replace(monkeypatch, lambda dst, n: Crash() if dst.endswith(MANIFEST) else None, killed=True)
    new = _tree("2", extra={"fresh/deep/new.yaml": b"new\n"})
    with pytest.raises(Crash):
        _update(out, old, new)
    monkeypatch.undo()
    assert _on_disk(out) != old  # a mix, and the journal beside it
    assert [p.name.startswith(".out.moncat-patch-") for p in tmp_path.iterdir()].count(True) == 1
    third = _tree("3")
    assert writer.write(out, third) is True
    assert _on_disk(out) == third
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_recovery_restores_the_previous_files_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    old = _tree("1", extra={"gone/only/file.yaml": b"old\n"})
    writer.write(out, old)
    _break_replace(monkeypatch, lambda dst, n: Crash() if n == 2 else None, killed=True)
    with pytest.raises(Crash):
        _update(out, old, _tree("2", extra={"fresh/new.yaml": b"new\n"}))
    monkeypatch.undo()
    patch.recover(str(out))
    patch.recover(str(out))  # twice: nothing left to do
    assert _on_disk(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_new_file_where_a_directory_stood_replaces_the_whole_tree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = _tree("1", extra={"was/a/dir.yaml": b"x\n"})
    writer.write(out, old)
    new = _tree("1", extra={"was/a": b"now a file\n"})
    assert not patch.fits(str(out), {"was/a": b""})  # where a directory stands
    assert not patch.fits(str(out), {"s0/k0/f000.yaml/under": b""})  # under a file
    assert patch.fits(str(out), {"s0/k0/f000.yaml": b"", "new/dir/file": b""})
    assert _update(out, old, new) is True
    assert _on_disk(out) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = _tree("1")
    writer.write(out, old)
    assert _update(out, old, old) is False
    assert _on_disk(out) == old


def test_a_tree_swapped_out_by_a_killed_compile_goes_back_before_the_next_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = _tree("1")
    writer.write(out, old)
    (out / "notes.txt").write_text("not moncat's\n")  # foreign: only the old tree holds it
    # Killed between the two renames of a whole-tree swap: the old tree aside, no output, and
    # the new tree never swapped in.
    aside = tmp_path / ".out.moncat-old-x1"
    aside.mkdir()
    out.rename(aside / "tree")
    (tmp_path / ".out.moncat-new-x2" / "half").mkdir(parents=True)
    assert writer.write(out, old) is False  # the old tree is back, and already holds `old`
    assert (out / "notes.txt").read_text() == "not moncat's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_replaced_tree_left_by_a_killed_compile_is_removed_by_the_next_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writer.write(out, _tree("1"))
    (tmp_path / ".out.moncat-old-x1" / "tree" / "d").mkdir(parents=True)
    assert writer.write(out, _tree("2")) is True
    assert _on_disk(out) == _tree("2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_symbolic_link_standing_where_a_file_lands_is_put_back_as_a_link_on_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    old = _tree("1")
    writer.write(out, old)
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("someone's file\n")
    (out / "s0/k0/changing.yaml").unlink()
    (out / "s0/k0/changing.yaml").symlink_to(elsewhere)
    _break_replace(monkeypatch, lambda dst, n: OSError(errno.EIO, "I/O error", dst) if dst.endswith(MANIFEST) else None)
    with pytest.raises(OSError):
        patch.apply(str(out), {"s0/k0/changing.yaml": b"new\n", MANIFEST: b"{}"}, [])
    assert (out / "s0/k0/changing.yaml").is_symlink()
    assert elsewhere.read_text() == "someone's file\n"


def test_the_check_of_the_unchanged_files_keeps_their_statuses_only_for_a_new_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every reused file is checked either way (a file changed by hand still stops the write);
    # only a new tree, which links them by their status, holds the 34,000 statuses (at 10,000
    # alerts) a patch of a few files has no use for.
    asked: list[bool] = []
    real = writer._still_as_recorded

    def recorded(root: str, reuse: writer.Recorded, keep: bool = True) -> list | None:
        asked.append(keep)
        found = real(root, reuse, keep)
        assert found is None or len(found) == (len(reuse) if keep else 0)
        return found

    monkeypatch.setattr(writer, "_still_as_recorded", recorded)
    out = tmp_path / "out"
    old = _tree("1")
    writer.write(out, old)
    new = _tree("2")
    assert _update(out, old, new) is True and asked == [False]  # patched in place
    assert _on_disk(out) == new
    (out / "s5/k1/f005.yaml").write_bytes(b"by hand\n")  # another size: no longer as recorded
    changed = {rel: b"all new\n" if rel != MANIFEST else data for rel, data in _tree("3").items()}
    assert _update(out, new, changed) is True and asked == [False, True]  # most changed: a new tree
    assert _on_disk(out) == changed
    reuse = writer.Recorded.of({rel: ("", st.st_size, st.st_mtime_ns, st.st_ino)
                                for rel in changed if rel != "s0/k0/changing.yaml" and (st := os.lstat(out / rel))})
    (out / "s2/k2/f002.yaml").write_bytes(b"edited by hand\n")  # no longer as recorded
    assert writer.update(out, {"s0/k0/changing.yaml": b"version 4\n"}, reuse, lambda target: True,
                         changed.keys()) is None  # checked all the same, though none is kept
    assert asked == [False, True, False]
