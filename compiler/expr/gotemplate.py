"""Expression analysis: Go text/template as Prometheus expands alert annotations, so that a
generated test can predict the text (humanize, printf, query, if/with/range, ...)."""
from __future__ import annotations

import datetime
import decimal
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from compiler.durations import DurationError, parse_ms


class TemplateError(Exception):
    """Prometheus would fail to expand the template (its text becomes an error message)."""


class Unpredictable(Exception):
    """The text depends on something the example does not say (a query's result, $value)."""


@dataclass(frozen=True)
class Sample:
    """One sample of a query result, as templates see it (.Labels, .Value)."""

    labels: tuple[tuple[str, str], ...]
    value: float


# --- lexing ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<decl>:=)|(?P<assign>=)
  | (?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<char>'(?:[^'\\]|\\.)+')
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?))
  | (?P<var>\$[A-Za-z0-9_]*)(?P<varfields>(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()|,])
""", re.X)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "0": "\0"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m.group(1)[1:], 16))
                  if m.group(1)[0] in "xu" and len(m.group(1)) > 1 else _ESCAPES.get(m.group(1), m.group(1)),
                  text[1:-1])


def _tokens(body: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            raise TemplateError(f"unexpected {body[pos]!r} in action")
        pos = m.end()
        kind = m.lastgroup if m.lastgroup != "varfields" else "var"
        if kind == "ws":
            continue
        if m.group("var") is not None:
            fields = [f for f in (m.group("varfields") or "").split(".") if f]
            out.append(("var", (m.group("var"), fields)))
        elif kind == "field":
            out.append(("field", [f for f in m.group("field").split(".") if f]))
        elif kind == "str":
            out.append(("lit", _unquote(m.group("str"))))
        elif kind == "raw":
            out.append(("lit", m.group("raw")[1:-1]))
        elif kind == "char":
            out.append(("lit", ord(_unquote(m.group("char")))))
        elif kind == "num":
            text = m.group("num")
            is_int = re.fullmatch(r"[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]+)", text)
            out.append(("lit", int(text, 0) if is_int else float(text)))
        elif kind == "ident" and m.group("ident") in ("true", "false", "nil"):
            out.append(("lit", {"true": True, "false": False, "nil": None}[m.group("ident")]))
        else:
            out.append((kind, m.group(kind)))
    return out


# --- parsing --------------------------------------------------------------------------------------

@dataclass
class _Pipe:
    decl: list[str]
    assign: bool
    cmds: list[list]  # each command: a list of operands


def _parse_pipe(toks: list, i: int = 0, stop: str | None = None) -> tuple[_Pipe, int]:
    decl: list[str] = []
    assign = False
    j = i
    names = []
    while j < len(toks) and toks[j][0] == "var" and not toks[j][1][1]:
        names.append(toks[j][1][0])
        if j + 1 < len(toks) and toks[j + 1] == ("punct", ","):
            j += 2
            continue
        if j + 1 < len(toks) and toks[j + 1][0] in ("decl", "assign"):
            decl, assign, i = names, toks[j + 1][0] == "assign", j + 2
        break
    cmds: list[list] = [[]]
    while i < len(toks):
        kind, val = toks[i]
        if kind == "punct" and val == ")" and stop == ")":
            return _Pipe(decl, assign, cmds), i + 1
        if kind == "punct" and val == "|":
            cmds.append([])
            i += 1
            continue
        if kind == "punct" and val == "(":
            inner, i = _parse_pipe(toks, i + 1, ")")
            fields = []
            if i < len(toks) and toks[i][0] == "field":
                fields = toks[i][1]
                i += 1
            cmds[-1].append(("pipe", (inner, fields)))
            continue
        cmds[-1].append((kind, val))
        i += 1
    if stop == ")":
        raise TemplateError("unclosed left paren")
    if any(not c for c in cmds):
        raise TemplateError("missing command in pipeline")
    return _Pipe(decl, assign, cmds), i


def _parse(text: str) -> list:
    """Nodes: ("text", s) | ("out", pipe) | (kind, pipe, body, else_body) for if/with/range."""
    items: list = []
    pos = 0
    for m in re.finditer(r"\{\{(-\s)?(.*?)(\s-)?\}\}", text, re.S):
        chunk = text[pos:m.start()]
        if m.group(1):
            chunk = chunk.rstrip()
        items.append(("text", chunk))
        body = m.group(2)
        items.append(("action", body.strip()))
        pos = m.end()
        if m.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip())
    items.append(("text", text[pos:]))
    if "{{" in text[pos:]:
        raise TemplateError("unclosed action")
    nodes, _ = _block(items, 0, top=True)
    return nodes


def _block(items: list, i: int, top: bool = False) -> tuple[list, int]:
    out: list = []
    while i < len(items):
        kind, val = items[i]
        i += 1
        if kind == "text":
            if val:
                out.append(("text", val))
            continue
        if val.startswith("/*"):
            continue
        word = val.split(None, 1)[0] if val else ""
        if word in ("end", "else"):
            if top:
                raise TemplateError(f"unexpected {{{{{word}}}}}")
            return out, i - 1
        if word in ("if", "with", "range"):
            node, i = _block_one(items, i - 1)
            if i >= len(items) or not items[i][1].startswith("end"):
                raise TemplateError("missing {{end}}")
            out.append(node)
            i += 1
            continue
        if word in ("define", "template", "block"):
            raise Unpredictable(f"{{{{{word}}}}} is not supported in annotations here")
        pipe, _ = _parse_pipe(_tokens(val))
        out.append(("out", pipe))
    if not top:
        raise TemplateError("missing {{end}}")
    return out, i


def _block_one(items: list, i: int) -> tuple[tuple, int]:
    """The if/with/range that action `i` opens, up to (not past) the `end` that closes it; an
    `else if` is an `else` holding the next `if`, closed by the same `end`."""
    val = items[i][1]
    word = val.split(None, 1)[0]
    pipe, _ = _parse_pipe(_tokens(val[len(word):]))
    body, i = _block(items, i + 1)
    alt: list = []
    if items[i][1].startswith("else"):
        rest = items[i][1][4:].strip()
        if rest.split(None, 1)[:1] in (["if"], ["with"]):
            items[i] = ("action", rest)
            nested, i = _block_one(items, i)
            alt = [nested]
        else:
            alt, i = _block(items, i + 1)
    return (word, pipe, body, alt), i


# --- values as Go prints them --------------------------------------------------------------------

def go_float(value: float) -> str:
    """A float64 as Go's fmt prints it with %v: strconv's 'g' with the shortest digits, in
    exponent form below 1e-4 and from 1e6 up (`{{ $value }}` of 1234567 is 1.234567e+06)."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(float(value))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exp10 = len(digits) + exponent - 1
    minus = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if exp10 < 0:
        return f"{minus}0.{'0' * (-exp10 - 1)}{text}"
    whole = text[:exp10 + 1].ljust(exp10 + 1, "0")
    frac = text[exp10 + 1:]
    return f"{minus}{whole}{'.' + frac if frac else ''}"


