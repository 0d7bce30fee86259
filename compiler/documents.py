"""Load stage, documents: raw catalog documents with the source position of every key and value."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from compiler.diagnostics import Loc

Path_ = tuple  # a path into a document: keys (str) and list indices (int)


@dataclass(frozen=True)
class Pos:
    """Where a YAML node starts (0-based, as libyaml reports) and its scalar style."""

    line: int
    column: int
    style: str | None = None


# A document's tables hold positions packed in one int each (`pack`): a Pos object per node and
# per key took 115 bytes, a third of a loaded catalog, and the documents live as long as the
# catalog (diagnostics point into them).
_STYLES = (None, "'", '"', "|", ">")  # libyaml's scalar styles (plain as None)


def pack(line: int, column: int, style: str | None = None) -> int:
    """A position as the int a document's tables hold."""
    return line << 32 | column << 3 | _STYLES.index(style)


def unpack(packed: int) -> Pos:
    return Pos(packed >> 32, (packed >> 3) & 0x1FFFFFFF, _STYLES[packed & 7])


_RELEASED = ("data", "values", "keys")  # what RawDocument.release lets go of


@dataclass
class RawDocument:
    """One document as written: plain data plus where each key and value stands in its file."""

    file: str  # relative to the catalog root, POSIX separators
    data: Any
    text: str
    values: dict[Path_, int] = field(default_factory=dict)  # packed positions (`pack`)
    keys: dict[Path_, int] = field(default_factory=dict)
    from_jsonnet: bool = False
    index: int = 0  # its place among the documents of its file

    def release(self) -> None:
        """Let go of the parsed data and the position tables once the build has read them (a
        tenth of a loaded catalog's memory, held by the compile and by the pages' child it
        forks). The text stays: a later stage asking for a position (a diagnostic inside a
        scalar) has the file parsed again, once. Jsonnet output keeps its data: its text is the
        source, not the data."""
        if not self.from_jsonnet:
            for name in _RELEASED:
                self.__dict__.pop(name, None)
            self.__dict__.pop("_lines", None)

    def __getattr__(self, name: str) -> Any:
        # Only reached for an attribute the instance lacks: one that `release` let go.
        if name not in _RELEASED or "text" not in self.__dict__:
            raise AttributeError(name)
        from compiler.yaml_source import load_yaml  # it imports this module
        again = load_yaml(self.file, self.text)[0]
        if self.index >= len(again):  # cannot happen: the text loaded before
            raise AttributeError(name)
        for released in _RELEASED:
            self.__dict__[released] = getattr(again[self.index], released)
        return self.__dict__[name]

    def lines(self) -> list[str]:
        # Split once per document: positions inside scalars are asked for one at a time.
        cached = self.__dict__.get("_lines")
        if cached is None:
            cached = self.__dict__["_lines"] = self.text.splitlines()
        return cached

    def loc(self, path: Path_, key: bool = False) -> Loc:
        """The position of the value at `path` (or of its key), falling back to the nearest parent."""
        table = self.keys if key else self.values
        p = tuple(path)
        while True:
            packed = table.get(p)
            if packed is None and key:
                packed = self.values.get(p)
            if packed is not None:  # unpack(), without its Pos: the build asks for 20 a rule
                return Loc(self.file, (packed >> 32) + 1, ((packed >> 3) & 0x1FFFFFFF) + 1)
            if self.from_jsonnet and p:
                found = self._search(p)
                if found:
                    return found
            if not p:
                return Loc(self.file, 1, 1)
            p = p[:-1]

    def _search(self, path: Path_) -> Loc | None:
        # Jsonnet output has no positions: find the field's key in the source instead.
        last = next((k for k in reversed(path) if isinstance(k, str)), None)
        if last is None:
            return None
        m = re.search(r"(?<![\w-])[\"']?" + re.escape(last) + r"[\"']?\s*:", self.text)
        if not m:
            return None
        return offset_to_loc(self.file, self.text, m.start())

    def scalar_loc(self, path: Path_, offset: int) -> Loc:
        """Position of character `offset` inside the scalar at `path` (exact for literal blocks;
        for plain, quoted and folded scalars, exact on the non-blank character at or after it)."""
        packed = self.values.get(tuple(path))
        if packed is None:
            return self.loc(path)
        pos = unpack(packed)
        value = self.data_at(path)
        if not isinstance(value, str):
            return Loc(self.file, pos.line + 1, pos.column + 1)
        before = value[:offset]
        if pos.style == "|":
            lines = self.lines()
            first = pos.line + 1
            indent = 0
            if first < len(lines):
                indent = len(lines[first]) - len(lines[first].lstrip(" "))
            nl = before.count("\n")
            col = len(before) - (before.rfind("\n") + 1)
            return Loc(self.file, first + nl + 1, indent + col + 1)
        # Plain, quoted and folded (`>`) scalars may run over several lines, joined with spaces:
        # find the same non-blank character in the source instead of counting columns.
        visible = sum(1 for ch in before if not ch.isspace())
        if pos.style == ">":
            found = self._visible_loc(pos.line + 1, 0, visible)  # below the `>-` header line
        else:
            found = self._visible_loc(pos.line, pos.column + (1 if pos.style else 0), visible)
        return found or Loc(self.file, pos.line + 1, pos.column + 1)

    def _visible_loc(self, line: int, column: int, count: int) -> Loc | None:
        """The position of the `count`-th (0-based) non-blank character from (line, column)."""
        lines = self.lines()
        for n in range(line, len(lines)):
            text = lines[n]
            for c in range(column if n == line else 0, len(text)):
                if not text[c].isspace():
                    if count == 0:
                        return Loc(self.file, n + 1, c + 1)
                    count -= 1
        return None

    def data_at(self, path: Path_) -> Any:
        cur = self.data
        for k in path:
            cur = cur[k]
        return cur


def offset_to_loc(file: str, text: str, offset: int) -> Loc:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Loc(file, line, col)
