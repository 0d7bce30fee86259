"""Import stage, reading: the files named on the command line, in a stable order."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from compiler.diagnostics import Diagnostic, Loc, error

SERVICE_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")


@dataclass(frozen=True)
class Input:
    """One file to read: where it is, how comments name it, and its path under the argument."""

    path: Path
    shown: str     # the argument joined with the path inside it: stable across runs
    relative: str  # path inside the directory argument (the file name for a file argument)


def inputs(args: list[Path], suffixes: tuple[str, ...]) -> tuple[list[Input], list[Diagnostic]]:
    """Files of `args` (directories searched recursively for `suffixes`), sorted, each once."""
    found: list[Input] = []
    diags: list[Diagnostic] = []
    seen: set[Path] = set()
    for arg in args:
        if arg.is_dir():
            files = sorted(p for p in arg.rglob("*") if p.is_file() and p.suffix in suffixes)
            if not files:
                diags.append(error("MC801", f"{arg} holds no {'/'.join(suffixes)} file", Loc(str(arg)),
                                   "name the files to import, or a directory that holds them"))
            for p in files:
                rel = p.relative_to(arg).as_posix()
                if p.resolve() not in seen:
                    seen.add(p.resolve())
                    found.append(Input(p, (arg / rel).as_posix(), rel))
        elif arg.is_file():
            if arg.resolve() not in seen:
                seen.add(arg.resolve())
                found.append(Input(arg, arg.as_posix(), arg.name))
        else:
            diags.append(error("MC801", f"{arg}: no such file or directory", Loc(str(arg)),
                               "check the path"))
    return found, diags


def read_text(item: Input) -> tuple[str | None, Diagnostic | None]:
    try:
        return item.path.read_text("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, error("MC802", f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                           Loc(item.shown), "save the file as UTF-8")
    except OSError as exc:
        return None, error("MC802", f"cannot read: {exc.strerror}", Loc(item.shown), "check the path")


def service_id(text: str) -> str:
    """A catalog service id from a file path, group or label value: lowercase, `-` between words."""
    slug = re.sub(r"[^a-z0-9_.]+", "-", text.lower()).strip("-._")
    return slug or "imported"