def _go_time(t: datetime.datetime) -> str:
    base = t.strftime("%Y-%m-%d %H:%M:%S")
    if t.microsecond:
        base += ("." + f"{t.microsecond:06d}").rstrip("0")
    return base + " +0000 UTC"


def _sprint1(v: Any) -> str:
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, datetime.datetime):
        return _go_time(v)
    if isinstance(v, dict):
        _pinned(v)
        return "map[" + " ".join(f"{k}:{_sprint1(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, Sample):
        return "{map[" + " ".join(f"{k}:{x}" for k, x in v.labels) + "] " + go_float(v.value) + "}"
    if isinstance(v, list):
        return "[" + " ".join(_sprint1(x) for x in v) + "]"
    return str(v)


def sprint(*args: Any) -> str:
    """fmt.Sprint: operands joined, with a space between two that are not strings."""
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += _sprint1(a)
    return out


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def _go_type(v: Any) -> str:
    return {str: "string", float: "float64", int: "int", bool: "bool"}.get(type(v), "value")


def _format_one(flags: str, width: str, prec: str | None, verb: str, arg: Any) -> str:
    pad = "%" + flags + width
    spec = pad + ("." + prec if prec is not None else "")
    is_int = isinstance(arg, int) and not isinstance(arg, bool)
    if isinstance(arg, float) and (arg != arg or math.isinf(arg)) and verb in "vfFeEgG":
        return ("%" + width + "s") % ("NaN" if arg != arg else ("+Inf" if arg > 0 else "-Inf"))
    if verb == "v":
        if isinstance(arg, float):
            return (spec + "g") % arg if prec is not None else (pad + "s") % go_float(arg)
        if is_int:
            return (pad + "d") % arg
        return (pad + "s") % _sprint1(arg)
    if verb == "s" and isinstance(arg, str):
        return (spec + "s") % arg
    if verb in "dxXo" and is_int:
        return (spec + verb) % arg
    if verb in "fFeEgG" and isinstance(arg, float):
        return (spec + verb) % arg
    if verb == "q" and isinstance(arg, str):
        return (pad + "s") % ('"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"')
    if verb == "t" and isinstance(arg, bool):
        return (pad + "s") % ("true" if arg else "false")
    return f"%!{verb}({_go_type(arg)}={_sprint1(arg)})"


def printf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs annotations use: v s q d x X o f F e E g G t %."""
    out, pos, n = [], 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        if m.group(4) == "%":
            out.append("%")
            continue
        if n >= len(args):
            out.append(f"%!{m.group(4)}(MISSING)")
            continue
        prec = m.group(3) if "." in m.group(0) else None
        out.append(_format_one(m.group(1), m.group(2) or "", prec if prec is None else (prec or "0"),
                               m.group(4), args[n]))
        n += 1
    out.append(fmt[pos:])
    if n < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{_go_type(a)}={_sprint1(a)}" for a in args[n:]) + ")")
    return "".join(out)


def _g4(v: float) -> str:
    """Go's %.4g."""
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return "%.4g" % v


def _num(v: Any) -> float:
    if isinstance(v, bool):
        raise TemplateError("can't convert bool to float")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise TemplateError(f"strconv.ParseFloat: parsing {v!r}: invalid syntax") from None
    raise TemplateError(f"can't convert {type(v).__name__} to float")


def humanize(v: Any) -> str:
    v = _num(v)
    if v == 0 or v != v or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return _g4(v) + prefix
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v) + prefix


