"""Verify stage: run the examples' generated promtool tests from a scratch directory, so that
`validate` and `compile --check` report a failing example at its place in the catalog."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from compiler.artifacts import Artifact
from compiler.diagnostics import Diagnostic, Loc, error
from compiler.durations import DurationError, format_ms, parse_ms
from compiler.targets.prometheus_shift import shift_of

_TESTS = re.compile(r"^prometheus/[^/]+\.tests\.yaml$")
_BLOCK_START = re.compile(r"^\s*(?=alertname: |expr: |rule: )", re.M)


@dataclass
class ExampleRun:
    """What running the examples found: `skipped` says why nothing ran."""

    skipped: str = ""
    tests: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0


def run_examples(artifacts: list[Artifact], files: dict[str, bytes], jobs: int | None = None,
                 derived: tuple[str, ...] = ()) -> ExampleRun:
    """Every generated test file through `promtool test rules`, `jobs` processes at a time, except
    the files under the `derived` path prefixes. A file that fails is run again one test per file,
    to tell which examples fail."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return ExampleRun(skipped="promtool not found")
    start = time.perf_counter()
    sources = {(a.path, o.content.get("name")): o.source for a in artifacts
               if _TESTS.match(a.path) and not a.path.startswith(derived) for o in a.objects}
    paths = sorted((p for p in files if _TESTS.match(p) and not p.startswith(derived)),
                   key=lambda p: -len(files[p]))
    result = ExampleRun(tests=len(sources))
    with tempfile.TemporaryDirectory(prefix="moncat-examples-") as tmp, \
            ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
        root = Path(tmp)
        for path, data in files.items():
            if path.startswith("prometheus/") and path.endswith(".yaml"):
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(data)
        # One promtool process per batch of files (each process costs a start-up), as many
        # batches as workers, the largest files spread first.
        workers = max(1, jobs or os.cpu_count() or 1)
        batches: list[list[str]] = [[] for _ in range(min(workers, len(paths)) or 1)]
        sizes = [0] * len(batches)
        for p in paths:
            slot = sizes.index(min(sizes))
            batches[slot].append(p)
            sizes[slot] += len(files[p])
        failed = [p for batch, ok in zip(batches, pool.map(lambda b: _promtool(promtool, root, *b)[0], batches))
                  if not ok for p in batch]
        singles = []
        for path in failed:
            doc = yaml.safe_load(files[path])
            for i, test in enumerate(doc.get("tests", [])):
                single = f"{path[:-len('.tests.yaml')]}.single-{i}.tests.yaml"
                (root / single).write_text(yaml.safe_dump({**doc, "tests": [test]}, sort_keys=False))
                singles.append((path, test.get("name", ""), single))
        outcomes = pool.map(lambda s: _promtool(promtool, root, s[2]), singles)
        for (path, name, _), (ok, output) in zip(singles, outcomes):
            if not ok:
                result.diagnostics.append(_diagnostic(name, output, sources.get((path, name))))
    result.seconds = time.perf_counter() - start
    return result


PROMTOOL_TIMEOUT_S = 600.0
_TIMED_OUT = "\0timed out"  # no promtool report starts with a NUL


def _promtool(promtool: str, root: Path, *paths: str) -> tuple[bool, str]:
    if not paths:
        return True, ""
    try:
        proc = subprocess.run([promtool, "test", "rules", *paths], cwd=root, capture_output=True,
                              text=True, timeout=PROMTOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False, _TIMED_OUT
    return proc.returncode == 0, proc.stderr + proc.stdout


def _example_time(reported: str, name: str) -> str:
    """A time promtool reports, on the example's own clock (its test may start later)."""
    shift = shift_of(name)
    try:
        return format_ms(parse_ms(reported) + shift) if shift else reported
    except DurationError:
        return reported


_SET = re.compile(r'(Labels|Annotations):\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\}')
_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _differences(report: str) -> str:
    """`: label topic is "documents", the example expects "docs"`: what differs between the one alert the example
    expects and the one that fired, named, rather than left to find in promtool's two lists."""
    exp, _, got = report.partition("got:")
    sides = [{kind: dict(_PAIR.findall(body)) for kind, body in _SET.findall(side)}
             for side in (exp, got)]
    if any(len(_SET.findall(side)) != 2 for side in (exp, got)):
        return ""  # not one alert on each side: promtool's report says it best
    said = []
    for kind, word in (("Labels", "label"), ("Annotations", "annotation")):
        want, have = sides[0].get(kind, {}), sides[1].get(kind, {})
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                shown = (lambda v: "missing" if v is None else f'"{v}"')  # as promtool quoted it
                said.append(f"{word} {key} is {shown(have.get(key))}, the example expects {shown(want.get(key))}")
    return ": " + "; ".join(said) if said else ""


def _diagnostic(name: str, output: str, loc: Loc | None) -> Diagnostic:
    """One failing example: what promtool found, said in a line, its whole report in the hint."""
    if output == _TIMED_OUT:
        return error("MC483", f"example {name!r} did not finish under promtool within "
                     f"{PROMTOOL_TIMEOUT_S:g} s", loc,
                     "shorten the example's series and `at:` (its test evaluates every rule of the "
                     "service's rule file at every step), or rerun on a less loaded machine")
    body = output.split("FAILED:", 1)[-1].strip()
    blocks = [b for b in _BLOCK_START.split(body) if b.strip() and not b.startswith(("name:",))]
    first = blocks[0] if blocks else body
    time_at = re.search(r"time: ([0-9a-z.]+)", first)
    when = f" at {_example_time(time_at.group(1), name)}" if time_at else ""
    flat = first.replace(" ", "")
    if "err:" in first:
        what = "a rule fails to evaluate: " + first.split("err:", 1)[1].strip()
    elif "got:[]" in flat:
        what = "the alert does not fire, but the example expects it to"
    elif "exp:[]" in flat:
        what = "the alert fires, but the example expects it to stay quiet"
    elif "exp:nil" in flat:
        what = "the condition held at every evaluation during `for`, but the example expects quiet"
    elif "got:nil" in flat:
        what = "the condition did not hold at every evaluation during `for`"
    else:
        what = ("the alert fires with other labels or annotations than the example expects"
                + _differences(first))
    compact = " ".join(line.strip() for line in body.splitlines()
                       if line.strip() and not line.startswith(("Unit Testing:", "  SUCCESS")))
    return error("MC483", f"example {name!r} fails under promtool{when}: {what}", loc,
                 f"fix the example (series, `at:`, `labels:`, `value:`) or the alert; promtool: {compact}")
