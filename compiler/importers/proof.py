"""Import stage, example proof: promtool evaluates every synthesised example before it is written.

One `promtool test rules` run holds every candidate: each alert under a probe name of its own
(alerts that share a name in the source must not see each other), with its expression, `for`
and labels, and annotations that print `$value` and the metric name `$labels` holds. A test group per example expects no
alert; promtool reports the groups where alerts fired, with their labels and that annotation.
An example that fires is proven when exactly one alert fired; one that stays quiet when none did.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from compiler.durations import format_ms
from compiler.importers.emit import to_yaml
from compiler.importers.synthesis import Candidate

PROMTOOL = "promtool"
WORKERS = 2
VALUE = "moncat_value"
NAME = "moncat_name"
_BLOCK = re.compile(r"^\s*name: (p\d+[fq]),\s*$", re.M)
_LABELS = re.compile(r"Labels:\{(.*?)\}\s*$", re.M)
_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Probe:
    """One alert and the candidate examples to prove."""

    expr: str
    for_ms: int
    labels: tuple[tuple[str, str], ...]
    fires: Candidate
    quiet: Candidate
    # The other rules of the same alert name (expr, for, labels): a test of the name sees them.
    siblings: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...] = ()


@dataclass(frozen=True)
class Proven:
    """What promtool saw: the firing alert's expression labels and value, and the metric name
    its templates' `$labels` held ("" for none)."""

    labels: tuple[tuple[str, str], ...]
    value: float
    name: str = ""


class PromtoolMissing(Exception):
    pass


def _unquote(text: str) -> str:
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def _pairs(text: str) -> dict[str, str]:
    return {k: _unquote(v) for k, v in _PAIR.findall(text)}


def _metric(selector: str) -> str:
    return selector.split("{", 1)[0].strip()


def records_reading(records: list[dict], inputs: set[str]) -> list[dict]:
    """The recording rules that read the example's series, directly or through other rules:
    the others evaluate to nothing on it, and would only cost time at every step."""
    from compiler.expr import ast
    from compiler.expr.parse import ParseError, parse

    reads = {}
    for r in records:
        try:
            reads[id(r)] = set(ast.metrics(parse(r["expr"])))
        except ParseError:
            reads[id(r)] = set()
    live = set(inputs)
    keep: list[dict] = []
    changed = True
    while changed:
        changed = False
        for r in records:
            if id(r) not in {id(k) for k in keep} and reads[id(r)] & live:
                keep.append(r)
                live.add(r["record"])
                changed = True
    return [r for r in records if any(r is k for k in keep)]


def prove(probes: list[Probe], records: list[dict], interval_ms: int
          ) -> dict[int, Proven | None]:
    """For each probe index: its fires example's labels and value when promtool proves both of
    its examples, else None."""
    tool = shutil.which(PROMTOOL)
    if tool is None:
        raise PromtoolMissing("promtool is not on PATH (Debian: apt-get install prometheus)")
    if not probes:
        return {}
    with tempfile.TemporaryDirectory(prefix="moncat-import-") as tmp:
        names = []
        for i, p in enumerate(probes):
            needed = records_reading(records, {_metric(s) for c in (p.fires, p.quiet) for s, _ in c.series})
            head = [{"name": "records", "rules": needed}] if needed else []
            # A file per probe: promtool evaluates every rule of a test file's rule files at
            # every step of each test, so a shared file costs probes x probes evaluations.
            probe_rules = []
            for expr, for_ms, labels in ((p.expr, p.for_ms, p.labels), *p.siblings):
                rule = {"alert": f"p{i}", "expr": expr, "labels": dict(labels),
                        "annotations": {VALUE: "{{ $value }}", NAME: "{{ $labels.__name__ }}"}}
                if for_ms:
                    rule["for"] = format_ms(for_ms)
                probe_rules.append(rule)
            Path(tmp, f"r{i}.yaml").write_text(to_yaml({"groups": head + [{"name": "probe", "rules": probe_rules}]}))
            tests = [{"name": f"p{i}{suffix}", "interval": format_ms(interval_ms),
                      "input_series": [{"series": s, "values": v} for s, v in cand.series],
                      "alert_rule_test": [{"eval_time": format_ms(cand.at_ms), "alertname": f"p{i}",
                                           "exp_alerts": []}]}
                     for suffix, cand in (("f", p.fires), ("q", p.quiet))]
            Path(tmp, f"t{i}.yaml").write_text(to_yaml({"rule_files": [f"r{i}.yaml"],
                                                        "evaluation_interval": format_ms(interval_ms),
                                                        "tests": tests}))
            names.append(f"t{i}.yaml")
        # promtool spends most of a test group setting up its storage: two processes at once.
        chunks = [names[k::WORKERS] for k in range(WORKERS) if names[k::WORKERS]]
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            runs = list(pool.map(lambda chunk: subprocess.run(
                [tool, "test", "rules", *chunk], cwd=tmp, capture_output=True, text=True,
                timeout=1800), chunks))
    output = "".join(r.stdout + r.stderr for r in runs)
    if any(r.returncode not in (0, 1) or (r.returncode == 1 and "FAILED" not in r.stdout + r.stderr)
           for r in runs):
        return {i: None for i in range(len(probes))}
    fired: dict[str, list[dict[str, str]]] = {}
    marks = list(_BLOCK.finditer(output))
    for n, m in enumerate(marks):
        block = output[m.end(): marks[n + 1].start() if n + 1 < len(marks) else len(output)]
        got = block.split("got:", 1)[1] if "got:" in block else ""
        alerts = []
        for lm in _LABELS.finditer(got):
            rest = got[lm.end():]
            ann = re.search(r"Annotations:\{(.*?)\}\s*$", rest, re.M)
            labels = _pairs(lm.group(1))
            shown = _pairs(ann.group(1)) if ann else {}
            labels[VALUE], labels[NAME] = shown.get(VALUE, ""), shown.get(NAME, "")
            alerts.append(labels)
        fired[m.group(1)] = alerts
    out: dict[int, Proven | None] = {}
    for i, p in enumerate(probes):
        alerts = fired.get(f"p{i}f", [])
        if len(alerts) != 1 or fired.get(f"p{i}q"):
            out[i] = None
            continue
        alert = alerts[0]
        if any(alert.get(k) != v for k, v in p.labels):  # a sibling fired, not this rule
            out[i] = None
            continue
        name = alert.pop(NAME)
        try:
            value = float(alert.pop(VALUE))
        except ValueError:
            out[i] = None
            continue
        own = dict(p.labels) | {"alertname": f"p{i}"}
        labels = tuple(sorted((k, v) for k, v in alert.items() if k not in own or own[k] != v))
        out[i] = Proven(labels, value, name)
    return out
