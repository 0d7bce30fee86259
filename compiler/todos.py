"""Validate stage: TODO placeholders (what `moncat new` leaves to fill in), listed as warnings.

A placeholder is the word TODO in capitals in any key or text value of a catalog document. It
is a warning, not an error: a scaffolded piece compiles and its examples pass, so the catalog
can be worked on piece by piece, and `--fail-on warning` keeps unfinished work out of main.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.loader import RawDocument

CODE = "MC090"
_TODO = re.compile(r"\bTODO\b")


def _dotted(path: tuple) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(document)"


def _walk(data: Any, path: tuple) -> Iterator[tuple[tuple, bool, str]]:
    """(path, is_key, text) of every string in the document."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str):
                yield path + (key,), True, key
            yield from _walk(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _walk(value, path + (i,))
    elif isinstance(data, str):
        yield path, False, data


def find(doc: RawDocument) -> list[Diagnostic]:
    """One warning per key or value of `doc` that still holds a TODO."""
    out: list[Diagnostic] = []
    if not doc.from_jsonnet and "TODO" not in doc.text:
        return out  # the common case, at the cost of one substring search per file
    for path, is_key, text in _walk(doc.data, ()):
        m = _TODO.search(text)
        if m is None:
            continue
        loc = doc.loc(path, key=True) if is_key else doc.scalar_loc(path, m.start())
        what = "name" if is_key else "value"
        out.append(warning(CODE, f"TODO left in the {what} of `{_dotted(path)}`", loc,
                           "replace the placeholder with the real " + what))
    return out


__all__ = ["CODE", "find"]
