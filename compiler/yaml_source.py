"""Load stage, YAML: composed node trees to plain data with positions, within the limits."""
from __future__ import annotations

from typing import Any

import yaml

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.documents import Path_, RawDocument, offset_to_loc, pack, unpack
from compiler import limits

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_TYPES = {bool: "a boolean", int: "an integer", float: "a number", type(None): "null"}


class Budget:
    """Nodes left to build, per file (all its documents) and per catalog: YAML aliases expand,
    so a few lines can stand for billions of nodes."""

    def __init__(self, catalog: int | None = None, per_file: int | None = None):
        self.catalog_left = limits.MAX_NODES_PER_CATALOG if catalog is None else catalog
        self.per_file = limits.MAX_NODES_PER_FILE if per_file is None else per_file
        self.file_left = self.per_file

    def start_file(self) -> None:
        self.file_left = self.per_file

    def spend(self, count: int = 1) -> str | None:
        """Take `count` nodes; the name of the exhausted budget ("file" / "catalog"), if any."""
        self.file_left -= count
        self.catalog_left -= count
        if self.file_left < 0:
            return "file"
        if self.catalog_left < 0:
            return "catalog"
        return None


class Refused(Exception):
    """A document that cannot be loaded, with the diagnostic saying why."""

    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


# Annotations are Go templates, whose `{{` YAML reads as the start of a mapping when unquoted.
TEMPLATE_HINT = ("quote the whole value: summary: '{{ $labels.instance }} is down' (YAML reads an "
                 "unquoted `{` as the start of a mapping)")

def too_many_nodes(which: str, loc: Loc) -> Diagnostic:
    limit = limits.MAX_NODES_PER_FILE if which == "file" else limits.MAX_NODES_PER_CATALOG
    return error("MC012", f"the {which} expands to more than {limit:,} YAML nodes "
                 "(aliases of aliases multiply: an alias bomb?)", loc,
                 "write the content out instead of nesting aliases, or split the catalog")


def too_deep(loc: Loc, aliases: bool = True) -> Diagnostic:
    why = " (or an alias that contains itself)" if aliases else ""
    return error("MC016", f"nesting deeper than {limits.MAX_NESTING} levels{why}", loc,
                 "a catalog document needs about ten levels; flatten this value")


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


class _Converter:
    """Turns a composed YAML node tree into plain data, recording positions and refusing
    duplicate keys (PyYAML would silently keep the last one), keys that are not text, tagged
    values that do not fit their tag, and trees deeper or larger than the limits."""

    def __init__(self, file: str, diags: list[Diagnostic], budget: Budget, text: str = ""):
        self.file = file
        self.text = text
        self.diags = diags
        self.budget = budget
        self.values: dict[Path_, int] = {}  # packed positions (documents.pack)
        self.keys: dict[Path_, int] = {}
        self.merging = 0  # merges being built, one inside the other
        # A constructor per file: PyYAML's remembers every node it built, and one that failed
        # on a bad value would then report the next node as "recursive".
        self.constructor = yaml.constructor.SafeConstructor()

    def at(self, node: yaml.Node) -> Loc:
        return Loc(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        exhausted = self.budget.spend()
        if exhausted:
            raise Refused(too_many_nodes(exhausted, self.at(node)))
        if len(path) > limits.MAX_NESTING:
            raise Refused(too_deep(self.at(node)))
        mark = node.start_mark
        cls = type(node)
        if cls is yaml.ScalarNode:
            # libyaml reports a plain scalar's style as '' (PyYAML as None): scalar_loc needs
            # None to point inside plain scalars.
            self.values[path] = pack(mark.line, mark.column, node.style or None)
            if node.tag == _STR:  # the common case, without the constructor's dispatch
                return node.value
            return self.scalar(node)
        if node.tag not in _COLLECTIONS:
            # `!!python/object/apply:...`, `!!set`, `!!omap`: PyYAML would build objects (or run
            # code, with its unsafe loader); the catalog format has plain mappings and lists only.
            raise Refused(error("MC015", f"YAML tag {_short(node.tag)} is not part of the catalog "
                                "format", self.at(node), "remove the tag: catalog values are "
                                "text, numbers, booleans, lists and mappings"))
        if cls is yaml.MappingNode:
            out: dict[str, Any] = {}
            merged: set[str] = set()
            own = [(k, v) for k, v in node.value if k.tag != _MERGE]
            for knode, vnode in node.value:
                if knode.tag == _MERGE:
                    self.merge(vnode, path, out, merged)
            self.values[path] = pack(mark.line, mark.column)  # after the merged mappings' own
            for knode, vnode in own:
                key = self.key(knode)
                kpath = path + (key,)
                kmark = knode.start_mark
                if key in out and key not in merged:
                    first = unpack(self.keys[kpath])
                    self.diags.append(error(
                        "MC011", f"duplicate key {key!r} (first defined at line {first.line + 1})",
                        Loc(self.file, kmark.line + 1, kmark.column + 1),
                        "remove or rename one of the two; YAML keeps only one of them",
                    ))
                    continue
                merged.discard(key)  # a key written here overrides the merged one
                self.keys[kpath] = pack(kmark.line, kmark.column)
                out[key] = self.convert(vnode, kpath)
            return out
        self.values[path] = pack(mark.line, mark.column)
        return [self.convert(v, path + (i,)) for i, v in enumerate(node.value)]

    def merge(self, vnode: yaml.Node, path: Path_, out: dict[str, Any], merged: set[str]) -> None:
        """`<<: *defaults` (or a list of them): the keys of each mapping, the first one winning,
        built (and counted) like any other value. PyYAML's own flattening copies the merged
        lists at every level before anything is counted, a bomb of its own."""
        sources = vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode]
        # Merges of merges recurse without the path growing: bound them like nesting.
        self.merging += 1
        if self.merging > limits.MAX_NESTING:
            raise Refused(too_deep(self.at(vnode)))
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise Refused(error("MC015", "`<<` merges only mappings (an alias of one, or a "
                                    "list of them)", self.at(source), "merge a mapping here"))
            data = self.convert(source, path)
            # Copying the merged keys is work too: mappings merged into mappings merged into ...
            # would otherwise copy n^3 keys for n^2 counted nodes.
            exhausted = self.budget.spend(len(data))
            if exhausted:
                raise Refused(too_many_nodes(exhausted, self.at(source)))
            for key, value in data.items():
                if key not in out:
                    out[key] = value
                    merged.add(key)
        self.merging -= 1

    def key(self, knode: yaml.Node) -> str:
        if not isinstance(knode, yaml.ScalarNode):
            what = "a mapping" if isinstance(knode, yaml.MappingNode) else "a list"
            at = knode.start_mark.index
            if isinstance(knode, yaml.MappingNode) and self.text[max(at - 1, 0):at + 1] == "{{":
                # `summary: {{ $labels.x }}`: YAML reads a mapping within a mapping.
                raise Refused(error("MC014", "a value that starts with `{{` is read by YAML as a "
                                    "mapping, not as text", self.at(knode), TEMPLATE_HINT))
            raise Refused(error("MC014", f"a key must be text, not {what}", self.at(knode),
                                "keys are names: write a plain word or a quoted string"))
        if knode.tag == _STR:
            return knode.value
        value = self.scalar(knode)  # a tagged key that does not fit its tag is refused there
        what = f"a {_short(knode.tag)}" if isinstance(value, str) else _TYPES[type(value)]
        raise Refused(error("MC014", f"the key {knode.value!r} is read by YAML as {what}, not as "
                            "text", self.at(knode), f"quote it: '{knode.value}'"))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise Refused(error("MC015", f"unknown YAML tag {_short(node.tag)}", self.at(node),
                                "remove the tag: catalog values are text, numbers, booleans, "
                                "lists and mappings")) from None
        except Exception:  # noqa: BLE001 - int(), float(), base64, datetime() on the text
            raise Refused(error("MC015", f"{node.value!r} is not a valid {_short(node.tag)}",
                                self.at(node), f"remove the tag {_short(node.tag)}, or write a "
                                "value of that type")) from None
        if not isinstance(value, (str, int, float, bool, type(None))):
            # Timestamps, binary: keep the text as written, the schema decides.
            value = node.value
        return value


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


