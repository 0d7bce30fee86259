"""Benchmark: a no-op `moncat apply datadog` plan against FakeDatadog holding 5,000 monitors and
1,000 dashboards, 20 ms added to every request.

    python tests/benchmarks/bench_apply_plan.py
    python tests/benchmarks/bench_apply_plan.py --services 10 --latency-ms 50

A synthetic catalog (services of 50 alerts and 10 dashboards, Datadog enabled) is compiled once;
the fake is seeded with exactly what it compiles to (with the server's own additions: ids,
timestamps, option defaults, widget ids...). Then, best of --repeat runs:
- plan: connect, desired, current (every list page and GET), make_plan, as the CLI runs them,
  timed in this process (the goal: under 5 s), wall time and this process's CPU time (which a
  busy machine stretches less: the wall time also waits for a share of the CPU);
- cli: `moncat apply datadog <catalog> --dry-run --url <fake>` in a child process, wall time,
  which adds starting Python and compiling the catalog.
Both must plan zero changes. Not a test: the figures depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from compiler import pipeline  # noqa: E402
from compiler.apply import datadog, plan  # noqa: E402
from fakes.datadog_fake import FakeDatadog  # noqa: E402

OPENAPI = ROOT.parent / "shared" / "schemas" / "datadog" / "openapi-v1.yaml"
ALERTS, DASHBOARDS = 50, 10

SETTINGS = """version: 1
runbooks: {base_url: https://runbooks.example.com}
targets:
  prometheus: {version: "2.42", evaluation_interval: 1m}
  datadog: {renotify_interval: 1h}
severities:
  P1: {priority: 2, meaning: Failing, respond_within: 30m, page: true}
  P2: {priority: 3, meaning: Degraded, respond_within: 4h}
contacts:
  oncall: {name: On-call, email: oncall@example.com, slack: "#oncall"}
"""


def service_yaml(i: int) -> str:
    s = f"svc{i:03d}"
    lines = [f"service: {s}", f"team: team{i % 7}", "owner: oncall", "metrics:",
             f"  {s}_requests_total: {{type: counter, help: Requests., labels: [code, route]}}",
             f"  {s}_queue_depth: {{type: gauge, help: Queue depth., labels: [queue]}}",
             "alerts:"]
    for a in range(ALERTS):
        kind = a % 3
        # Rate conditions have no `for` (a Datadog monitor has no pending period on a window).
        if kind == 0:
            expr, pending = f'sum(rate({s}_requests_total{{code="500"}}[5m])) > {a + 1}', ""
            fires = {f'{s}_requests_total{{code="500",route="/"}}': f"0+{(a + 2) * 120}x30"}
            quiet = {f'{s}_requests_total{{code="500",route="/"}}': "0+0x30"}
            labels = ""
        elif kind == 1:
            expr, pending = f'sum by (route) (rate({s}_requests_total{{code="500"}}[5m])) > {a}', ""
            fires = {f'{s}_requests_total{{code="500",route="/r{a}"}}': f"0+{(a + 1) * 120}x30"}
            quiet = {f'{s}_requests_total{{code="500",route="/r{a}"}}': "0+0x30"}
            labels = f"        labels: {{route: /r{a}}}"
        else:
            expr, pending = f"max by (queue) ({s}_queue_depth) > {a * 10}", f"    for: {5 + a % 10}m"
            fires = {f'{s}_queue_depth{{queue="q{a}"}}': f"{a * 10 + 5}x30"}
            quiet = {f'{s}_queue_depth{{queue="q{a}"}}': "0x30"}
            labels = f"        labels: {{queue: q{a}}}"
        lines += [f"  Alert{a:03d}:", f"    expr: '{expr}'"] + ([pending] if pending else []) + [
            f"    severity: P{1 + a % 2}", f"    summary: Alert {a} of {s} is firing",
            f"    description: Synthetic alert number {a}.", "    procedure: respond",
            "    examples:", "      fires:", "        series: " + json.dumps(fires)]
        lines += [labels] if labels else []
        lines += ["      quiet:", "        series: " + json.dumps(quiet)]
    lines += ["procedures:", "  respond:", "    title: Respond", "    recovery: [Fix it.]",
              "dashboards:"]
    for d in range(DASHBOARDS):
        a = d * 3  # one alert of each kind per dashboard, drawn on its panel
        lines += [f"  board{d:02d}:", f"    title: {s} board {d}",
                  f"    description: Synthetic dashboard {d} of {s}.", "    rows:",
                  "      - title: Traffic", "        panels:",
                  "          - title: Errors", "            type: timeseries", "            unit: reqps",
                  f"            alerts: [Alert{a:03d}]", "            queries:",
                  f'              - expr: sum(rate({s}_requests_total{{code="500"}}[$__rate_interval]))',
                  "          - title: Errors by route", "            type: timeseries",
                  "            unit: reqps",
                  f"            alerts: [Alert{a + 1:03d}]", "            queries:",
                  f'              - expr: sum by (route) (rate({s}_requests_total{{code="500"}}[$__rate_interval]))',
                  '                legend: "{{route}}"',
                  "      - title: Queues", "        panels:",
                  "          - title: Deepest queue", "            type: timeseries", "            unit: short",
                  f"            alerts: [Alert{a + 2:03d}]", "            queries:",
                  f"              - expr: max by (queue) ({s}_queue_depth)",
                  "          - title: Total queued now", "            type: stat", "            unit: short",
                  "            queries:", f"              - expr: sum({s}_queue_depth)"]
    return "\n".join(lines) + "\n"


def make_catalog(root: Path, services: int) -> None:
    root.mkdir(parents=True)
    (root / "moncat.yaml").write_text(SETTINGS)
    for i in range(services):
        (root / f"svc{i:03d}.yaml").write_text(service_yaml(i))


def serve(monitors: list[dict], boards: list[dict], latency_s: float, conn) -> None:
    """The fake in its own process, as a real server is on another machine: its CPU is not
    the client's (two threads of one Python process share one interpreter lock)."""
    fake = FakeDatadog(OPENAPI, validate=False)
    for body in monitors:
        fake.seed_monitor(body, bound=True)
    for body in boards:
        fake.seed_dashboard(body, bound=True)
    fake.latency_s = latency_s
    with fake:
        conn.send({"url": fake.url, "api_key": fake.api_key, "app_key": fake.app_key,
                   "monitors": len(fake.monitors), "dashboards": len(fake.dashboards)})
        conn.recv()  # until the parent is done


def plan_once(fake: dict, result: pipeline.Result) -> tuple[float, float, int, str]:
    env = {"DD_API_KEY": fake["api_key"], "DD_APP_KEY": fake["app_key"]}
    t0, c0 = time.perf_counter(), time.process_time()
    target = datadog.connect(env, fake["url"], result.catalog)
    actions = plan.make_plan(target.desired(result.files), target.current(), prune=True,
                             normalize=target.normalize, order=target.order)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return elapsed, cpu, target.client.stats.requests, plan.summary(actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100, help="50 alerts and 10 dashboards each")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="time the plan only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog"
        make_catalog(catalog, args.services)
        t0 = time.perf_counter()
        result = pipeline.compile_catalog(catalog)
        compile_s = time.perf_counter() - t0
        errors = [str(d) for d in result.report.sorted() if d.severity.name == "ERROR"]
        assert not errors, errors[:3]
        monitors = [json.loads(b) for p, b in sorted(result.files.items())
                    if p.startswith("datadog/monitors/")]
        boards = [json.loads(b) for p, b in sorted(result.files.items())
                  if p.startswith("datadog/dashboards/")]
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.get_context("fork").Process(
            target=serve, args=(monitors, boards, args.latency_ms / 1000, child), daemon=True)
        server.start()
        fake = parent.recv()
        try:
            print(f"fake (own process): {fake['monitors']} monitors, {fake['dashboards']} dashboards, "
                  f"{args.latency_ms:g} ms added per request; catalog compiled in {compile_s:.2f} s")
            runs = [plan_once(fake, result) for _ in range(args.repeat)]
            best, cpu, requests, summary = min(runs)
            print(f"plan (connect, desired, current, make_plan): best {best:.2f} s of {args.repeat} "
                  f"({', '.join(f'{r[0]:.2f}' for r in runs)}), CPU {cpu:.2f} s (least "
                  f"{min(r[1] for r in runs):.2f} s), {requests} requests: {summary}")
            if args.no_cli:
                return
            env = dict(os.environ, DD_API_KEY=fake["api_key"], DD_APP_KEY=fake["app_key"])
            walls = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "compiler", "apply", "datadog",
                                       str(catalog), "--dry-run", "--url", fake["url"]],
                                      capture_output=True, text=True, env=env, cwd=ROOT)
                walls.append(time.perf_counter() - t0)
                assert proc.returncode == 0, proc.stderr[-2000:]
                last = proc.stdout.strip().splitlines()[-1]
            print(f"moncat apply datadog --dry-run (child process, compile included): best "
                  f"{min(walls):.2f} s ({', '.join(f'{w:.2f}' for w in walls)}): {last}")
        finally:
            parent.send("done")
            server.join(timeout=10)


if __name__ == "__main__":
    main()