def humanize1024(v: Any) -> str:
    v = _num(v)
    if abs(v) <= 1 or v != v or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v) + prefix


def humanize_duration(v: Any) -> str:
    v = _num(v)
    if v != v or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        s, mi, h, d = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if d:
            return f"{sign}{d}d {h}h {mi}m {s}s"
        if h:
            return f"{sign}{h}h {mi}m {s}s"
        if mi:
            return f"{sign}{mi}m {s}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def _to_time(v: Any) -> datetime.datetime:
    v = _num(v)
    if v != v or math.isinf(v):
        raise TemplateError(f"cannot convert {go_float(v)} to time.Time")
    seconds = math.floor(v)
    nanos = round((v - seconds) * 1e9)
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)


def humanize_timestamp(v: Any) -> str:
    f = _num(v)
    if f != f or math.isinf(f):
        return _g4(f)
    return _go_time(_to_time(f))


def _title(s: str) -> str:
    # strings.Title: upper-case every letter that follows a separator (not a letter, digit or _).
    out, prev_sep = [], True
    for ch in s:
        out.append(ch.upper() if prev_sep else ch)
        prev_sep = not (ch.isalnum() or ch == "_")
    return "".join(out)


def _truth(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, (bool, int, float, str, dict, list, tuple)):
        return bool(v)
    return True


def _compare(op: str, a: Any, b: Any) -> bool:
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        if op in ("eq", "ne") and isinstance(a, bool) and isinstance(b, bool):
            return (a == b) == (op == "eq")
        raise TemplateError("incompatible types for comparison")
    if type(a) is not type(b) and not (isinstance(a, num) and isinstance(b, num) and type(a) is type(b)):
        if a is None or b is None:
            raise TemplateError("invalid type for comparison")
        raise TemplateError("incompatible types for comparison")
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if not isinstance(a, (int, float, str)):
        raise TemplateError("invalid type for comparison")
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]


def _eq(a: Any, *rest: Any) -> bool:
    if not rest:
        raise TemplateError("missing argument for comparison")
    return any(_compare("eq", a, b) for b in rest)


# --- evaluation ---------------------------------------------------------------------------------

class Labels(dict):
    """A `$labels` map, with the labels whose value the example leaves open (name -> what to
    give): reading one, or the whole map, cannot be predicted."""

    def __init__(self, known: dict[str, str], unknown: dict[str, str] | None = None):
        super().__init__(known)
        self.unknown = dict(unknown or {})


def _pinned(v: Any, name: str | None = None) -> None:
    """Raises Unpredictable when the template reads a label (or the whole map) left open."""
    if isinstance(v, Labels) and v.unknown:
        if name is None:
            raise Unpredictable(next(iter(v.unknown.values())))
        if name in v.unknown:
            raise Unpredictable(v.unknown[name])


