"""Generators of hostile input (YAML text, PromQL, mutated catalogs) and the properties every run
must keep: no exception escapes, nothing hangs, and every error points into a catalog file.

Shared by tests/test_properties.py (a few thousand cases in CI) and
tests/benchmarks/bench_fuzz.py (100,000 cases).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from hypothesis import strategies as st

from compiler import limits, pipeline
from compiler.diagnostics import Diagnostic, Severity, render_text
from compiler.dialects.promql import to_promql
from compiler.expr.parse import NestingError, ParseError, parse
from compiler.yaml_source import load_yaml

# Errors that are about the catalog as a whole (no file to point at).
UNLOCATED = {"MC005", "MC007"}
# A case that takes more processor time than this counts as a hang (processor time, not wall
# time: a loaded CI machine must not turn a slow case into a false alarm).
HANG_S = 10.0

# --- YAML ----------------------------------------------------------------------------------------

_YAML_PIECES = [
    "a", "svc", "b: ", "- ", "? ", ": ", ":", "\n", "  ", "    ", "[", "]", "{", "}", ",", "&x ",
    "*x", "&y ", "*y", "<<: ", "<<: *x", "!!int ", "!!bool ", "!!float ", "!!timestamp ",
    "!!binary ", "!!str ", "!!set ", "!!omap ", "!!python/name:os.system ", "!local ", "'", '"',
    "\\", "\\n", "#", "|", ">-", "---\n", "...\n", "~", "null", "true", "yes", "on", "1", "-1",
    "0x1F", "0b101", "1e3", ".nan", ".inf", "2001-01-01", "2001-13-45", "é", "\t", "%YAML 1.1\n",
    "\x07", "\x00", "\ufeff", "service: svc\n", "version: 1\n", "alerts:\n", "  X:\n",
]

yaml_texts = st.one_of(
    st.lists(st.sampled_from(_YAML_PIECES), max_size=60).map("".join),
    st.text(max_size=120),
)


def _bomb(levels: int, width: int, documents: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    doc = "\n".join(lines) + "\n"
    return "".join("---\n" + doc for _ in range(documents))


def _merges(count: int) -> str:
    lines = ["m0: &m0 {k0: 1}"] + [f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: 1}}" for i in range(1, count)]
    return "\n".join(lines) + "\n"


yaml_bombs = st.one_of(
    st.builds(_bomb, st.integers(1, 9), st.integers(1, 12), st.integers(1, 30)),
    st.builds(_merges, st.integers(1, 400)),
    st.integers(1, 1200).map(lambda n: "a: " + "[" * n + "]" * n + "\n"),
    st.integers(1, 300).map(lambda n: "".join("  " * i + "- \n" for i in range(n))),
)


def check_yaml(text: str) -> str:
    """Load `text` as a catalog file: documents or located diagnostics, never an exception."""
    start = time.process_time()
    docs, diags = load_yaml("f.yaml", text)
    _located(diags, {"f.yaml": text})
    _in_time(start, text)
    return "error" if diags else "ok"


# --- PromQL --------------------------------------------------------------------------------------

_metrics = st.sampled_from(["up", "x", "http_requests_total", "node_cpu_seconds_total", "a:b:c"])
_labels = st.sampled_from(["code", "job", "instance", "le", "__name__"])
_values = st.text(alphabet='ab5.*"\\\n()', max_size=6).map(lambda v: v.replace('"', '\\"'))
_matcher = st.builds(lambda n, op, v: f'{n}{op}"{v}"', _labels, st.sampled_from(["=", "!=", "=~", "!~"]),
                     _values)
_selector = st.builds(lambda m, ms: m + ("{" + ", ".join(ms) + "}" if ms else ""), _metrics,
                      st.lists(_matcher, max_size=3))
_duration = st.sampled_from(["1m", "5m", "30s", "1h", "1h30m", "0s", "5x", "$__rate_interval"])
_number = st.sampled_from(["0", "1", "0.5", "1e3", "-2", "Inf", "NaN", "0x10"])
_leaf = st.one_of(
    _selector, _number,
    st.builds(lambda s, d: f"{s}[{d}]", _selector, _duration),
    st.builds(lambda s, d: f"{s} offset {d}", _selector, _duration),
)
_binary = st.sampled_from(["+", "-", "*", "/", "%", "^", ">", "<", "==", "!=", ">=", "<=", "and",
                           "or", "unless", "> bool", "/ on(job)", "* ignoring(code) group_left"])
_functions = st.sampled_from(["rate", "increase", "abs", "absent", "sum_over_time", "time",
                              "histogram_quantile", "label_replace", "vector", "scalar", "clamp",
                              "deriv", "nonexistent"])
_aggregations = st.sampled_from(["sum", "avg", "max", "min", "count", "topk", "quantile", "group"])

promql_trees = st.recursive(_leaf, lambda inner: st.one_of(
    st.builds(lambda a, op, b: f"{a} {op} {b}", inner, _binary, inner),
    inner.map(lambda e: f"({e})"),
    inner.map(lambda e: f"-{e}"),
    st.builds(lambda f, args: f"{f}({', '.join(args)})", _functions, st.lists(inner, max_size=3)),
    st.builds(lambda a, g, e: f"{a} {g}({e})", _aggregations,
              st.sampled_from(["", "by (job) ", "without (code) "]), inner),
    st.builds(lambda e, d: f"({e})[{d}:1m]", inner, _duration),
), max_leaves=25)

_tokens = st.sampled_from(["(", ")", "[", "]", "{", "}", "sum", "by", "rate", "x", "up", "5m",
                           "+", "-", ">", "and", "1", '"a"', ",", "offset", "@", ":", "bool", "on",
                           "=~", "'", "`", "#", "\n", "$x"])
# Around the nesting limit (1,000 levels): a chain of n terms costs promql-parser about n^2, so
# chains are the rarest of the deep shapes.
promql_deep = st.one_of(
    st.builds(lambda n, e: "(" * n + e + ")" * n, st.integers(900, 1100), promql_trees),
    st.integers(990, 1010).map(lambda n: "-" * n + "x"),
    st.builds(lambda n, e: "abs(" * n + e + ")" * n, st.integers(900, 1100), _selector),
    st.builds(lambda n, m: " + ".join([m] * n), st.integers(900, 1100), _metrics),
)
promql_shallow = st.one_of(
    promql_trees, promql_trees, promql_trees,
    st.lists(_tokens, max_size=40).map(" ".join),
    st.text(max_size=80),
)
promql_texts = st.one_of(promql_shallow, promql_deep)


def check_promql(text: str) -> str:
    """Parse `text`: an AST whose canonical text parses back and prints the same, or a ParseError
    at an offset inside the text; never another exception. On the deep stack every moncat
    command runs on (a tree 1,000 levels deep is walked recursively)."""
    return limits.run_deep(_check_promql, text)


def _check_promql(text: str) -> str:
    start = time.process_time()
    outcome = "ok"
    for variables in (False, True) if "$" in text else (False,):
        try:
            tree = parse(text, variables=variables)
        except NestingError as exc:
            assert 0 <= exc.offset <= len(text), (exc, text)
            outcome = "too deep"
            continue
        except ParseError as exc:
            assert 0 <= exc.offset <= len(text), (exc, text)
            outcome = "error"
            continue
        if not variables:
            # Printing is a fixpoint: the canonical text parses back and prints the same (text,
            # not trees, are compared: NaN is not equal to itself).
            canonical = to_promql(tree)
            assert to_promql(parse(canonical)) == canonical, (text, canonical)
    _in_time(start, text)
    return outcome


# --- catalogs ------------------------------------------------------------------------------------

_pieces = st.one_of(st.sampled_from(_YAML_PIECES), st.text(max_size=12), promql_trees)
_ops = st.sampled_from(["replace-value", "delete", "duplicate", "swap", "insert", "indent",
                        "dedent", "splice", "expr"])
mutations = st.lists(st.tuples(st.sampled_from(["moncat.yaml", "svc/service.yaml"]), _ops,
                               st.integers(0, 10_000), _pieces), min_size=1, max_size=4)


def mutate(files: dict[str, str], ops: list[tuple[str, str, int, str]]) -> dict[str, str]:
    """Apply `ops` to the catalog's texts, deterministically."""
    out = dict(files)
    for name, op, at, piece in ops:
        lines = out[name].split("\n")
        i = at % len(lines)
        line = lines[i]
        if op == "replace-value" and ":" in line:
            lines[i] = line[: line.index(":") + 1] + " " + piece
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "swap" and len(lines) > 1:
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, piece)
        elif op == "indent":
            lines[i] = "  " + line
        elif op == "dedent":
            lines[i] = line[2:] if line.startswith("  ") else line
        elif op == "splice":
            cut = at % (len(line) + 1)
            lines[i] = line[:cut] + piece + line[cut + len(piece):]
        elif op == "expr":
            lines = [f"    expr: '{piece}'" if ln.startswith("    expr: ") else ln for ln in lines]
        out[name] = "\n".join(lines)
    return out


