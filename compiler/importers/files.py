"""Import stage, reading: the files named on the command line, in a stable order."""
from __future__ import annotations

import re
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any, Callable

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


def read_json(item: Input, code: str, hint: str) -> tuple[Any, str, Diagnostic | None]:
    """The JSON value of a file and its text, or the diagnostic saying why not (not text, not
    JSON, or nested deeper than the parser's stack)."""
    text, problem = read_text(item)
    if problem or text is None:
        return None, "", problem
    try:
        return json.loads(text), text, None
    except ValueError as exc:
        return None, text, error(code, f"not JSON: {exc}", Loc(item.shown), hint)
    except RecursionError:
        return None, text, error(code, "not readable: JSON nested too deep", Loc(item.shown), hint)


def items(value: Any) -> list:
    """A JSON list, or nothing when the field holds something else."""
    return value if isinstance(value, list) else []


def mapping(value: Any) -> dict:
    """A JSON object, or an empty one when the field holds something else."""
    return value if isinstance(value, dict) else {}


def service_id(text: str) -> str:
    """A catalog service id from a file path, group or label value: lowercase, `-` between words."""
    slug = re.sub(r"[^a-z0-9_.]+", "-", text.lower()).strip("-._")
    return slug or "imported"


def object_lines(node: Any, doc, descend: tuple[str, ...], wanted: Callable[[dict, tuple], bool],
                 path: tuple = (), lines: dict[int, int] | None = None) -> dict[int, int]:
    """The line of every object of a JSON document that `wanted(object, path)` picks, keyed by
    the object's identity; only the keys in `descend` are searched."""
    lines = {} if lines is None else lines
    if isinstance(node, dict):
        if wanted(node, path):
            lines[id(node)] = doc.loc(path).line
        for k, v in node.items():
            if isinstance(v, (dict, list)) and k in descend:
                object_lines(v, doc, descend, wanted, (*path, k), lines)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            object_lines(v, doc, descend, wanted, (*path, i), lines)
    return lines
