"""Load stage: catalog files (YAML, Jsonnet) to raw documents with source positions."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from compiler.diagnostics import Diagnostic, Loc, error

Path_ = tuple  # a path into a document: keys (str) and list indices (int)

SETTINGS_NAMES = ("moncat.yaml", "moncat.yml", "moncat.jsonnet")
YAML_SUFFIXES = (".yaml", ".yml")
# A YAML alias bomb expands a few lines into billions of nodes; no real catalog file is this big.
MAX_NODES = 2_000_000


@dataclass(frozen=True)
class Pos:
    """Where a YAML node starts (0-based, as libyaml reports) and its scalar style."""

    line: int
    column: int
    style: str | None = None


@dataclass
class RawDocument:
    """One document as written: plain data plus where each key and value stands in its file."""

    file: str  # relative to the catalog root, POSIX separators
    data: Any
    text: str
    values: dict[Path_, Pos] = field(default_factory=dict)
    keys: dict[Path_, Pos] = field(default_factory=dict)
    from_jsonnet: bool = False
    index: int = 0  # its place among the documents of its file

    def __reduce__(self) -> tuple:
        # Pickled (by the incremental cache, inside built entities' locators) as its text alone:
        # positions are parsed again only if a diagnostic asks for one.
        return _reloaded, (self.file, self.text, self.from_jsonnet, self.index)

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
            pos = table.get(p) or (self.values.get(p) if key else None)
            if pos is not None:
                return Loc(self.file, pos.line + 1, pos.column + 1)
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
        pos = self.values.get(tuple(path))
        if pos is None:
            return self.loc(path)
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


class _Reloaded:
    """A document restored from its text: parsed again the first time a position is asked."""

    def __init__(self, file: str, text: str, from_jsonnet: bool, index: int):
        self.file, self.text, self.from_jsonnet, self.index = file, text, from_jsonnet, index
        self._doc: RawDocument | None = None

    def __reduce__(self) -> tuple:
        return _reloaded, (self.file, self.text, self.from_jsonnet, self.index)

    def _parsed(self) -> RawDocument:
        if self._doc is None:
            if self.from_jsonnet:  # Jsonnet positions are searched for in the source text
                self._doc = RawDocument(self.file, None, self.text, from_jsonnet=True)
            else:
                self._doc = load_yaml(self.file, self.text)[0][self.index]
        return self._doc

    def loc(self, path: Path_, key: bool = False) -> Loc:
        return self._parsed().loc(path, key)

    def scalar_loc(self, path: Path_, offset: int) -> Loc:
        return self._parsed().scalar_loc(path, offset)


def _reloaded(file: str, text: str, from_jsonnet: bool, index: int) -> _Reloaded:
    return _Reloaded(file, text, from_jsonnet, index)


def offset_to_loc(file: str, text: str, offset: int) -> Loc:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Loc(file, line, col)


_constructor = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"


class _Converter:
    """Turns a composed YAML node tree into plain data, recording positions and refusing
    duplicate keys (PyYAML would silently keep the last one)."""

    def __init__(self, file: str, diags: list[Diagnostic]):
        self.file = file
        self.diags = diags
        self.values: dict[Path_, Pos] = {}
        self.keys: dict[Path_, Pos] = {}
        self.count = 0

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig()
        mark = node.start_mark
        cls = type(node)
        if cls is yaml.ScalarNode:
            # libyaml reports a plain scalar's style as '' (PyYAML as None): scalar_loc needs
            # None to point inside plain scalars.
            self.values[path] = Pos(mark.line, mark.column, node.style or None)
            if node.tag == _STR:  # the common case, without the constructor's dispatch
                return node.value
            value = _constructor.construct_object(node, deep=True)
            if not isinstance(value, (str, int, float, bool, type(None))):
                # Timestamps, binary: keep the text as written, the schema decides.
                value = node.value
            return value
        self.values[path] = Pos(mark.line, mark.column)
        if cls is yaml.MappingNode:
            _constructor.flatten_mapping(node)
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                key = knode.value if knode.tag == _STR else _constructor.construct_object(knode, deep=True)
                if not isinstance(key, str):
                    # Keys are ids and field names: a number or boolean key is always a typo.
                    key = str(key) if not isinstance(key, (list, dict)) else json.dumps(key)
                kpath = path + (key,)
                kpos = Pos(knode.start_mark.line, knode.start_mark.column)
                if key in out:
                    first = self.keys[kpath]
                    self.diags.append(error(
                        "MC011", f"duplicate key {key!r} (first defined at line {first.line + 1})",
                        Loc(self.file, kpos.line + 1, kpos.column + 1),
                        "remove or rename one of the two; YAML keeps only one of them",
                    ))
                    continue
                self.keys[kpath] = kpos
                out[key] = self.convert(vnode, kpath)
            return out
        return [self.convert(v, path + (i,)) for i, v in enumerate(node.value)]


class _TooBig(Exception):
    pass


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


# Scanner errors whose context (the token being scanned) is the mistake, not the problem mark.
_LATE_CONTEXTS = ("while scanning a simple key", "while scanning a quoted scalar")


def _unclosed_quote(text: str, mark: yaml.Mark | None) -> yaml.Mark | None:
    """Where a quote opened, when the token just before the error is a quoted string running over
    several lines: a missing closing quote makes the string end at the next quote, lines later,
    and the parser then fails there, far from the real mistake."""
    if mark is None:
        return None
    last = None
    try:
        for tok in yaml.scan(text, Loader=yaml.CSafeLoader):
            if tok.start_mark.index >= mark.index:
                break
            last = tok
    except yaml.YAMLError:
        pass
    if isinstance(last, yaml.ScalarToken) and last.style in ("'", '"') \
            and last.start_mark.line < last.end_mark.line and last.end_mark.index == mark.index:
        return last.start_mark
    return None


def load_yaml(file: str, text: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    docs: list[RawDocument] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        opened = _unclosed_quote(text, mark)
        if opened is not None:
            mark = opened
            what = "a quoted string opened here is never closed (it swallows the lines after it)"
        elif exc.context in _LATE_CONTEXTS and exc.context_mark and mark \
                and exc.context_mark.line < mark.line:
            # The scanner notices a key without ':' or a quote without its end only lines later;
            # the token it was scanning (the context) is what the user has to fix.
            mark = exc.context_mark
        loc = Loc(file, mark.line + 1, mark.column + 1) if mark else Loc(file)
        return [], [error("MC001", f"YAML syntax error: {what}", loc,
                          "check indentation, quoting and that every ':' is followed by a space")]
    except yaml.YAMLError as exc:  # a reader error: control characters and the like
        return [], [error("MC001", f"YAML error: {exc}", Loc(file), "remove the offending character")]
    for node in nodes:
        if node is None:
            continue
        conv = _Converter(file, diags)
        try:
            data = conv.convert(node, ())
        except _TooBig:
            return [], [error("MC012", "document expands to too many nodes (YAML alias bomb?)",
                              Loc(file, node.start_mark.line + 1, node.start_mark.column + 1),
                              "do not nest aliases of aliases")]
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark
            loc = Loc(file, mark.line + 1, mark.column + 1) if mark else Loc(file)
            return [], [error("MC001", f"YAML error: {exc.problem}", loc, "fix the value's syntax")]
        docs.append(RawDocument(file, data, text, conv.values, conv.keys, index=len(docs)))
    if not docs and not diags:
        diags.append(error("MC009", "file holds no document", Loc(file),
                           "add content or delete the file"))
    return docs, diags


_JSONNET_POS = re.compile(r"([^\s:]+\.(?:jsonnet|libsonnet)):(\d+):(\d+)")


def load_jsonnet(root: Path, path: Path, file: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    import _jsonnet  # the jsonnet package's binding

    root_resolved = root.resolve()
    escapes: list[str] = []

    def confined_import(base: str, rel: str) -> tuple[str, bytes]:
        # Jsonnet may import only files inside the catalog: a catalog is reviewed as a unit, and
        # a compile must not read secrets or other repositories through `import`.
        target = (Path(base) / rel).resolve()
        if Path(rel).is_absolute() or not target.is_relative_to(root_resolved):
            escapes.append(rel)
            raise RuntimeError(f"import {rel!r} is outside the catalog directory")
        if not target.is_file():
            raise RuntimeError(f"import {rel!r}: no such file in the catalog")
        return str(target), target.read_bytes()

    text = path.read_text(encoding="utf-8")
    try:
        out = _jsonnet.evaluate_file(str(path), import_callback=confined_import)
    except RuntimeError as exc:
        msg = str(exc)
        first = msg.strip().splitlines()[0] if msg.strip() else "evaluation failed"
        if escapes:
            idx = text.find(escapes[0])
            loc = offset_to_loc(file, text, idx) if idx >= 0 else Loc(file)
            return [], [error("MC004", f"Jsonnet import {escapes[0]!r} reaches outside the catalog",
                              loc, "keep imported files inside the catalog directory")]
        loc = Loc(file)
        m = _JSONNET_POS.search(msg)
        if m:
            loc_file = file
            mpath = Path(m.group(1))
            try:
                loc_file = (mpath.resolve().relative_to(root_resolved)).as_posix()
            except ValueError:
                pass
            loc = Loc(loc_file, int(m.group(2)), int(m.group(3)))
        first = re.sub(r"^(STATIC|RUNTIME) ERROR:\s*", "", first)
        first = _JSONNET_POS.sub("", first).strip(" :")
        return [], [error("MC003", f"Jsonnet error: {first}", loc, "fix the Jsonnet expression")]
    data = json.loads(out)
    items = data if isinstance(data, list) else [data]
    return [RawDocument(file, d, text, from_jsonnet=True) for d in items], []


def load_catalog(root: Path, reuse: Callable[[str, bytes], bool] | None = None
                 ) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Read every catalog file below `root`, in a stable order. `reuse(path, content)` (the
    incremental cache) may take a file's content over: True leaves the file unparsed."""
    if not root.is_dir():
        return [], [error("MC007", f"catalog directory {root} does not exist", None,
                          "pass the directory that holds moncat.yaml")]
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix in (*YAML_SUFFIXES, ".jsonnet")
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    docs: list[RawDocument] = []
    diags: list[Diagnostic] = []
    if not files:
        # No file to point at: the directory's own name is no path inside the catalog.
        return [], [error("MC005", f"the catalog {root} is empty: no .yaml or .jsonnet file", None,
                          "create moncat.yaml with `version: 1` and one file per service")]
    if not any(p.parent == root and p.name in SETTINGS_NAMES for p in files):
        diags.append(error("MC006", "the catalog has no root settings file moncat.yaml",
                           Loc("moncat.yaml"), "create moncat.yaml with `version: 1`"))
    for p in files:
        rel = p.relative_to(root).as_posix()
        try:
            raw = p.read_bytes()
        except OSError as exc:
            diags.append(error("MC008", f"cannot read file: {exc.strerror}", Loc(rel),
                               "check the file's permissions"))
            continue
        if reuse is not None and reuse(rel, raw):
            continue
        text, problem = _decode(rel, raw)
        if problem:
            diags.append(problem)
            continue
        if p.suffix == ".jsonnet":
            got, d = load_jsonnet(root, p, rel)
        else:
            got, d = load_yaml(rel, text)
        docs.extend(got)
        diags.extend(d)
    return docs, diags