def _syntax_error(file: str, text: str, exc: yaml.YAMLError) -> Diagnostic:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character, a NUL byte
        loc = offset_to_loc(file, text, exc.position) if 0 <= exc.position <= len(text) else Loc(file)
        return error("MC001", f"YAML error: character {exc.character!r} is not allowed in YAML "
                     "text", loc, "remove it, or write it as an escape in a double-quoted string")
    if not isinstance(exc, yaml.MarkedYAMLError):
        return error("MC001", f"YAML error: {exc}", Loc(file), "check the file's syntax")
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
    hint = "check indentation, quoting and that every ':' is followed by a space"
    line = text.split("\n")[mark.line] if mark and mark.line < text.count("\n") + 1 else ""
    value = line.split(": ", 1)[1].lstrip() if ": " in line else ""
    if value.startswith("{{"):
        hint = TEMPLATE_HINT
    elif "mapping values are not allowed" in what and value and value[0] not in "'\"{[|>":
        # `summary: Down on {{ $labels.x }}: 5 left`: the second ': ' starts a mapping.
        hint = ("a ': ' inside an unquoted value starts a mapping: quote the whole value, "
                "e.g. summary: 'Queue: {{ $labels.queue }}'")
    return error("MC001", f"YAML syntax error: {what}", loc, hint)


def load_yaml(file: str, text: str, budget: Budget | None = None) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Every document of one YAML file; the budget (one per file unless given) bounds the nodes
    its aliases expand to."""
    if budget is None:
        budget = Budget()
    budget.start_file()
    diags: list[Diagnostic] = []
    docs: list[RawDocument] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as exc:
        return [], [_syntax_error(file, text, exc)]
    for node in nodes:
        if node is None:
            continue
        conv = _Converter(file, diags, budget, text)
        try:
            data = conv.convert(node, ())
        except Refused as exc:
            return [], [exc.diag]
        docs.append(RawDocument(file, data, text, conv.values, conv.keys, index=len(docs)))
    if not docs and not diags:
        diags.append(error("MC009", "file holds no document", Loc(file),
                           "add content or delete the file"))
    return docs, diags


def plain_data(text: str) -> Any:
    """The data of a YAML text moncat did not write itself (an output directory read back), or
    None when it does not parse or crosses the limits."""
    try:
        docs, diags = load_yaml("-", text, Budget(limits.MAX_NODES_PER_FILE))
    except yaml.YAMLError:
        return None
    if diags or len(docs) != 1:
        return None
    return docs[0].data