@dataclass
class Data:
    """What an alert's templates can read: labels, value, external labels and URL, and the
    results of the queries they run (query text -> samples)."""

    labels: dict[str, str]
    value: float | None
    external_labels: dict[str, str]
    external_url: str = ""
    queries: dict[str, list[Sample]] | None = None


def _functions(data: Data) -> dict[str, Callable]:
    def query(q: str) -> list[Sample]:
        if data.queries is None or q not in data.queries:
            raise Unpredictable(f"the annotation runs `query {q!r}`: give its result in the "
                                "example's `queries:`")
        return list(data.queries[q])

    def first(v: list) -> Sample:
        if not v:
            raise TemplateError("first() called on vector with no elements")
        return v[0]

    def index(item: Any, *keys: Any) -> Any:
        for k in keys:
            if isinstance(item, dict):
                _pinned(item, k)
                item = item.get(k, "")
            elif isinstance(item, (list, str)) and isinstance(k, int):
                if not 0 <= k < len(item):
                    raise TemplateError(f"index out of range: {k}")
                item = item[k]
            else:
                raise TemplateError("can't index item")
        return item

    def length(v: Any) -> int:
        _pinned(v)
        if isinstance(v, (str, list, dict)):
            return len(v)
        raise TemplateError("len of type without length")

    def re_replace_all(pattern: str, repl: str, text: str) -> str:
        py = re.sub(r"\$(\d+)|\$\{(\w+)\}", lambda m: "\\g<" + (m.group(1) or m.group(2)) + ">", repl)
        return re.sub(pattern, py, text)

    def parse_duration(d: str) -> float:
        try:
            return parse_ms(d) / 1000
        except DurationError as exc:
            raise TemplateError(str(exc)) from None

    def strip_port(hostport: str) -> str:
        m = re.fullmatch(r"\[([^\]]*)\](?::\d*)?|([^:]*)(?::\d*)?", hostport)
        return (m.group(1) or m.group(2) or "") if m else hostport

    return {
        "and": lambda *a: next((x for x in a if not _truth(x)), a[-1]),
        "or": lambda *a: next((x for x in a if _truth(x)), a[-1]),
        "not": lambda a: not _truth(a),
        "len": length, "index": index, "print": sprint,
        "println": lambda *a: " ".join(_sprint1(x) for x in a) + "\n",
        "printf": printf,
        "eq": _eq, "ne": lambda a, b: _compare("ne", a, b), "lt": lambda a, b: _compare("lt", a, b),
        "le": lambda a, b: _compare("le", a, b), "gt": lambda a, b: _compare("gt", a, b),
        "ge": lambda a, b: _compare("ge", a, b),
        "query": query, "first": first,
        "label": lambda name, s: dict(s.labels).get(name, ""),
        "value": lambda s: s.value, "strvalue": lambda s: dict(s.labels).get("__value__", ""),
        "args": lambda *a: {f"arg{i}": x for i, x in enumerate(a)},
        "reReplaceAll": re_replace_all, "safeHtml": lambda s: s,
        "match": lambda p, s: re.search(p, s) is not None,
        "title": _title, "toUpper": str.upper, "toLower": str.lower,
        "sortByLabel": lambda name, v: sorted(v, key=lambda s: dict(s.labels).get(name, "")),
        "humanize": humanize, "humanize1024": humanize1024, "humanizeDuration": humanize_duration,
        "humanizePercentage": lambda v: _g4(_num(v) * 100) + "%",
        "humanizeTimestamp": humanize_timestamp, "toTime": _to_time,
        "parseDuration": parse_duration, "stripPort": strip_port,
        "pathPrefix": lambda: re.sub(r"^[a-z]+://[^/]*", "", data.external_url),
        "externalURL": lambda: data.external_url,
    }


class _Scope:
    def __init__(self, dot: Any, variables: dict[str, Any]):
        self.dot = dot
        self.vars = variables


def _field(v: Any, name: str) -> Any:
    if isinstance(v, dict):
        _pinned(v, name)
        return v.get(name, "")  # missingkey=zero: a map[string]string gives ""
    if isinstance(v, Sample):
        if name == "Labels":
            return dict(v.labels)
        if name == "Value":
            return v.value
    raise TemplateError(f"can't evaluate field {name}")


