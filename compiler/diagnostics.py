"""Diagnostics: the one shape every stage reports problems in, and its renderings."""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from compiler.terminal_text import visible


class Severity(enum.IntEnum):
    """How bad a problem is; the exit status follows the worst one."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Loc:
    """A position in a catalog file: path relative to the catalog root, 1-based line and column."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __getstate__(self) -> dict[str, Any]:
        # What pickle stores by default (the instance's dict), without making that dict: Python
        # keeps a plain instance's fields inline until something asks for its __dict__, and
        # pickling asked, for every Loc the cache stored (about 64 bytes each, 14 MB at 10,000
        # alerts, in the compile and in the pages' child it forks).
        return {"file": self.file, "line": self.line, "column": self.column}

    def shifted(self, lines: int = 0, columns: int = 0) -> "Loc":
        """The position `lines` below and `columns` to the right (columns reset on a new line)."""
        return Loc(self.file, self.line + lines, columns + (1 if lines else self.column))


@dataclass(frozen=True)
class Diagnostic:
    """One problem: a stable code, a severity, where, what, and how to fix it."""

    code: str
    severity: Severity
    message: str
    loc: Loc | None = None
    hint: str = ""

    def sort_key(self) -> tuple:
        loc = self.loc or Loc("")
        return (loc.file, loc.line, loc.column, self.code, self.message)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "file": self.loc.file if self.loc else None,
            "line": self.loc.line if self.loc else None,
            "column": self.loc.column if self.loc else None,
            "message": self.message,
            "hint": self.hint,
        }


def error(code: str, message: str, loc: Loc | None, hint: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, loc, hint)


def warning(code: str, message: str, loc: Loc | None, hint: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, loc, hint)


@dataclass
class Report:
    """Diagnostics collected across stages, in a stable order."""

    items: list[Diagnostic] = field(default_factory=list)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    def sorted(self) -> list[Diagnostic]:
        # Deduplicate: two stages may notice the same thing at the same place.
        return sorted(set(self.items), key=Diagnostic.sort_key)

    @property
    def worst(self) -> Severity | None:
        return max((d.severity for d in self.items), default=None)

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)


# Diagnostics about a credential written in the catalog: their source line is never printed.
UNQUOTED_CODES = frozenset({"MC464"})


def _source_line(root: Path | None, loc: Loc) -> str | None:
    if root is None:
        return None
    try:
        # Only a regular file inside the catalog: a link to a secret elsewhere is reported as
        # such, never shown in a code frame.
        path = (root / loc.file).resolve(strict=True)
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            return None
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except (OSError, RuntimeError):
        return None
    if 1 <= loc.line <= len(lines):
        return lines[loc.line - 1]
    return None


def render_text(diags: list[Diagnostic], root: Path | None) -> str:
    """Code frames: the location, the message, the source line with a caret, then the hint."""
    out: list[str] = []
    for d in diags:
        # The catalog's text as the terminal shows it, not as it would run it (terminal_text):
        # the line a YAML error points at is the line holding the control character.
        where = f"{d.loc}: " if d.loc else ""
        out.append(visible(f"{where}{d.severity} {d.code}: {d.message}"))
        if d.loc:
            src = None if d.code in UNQUOTED_CODES else _source_line(root, d.loc)
            if src is not None:
                gutter = f"{d.loc.line:>5} | "
                src = src.expandtabs(1)
                out.append(gutter + visible(src))
                # The caret under the character the column counts, however wide the escapes
                # before it are shown.
                out.append(" " * (len(gutter) + len(visible(src[:max(d.loc.column - 1, 0)]))) + "^")
        if d.hint:
            out.append(visible(f"  hint: {d.hint}"))
    counts = {s: sum(1 for d in diags if d.severity is s) for s in Severity}
    out.append(
        f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
        f"{counts[Severity.INFO]} info"
    )
    return "\n".join(out) + "\n"


def render_json(diags: list[Diagnostic]) -> str:
    return json.dumps([d.as_dict() for d in diags], indent=2, sort_keys=True) + "\n"
