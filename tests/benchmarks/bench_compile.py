"""Benchmark: compile a synthetic catalog of N services x 50 alerts; report wall time, peak memory
and the ratio to the floor of only serialising and writing the same output.

    python tests/benchmarks/bench_compile.py            # 1,000 and 10,000 alerts
    python tests/benchmarks/bench_compile.py --alerts 2000 5000

Each size runs in a fresh child process (so peak RSS is that size's own), best of --repeat runs.
Not a test: the figures depend on the machine; the ratios are what to compare.
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALERTS_PER_SERVICE = 50

SETTINGS = """version: 1
runbooks: {base_url: https://runbooks.example.com}
targets: {prometheus: {version: "2.42", evaluation_interval: 1m}}
severities:
  P1: {priority: 2, meaning: Failing, respond_within: 30m, page: true}
  P2: {priority: 3, meaning: Degraded, respond_within: 4h}
contacts:
  oncall: {name: On-call, email: oncall@example.com}
"""


def service_yaml(i: int) -> str:
    lines = [f"service: svc{i:04d}", f"team: team{i % 7}", "owner: oncall", "metrics:"]
    lines += ["  requests_total: {type: counter, help: Requests., labels: [code, route]}"] if i == 0 else []
    lines += [f"  svc{i}_requests_total: {{type: counter, help: Requests., labels: [code, route]}}",
              f"  svc{i}_latency_seconds: {{type: histogram, help: Latency., unit: seconds}}",
              f"  svc{i}_queue_depth: {{type: gauge, help: Queue depth., labels: [queue]}}",
              "recording_rules:",
              f"  svc{i}:error_ratio:rate5m:",
              f"    expr: sum(rate(svc{i}_requests_total{{code=~\"5..\"}}[5m])) / sum(rate(svc{i}_requests_total[5m]))",
              "    help: Error ratio.",
              "alerts:"]
    for a in range(ALERTS_PER_SERVICE):
        kind = a % 3
        if kind == 0:
            expr = f"svc{i}:error_ratio:rate5m > 0.0{1 + a % 9}"
            fires = {f'svc{i}_requests_total{{code="500"}}': "0+10x30", f'svc{i}_requests_total{{code="200"}}': "0+90x30"}
            quiet = {f'svc{i}_requests_total{{code="500"}}': "0+0x30", f'svc{i}_requests_total{{code="200"}}': "0+90x30"}
            labels = ""
        elif kind == 1:
            expr = f"sum by (route) (rate(svc{i}_requests_total{{code=~\"5..\"}}[5m])) > {a}"
            fires = {f'svc{i}_requests_total{{code="500",route="/r{a}"}}': f"0+{(a + 1) * 120}x30"}
            quiet = {f'svc{i}_requests_total{{code="500",route="/r{a}"}}': "0+0x30"}
            labels = f"        labels: {{route: /r{a}}}"
        else:
            expr = f"max by (queue) (svc{i}_queue_depth) > {a * 10}"
            fires = {f'svc{i}_queue_depth{{queue="q{a}"}}': f"{a * 10 + 5}x30"}
            quiet = {f'svc{i}_queue_depth{{queue="q{a}"}}': "0x30"}
            labels = f"        labels: {{queue: q{a}}}"
        lines += [f"  Alert{a:03d}:",
                  f"    expr: '{expr}'",
                  f"    for: {5 + a % 10}m",
                  f"    severity: P{1 + a % 2}",
                  f"    summary: Alert {a} of service {i} is firing",
                  f"    description: Synthetic alert number {a}.",
                  "    procedure: respond",
                  "    examples:",
                  "      fires:",
                  "        series: " + json.dumps(fires)]
        if labels:
            lines.append(labels)
        lines += ["      quiet:", "        series: " + json.dumps(quiet)]
    lines += ["procedures:", "  respond:", "    title: Respond", "    recovery: [Fix it.]"]
    return "\n".join(lines) + "\n"


def make_catalog(root: Path, alerts: int) -> None:
    root.mkdir(parents=True)
    (root / "moncat.yaml").write_text(SETTINGS)
    for i in range(max(1, alerts // ALERTS_PER_SERVICE)):
        (root / f"svc{i:04d}.yaml").write_text(service_yaml(i))


def child(catalog: Path, work: Path) -> dict:
    """One measured run, in this process: full compile vs the serialise-and-write floor."""
    from compiler import pipeline, writer
    from compiler.manifest import MANIFEST, build_manifest
    from compiler.render import render

    out = work / "out"
    gc.disable()  # as the moncat command does for its whole run
    t0 = time.perf_counter()
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors(), result.report.sorted()[:3]
    writer.write(out, result.files)
    total = time.perf_counter() - t0

    floor_out = work / "floor"
    t1 = time.perf_counter()
    files = {a.path: render(a) for a in result.artifacts}
    files[MANIFEST] = build_manifest(result.artifacts, files)
    # The same bytes written the fastest way we know (the writer's own primitive, a thread pool).
    writer.write_files(floor_out, files)
    floor = time.perf_counter() - t1
    assert files == result.files
    return {"total_s": total, "floor_s": floor, "stages": result.timings,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "bytes": sum(map(len, files.values())), "files": len(files)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.alerts:
            catalog = Path(tmp) / f"catalog-{n}"
            make_catalog(catalog, n)
            runs = []
            for r in range(args.repeat):
                work = Path(tmp) / f"work-{n}-{r}"
                work.mkdir()
                proc = subprocess.run([sys.executable, __file__, "--child", str(catalog), str(work)],
                                      capture_output=True, text=True, check=True)
                runs.append(json.loads(proc.stdout))
                shutil.rmtree(work)
            best = min(runs, key=lambda x: x["total_s"])
            best["floor_s"] = min(x["floor_s"] for x in runs)
            rows.append((n, best))
    print(f"{'alerts':>7} {'compile s':>10} {'floor s':>8} {'ratio':>6} {'peak MiB':>9} {'us/alert':>9}  stages")
    for n, b in rows:
        stages = " ".join(f"{k}={v:.2f}" for k, v in b["stages"].items())
        print(f"{n:>7} {b['total_s']:>10.3f} {b['floor_s']:>8.3f} {b['total_s'] / b['floor_s']:>6.2f} "
              f"{b['peak_rss_mib']:>9.0f} {b['total_s'] / n * 1e6:>9.0f}  {stages}")
    if len(rows) > 1:
        (n0, b0), (n1, b1) = rows[0], rows[-1]
        growth = (b1["total_s"] / b0["total_s"]) / (n1 / n0)
        print(f"time grows {b1['total_s'] / b0['total_s']:.1f}x for {n1 / n0:.0f}x alerts "
              f"(1.0 = linear: {growth:.2f})")


if __name__ == "__main__":
    main()
