"""Load stage: catalog files (YAML, Jsonnet) to raw documents with source positions."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.documents import Path_, Pos, RawDocument, offset_to_loc
from compiler.jsonnet_source import load_jsonnet
from compiler import limits
from compiler.yaml_source import Budget, load_yaml

SETTINGS_NAMES = ("moncat.yaml", "moncat.yml", "moncat.jsonnet")
YAML_SUFFIXES = (".yaml", ".yml")
SUFFIXES = (*YAML_SUFFIXES, ".jsonnet")

__all__ = ["SETTINGS_NAMES", "YAML_SUFFIXES", "Path_", "Pos", "RawDocument", "load_catalog",
           "load_jsonnet", "load_yaml", "offset_to_loc"]


def _decode(file: str, raw: bytes) -> tuple[str | None, Diagnostic | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        loc = offset_to_loc(file, raw[: exc.start].decode("utf-8", "replace"), exc.start)
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start: exc.start].decode("utf-8", "replace")) + 1
        return None, error(
            "MC002", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            Loc(file, loc.line, col), "save the file as UTF-8",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def _outside(rel: str, what: str) -> Diagnostic:
    return error("MC018", f"{what} is a symbolic link to a place outside the catalog; moncat "
                 "reads nothing outside the catalog directory", Loc(rel),
                 "copy the file into the catalog, or link to a file inside it")


def _check_file(path: Path, rel: str, real_root: Path) -> Diagnostic | None:
    """Whether a catalog file may be read: inside the catalog once links are followed, a regular
    file (a FIFO or device would block or never end), and not larger than the limit."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return error("MC008", f"cannot read file: {exc.strerror}", Loc(rel),
                     "check that the file is there and readable")
    # A file that is no link is where the walk found it, inside the catalog (the walk follows no
    # link below the catalog's directory): only a link needs resolving, which costs a system
    # call per part of its path (0.01 s for a 200-file catalog).
    if stat.S_ISLNK(info.st_mode):
        try:
            real = path.resolve(strict=True)
            info = real.stat()
        except (OSError, RuntimeError) as exc:  # a dangling link or a loop of links
            reason = getattr(exc, "strerror", None) or "a loop of symbolic links"
            return error("MC008", f"cannot read file: {reason}", Loc(rel),
                         "fix or remove the symbolic link")
        if not real.is_relative_to(real_root):
            return _outside(rel, "the file")
    if not stat.S_ISREG(info.st_mode):
        return error("MC008", "cannot read file: not a regular file", Loc(rel),
                     "catalog files are plain files; remove this one")
    if info.st_size > limits.MAX_FILE_BYTES:
        return error("MC017", f"file is larger than {limits.MAX_FILE_BYTES / (1024 * 1024):g} MiB",
                     Loc(rel), "split it into several files")
    return None


def catalog_files(root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The catalog's .yaml/.yml/.jsonnet files in a stable order (hidden ones skipped), and the
    problems that keep others from being read. Directory links are not followed: a link to a
    directory outside the catalog is refused, one inside it adds nothing new."""
    real_root = root.resolve()
    found: list[Path] = []
    diags: list[Diagnostic] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            link = base / d
            if link.is_symlink() and not link.resolve().is_relative_to(real_root):
                diags.append(_outside(link.relative_to(root).as_posix(), "the directory"))
        for name in filenames:
            p = base / name
            if name.startswith(".") or p.suffix not in SUFFIXES:
                continue
            problem = _check_file(p, p.relative_to(root).as_posix(), real_root)
            if problem:
                diags.append(problem)
            else:
                found.append(p)
    return sorted(found, key=lambda p: p.relative_to(root).parts), diags


class Reuse(Protocol):
    """The incremental cache's side of loading (compiler.incremental.front)."""

    def reuse(self, rel: str, raw: bytes) -> int | None:
        """The node count of a file whose documents the cache holds (it is then not parsed)."""

    def loaded(self, rel: str, nodes: int) -> None:
        """A file parsed, with the nodes its documents spent of the catalog's budget."""


def load_catalog(root: Path, cache: Reuse | None = None) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Read every catalog file below `root`, in a stable order. `cache` (the incremental cache)
    may hold a file's documents already: that file is then not parsed, but still counts against
    the catalog's node budget."""
    if not root.is_dir():
        return [], [error("MC007", f"catalog directory {root} does not exist", None,
                          "pass the directory that holds moncat.yaml")]
    files, diags = catalog_files(root)
    docs: list[RawDocument] = []
    if not files and not diags:
        # No file to point at: the directory's own name is no path inside the catalog.
        return [], [error("MC005", f"the catalog {root} is empty: no .yaml or .jsonnet file", None,
                          "create moncat.yaml with `version: 1` and one file per service")]
    if not any(p.parent == root and p.name in SETTINGS_NAMES for p in files) \
            and not any(d.loc and d.loc.file in SETTINGS_NAMES for d in diags):
        diags.append(error("MC006", "the catalog has no root settings file moncat.yaml",
                           Loc("moncat.yaml"), "create moncat.yaml with `version: 1`"))
    budget = Budget()
    for p in files:
        rel = p.relative_to(root).as_posix()
        try:
            raw = p.read_bytes()
        except OSError as exc:
            diags.append(error("MC008", f"cannot read file: {exc.strerror}", Loc(rel),
                               "check the file's permissions"))
            continue
        known = cache.reuse(rel, raw) if cache is not None else None
        if known is not None and budget.catalog_left >= known:
            budget.catalog_left -= known
            continue
        text, problem = _decode(rel, raw)
        if problem:
            diags.append(problem)
            continue
        before = budget.catalog_left
        if p.suffix == ".jsonnet":
            got, d = load_jsonnet(root, p, rel, text, budget)
        else:
            got, d = load_yaml(rel, text, budget)
        docs.extend(got)
        diags.extend(d)
        if cache is not None:
            cache.loaded(rel, before - budget.catalog_left)
        if budget.catalog_left < 0:
            break  # the catalog-wide cap was reported at this file; the rest would only add to it
    return docs, diags