def check_catalog(root: Path, files: dict[str, str]) -> str:
    """Compile a catalog made of `files`: output, or errors that each point into a file."""
    shutil.rmtree(root, ignore_errors=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    start = time.process_time()
    result = pipeline.compile_catalog(root)
    diags = result.report.sorted()
    _located(diags, files)
    render_text(diags, root)  # code frames read the files back
    _in_time(start, str(files))
    if result.report.has_errors():
        return "error"
    assert result.files, "a catalog without errors compiles to files"
    return "ok"


# --- properties ----------------------------------------------------------------------------------

def _located(diags: list[Diagnostic], files: dict[str, str]) -> None:
    for d in diags:
        if d.severity is not Severity.ERROR or d.code in UNLOCATED:
            continue
        assert d.loc is not None, f"unlocated: error {d.code} has no position: {d.message}"
        text = files.get(d.loc.file)
        assert text is not None, f"unlocated: {d.code} points at {d.loc.file}, no file of the catalog"
        lines = max(1, len(text.splitlines()))
        assert 1 <= d.loc.line <= lines + 1 and d.loc.column >= 1, \
            f"unlocated: {d.code} at {d.loc}, outside its file: {d.message}"


def _in_time(start: float, what: str) -> None:
    took = time.process_time() - start
    assert took < HANG_S, f"took {took:.1f} s (a hang): {what[:200]!r}"