def _operand(op: tuple, scope: _Scope, funcs: dict, data: Data) -> Any:
    kind, val = op
    if kind == "lit":
        return val
    if kind == "var":
        name, fields = val
        if name not in scope.vars:
            raise TemplateError(f"undefined variable: {name}")
        v = scope.vars[name]
        for f in fields:
            v = _field(v, f)
        return v
    if kind == "field":
        v = scope.dot
        for f in val:
            v = _field(v, f)
        return v
    if kind == "pipe":
        inner, fields = val
        v = _pipe(inner, scope, funcs, data)
        for f in fields:
            v = _field(v, f)
        return v
    if kind == "ident":
        if val not in funcs:
            raise TemplateError(f'function "{val}" not defined')
        return funcs[val]()
    raise TemplateError(f"unexpected {val!r}")


def _pipe(pipe: _Pipe, scope: _Scope, funcs: dict, data: Data) -> Any:
    value: Any = None
    for i, cmd in enumerate(pipe.cmds):
        head = cmd[0]
        if head[0] == "ident":
            if head[1] not in funcs:
                raise TemplateError(f'function "{head[1]}" not defined')
            args = [_operand(op, scope, funcs, data) for op in cmd[1:]]
            if i:
                args.append(value)
            try:
                value = funcs[head[1]](*args)
            except TypeError as exc:
                raise TemplateError(f"wrong number of args for {head[1]}: {exc}") from None
        else:
            if len(cmd) > 1 or i:
                raise TemplateError("can't give argument to non-function")
            value = _operand(head, scope, funcs, data)
    for name in pipe.decl:
        scope.vars[name] = value
    return value


def _run(nodes: list, scope: _Scope, funcs: dict, data: Data, out: list[str]) -> None:
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "out":
            value = _pipe(node[1], scope, funcs, data)
            if not node[1].decl:
                out.append(_sprint1(value))
        else:
            _, pipe, body, alt = node
            inner = _Scope(scope.dot, dict(scope.vars))
            value = _pipe(pipe, inner, funcs, data)
            if kind == "if":
                _run(body if _truth(value) else alt, inner, funcs, data, out)
            elif kind == "with":
                if _truth(value):
                    inner.dot = value
                    _run(body, inner, funcs, data, out)
                else:
                    _run(alt, inner, funcs, data, out)
            else:  # range
                items = list(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
                if isinstance(value, dict):
                    _pinned(value)
                    items = sorted(items)
                if not items:
                    _run(alt, inner, funcs, data, out)
                for k, v in items:
                    each = _Scope(v, dict(inner.vars))
                    if len(pipe.decl) == 2:
                        each.vars[pipe.decl[0]], each.vars[pipe.decl[1]] = k, v
                    elif len(pipe.decl) == 1:
                        each.vars[pipe.decl[0]] = v
                    _run(body, each, funcs, data, out)


def uses_value(text: str) -> bool:
    return bool(re.search(r"\$value\b|\.Value\b", text))


def expand(text: str, data: Data) -> str:
    """The text as Prometheus expands an alert annotation, with `data`. Raises TemplateError
    where Prometheus would fail, Unpredictable where the example does not say enough."""
    nodes = _parse(text) if "{{" in text else [("text", text)]
    if data.value is None and uses_value(text):
        raise Unpredictable("the annotation prints $value: give the example's `value:`")
    value = None if data.value is None else float(data.value)  # a float64, even when written 3
    dot = {"Labels": data.labels, "ExternalLabels": data.external_labels,
           "ExternalURL": data.external_url, "Value": value}
    scope = _Scope(dot, {"$": dot, "$labels": data.labels, "$externalLabels": data.external_labels,
                         "$externalURL": data.external_url, "$value": value})
    if all(node[0] == "text" for node in nodes):
        return "".join(node[1] for node in nodes)  # plain text: no function to look up
    out: list[str] = []
    _run(nodes, scope, _functions(data), data, out)
    return "".join(out)


FUNCTIONS = frozenset(_functions(Data({}, None, {})))


def problem(text: str) -> str | None:
    """Why Prometheus would refuse to parse the template (None: it parses): a syntax error or a
    function Prometheus does not define."""
    try:
        nodes = _parse(text)
    except TemplateError as exc:
        return str(exc)
    except Unpredictable:
        return None
    unknown = sorted({name for name in _idents(nodes) if name not in FUNCTIONS})
    return f'function "{unknown[0]}" not defined' if unknown else None


def _idents(nodes: list):
    for node in nodes:
        if node[0] == "text":
            continue
        pipes = [node[1]]
        for pipe in pipes:
            for cmd in pipe.cmds:
                for kind, val in cmd:
                    if kind == "ident":
                        yield val
                    elif kind == "pipe":
                        pipes.append(val[0])
        if node[0] != "out":
            yield from _idents(node[2])
            yield from _idents(node[3])
