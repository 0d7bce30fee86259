"""Benchmark and full-corpus run of `moncat import` (too slow for the test suite):

- all 112 files / 954 alerts of awesome-prometheus-alerts: import (with examples), the
  round trip of every rule (moncat diff-level: expr modulo formatting, for, labels,
  annotations), `promtool check rules` on the compiled rules, the synthesised examples
  proven by promtool against them, and `moncat validate` (every generated test, annotations
  rendered) on the imported catalog;
- kubernetes-mixin (tests/fixtures/kubernetes-mixin, its evaluated output): import of its rules
  and 23 dashboards plus compile, timed with and without example synthesis.

Run: .venv/bin/python tests/benchmarks/bench_import.py
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]

from compiler.importers import roundtrip, rules  # noqa: E402
from conftest import ROOT, SHARED  # noqa: E402
from import_helpers import analysed, compile_errors, compiled_rules, promtool_check, prove_examples  # noqa: E402

CORPUS = SHARED / "corpora" / "awesome-prometheus-alerts" / "dist" / "rules"
KUBE = ROOT / "tests" / "fixtures" / "kubernetes-mixin"
MONCAT = [sys.executable, "-m", "compiler"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(*args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds of one CLI run (CPU: the machine is shared, wall time is noisy)."""
    cpu, wall = _cpu(), time.perf_counter()
    done = subprocess.run([*MONCAT, *args], capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - wall, _cpu() - cpu, done


def corpus(tmp: Path) -> None:
    out = tmp / "awesome"
    wall, cpu, done = timed("import", "prometheus", str(CORPUS), "--out", str(out))
    assert done.returncode == 0, done.stderr
    print(f"awesome-prometheus-alerts import: {wall:.1f} s wall, {cpu:.1f} s CPU")
    print("  " + done.stdout.strip())
    source = rules.read([CORPUS], rules.Grouping()).rules
    catalog = analysed(out)
    verdict = roundtrip.compare(source, compiled_rules(catalog))
    print(f"  round trip: {verdict.identical}/{len(source)} rules identical, "
          f"{len(verdict.differences)} different; moncat added: {dict(verdict.added)}")
    for line in verdict.differences[:10]:
        print("   ", line)
    check = promtool_check("promtool", catalog, tmp)
    print(f"  promtool check rules: {'ok' if check.returncode == 0 else 'FAILED'}")
    count, run = prove_examples("promtool", catalog, tmp)
    print(f"  promtool test rules on the compiled rules: {count} examples, "
          f"{'all pass' if run.returncode == 0 else 'FAILED'}")
    print(f"  full compile errors: {compile_errors(out) or 'none'}")
    # What a team runs next: every example's generated test (annotations rendered, `$labels`
    # as Prometheus fills it) under promtool.
    wall, cpu, done = timed("validate", str(out))
    errors = sorted({line.split()[2] for line in done.stderr.splitlines() if " error MC" in line})
    print(f"  moncat validate: exit {done.returncode}, {wall:.1f} s wall / {cpu:.1f} s CPU; "
          f"{done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ''}; errors: {errors or 'none'}")


def kubernetes(tmp: Path) -> None:
    files = [str(KUBE / "prometheus_alerts.yaml"), str(KUBE / "prometheus_rules.yaml")]
    for label, extra in (("without examples", ["--no-examples"]), ("with examples", [])):
        out = tmp / f"kube-{len(extra)}"
        w1, c1, a = timed("import", "prometheus", *files, "--service", "kubernetes", "--out", str(out), *extra)
        assert a.returncode == 0, a.stderr
        w2, c2, b = timed("import", "grafana", str(KUBE / "dashboards"), "--service", "kubernetes",
                          "--into", str(out))
        assert b.returncode == 0, b.stderr
        w3, c3, c = timed("validate", str(out))
        w4, c4, d = timed("compile", str(out), "--out", str(tmp / f"kube-out-{len(extra)}"))
        print(f"kubernetes-mixin {label}: import {w1 + w2:.2f} s wall / {c1 + c2:.2f} s CPU, "
              f"compile {w4:.2f} s wall / {c4:.2f} s CPU (exit {d.returncode}: "
              f"{'ok' if d.returncode == 0 else d.stderr.strip().splitlines()[-1]})")
        print("  " + a.stdout.strip())
        errors = sorted({line.split()[2] for line in c.stderr.splitlines() if " error MC" in line})
        print(f"  moncat validate: exit {c.returncode}, {w3:.2f} s wall / {c3:.2f} s CPU; "
              f"{c.stdout.strip().splitlines()[-1] if c.stdout.strip() else ''}; errors: {errors or 'none'}")


def kubernetes_in_process(tmp: Path) -> None:
    """Import (no examples) plus compile in one process: what the 2 s goal is about, without
    interpreter start-up and with CPU time beside wall time (the machine may be shared)."""
    from compiler import pipeline
    from compiler.importers import grafana, run
    from compiler.importers.catalog import Existing, Options

    cpu, wall = time.process_time(), time.perf_counter()
    found = rules.read([KUBE / "prometheus_alerts.yaml", KUBE / "prometheus_rules.yaml"], rules.Grouping("kubernetes"))
    found.extend(grafana.read([KUBE / "dashboards"], "kubernetes"))
    outcome = run.convert(found, Existing(), Options(), examples=False)
    run.write_out(tmp / "kube-in-process", outcome.files)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    result = pipeline.compile_catalog(tmp / "kube-in-process")
    cpu2, wall2 = time.process_time(), time.perf_counter()
    errors = sorted({d.code for d in result.report.sorted() if d.severity.name == "ERROR"})
    print(f"kubernetes-mixin in one process (65 alerts, 71 rules, 23 dashboards): import "
          f"{wall1 - wall:.2f} s wall / {cpu1 - cpu:.2f} s CPU, compile {wall2 - wall1:.2f} s wall / "
          f"{cpu2 - cpu1:.2f} s CPU, total {wall2 - wall:.2f} s wall / {cpu2 - cpu:.2f} s CPU; "
          f"compile errors: {errors or 'none'}")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # progress shows while it runs
    os.environ.setdefault("PYTHONHASHSEED", "0")
    with tempfile.TemporaryDirectory(prefix="moncat-bench-import-") as tmp:
        kubernetes_in_process(Path(tmp))
        kubernetes(Path(tmp))
        corpus(Path(tmp))


if __name__ == "__main__":
    main()
