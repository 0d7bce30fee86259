"""Benchmark: a no-op `moncat apply grafana` plan against FakeGrafana holding what a synthetic
catalog compiles to (100 services: 1,000 dashboards and 5,000 alert rules), 20 ms added to every
request.

    python tests/benchmarks/bench_apply_grafana.py
    python tests/benchmarks/bench_apply_grafana.py --services 10 --latency-ms 50

The catalog is bench_apply_plan.py's (services of 50 alerts and 10 dashboards). The fake runs in
its own process (a real server's CPU is not the client's); the catalog is applied to it once with
no added latency, then, best of --repeat runs, the plan is timed as the CLI makes it (connect,
desired, current with every list page and every dashboard read, make_plan): the goal is under
5 s. It must plan zero changes. Not a test: the figures depend on the machine.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

from bench_apply_plan import make_catalog  # noqa: E402
from compiler import pipeline  # noqa: E402
from compiler.apply import grafana, plan, runner  # noqa: E402
from fakes.grafana_fake import FakeGrafana  # noqa: E402

TOKEN = "glsa_benchmark"
SECRETS = {"MONCAT_SLACK_TOKEN": "xoxb-benchmark"}


def serve(conn) -> None:
    with FakeGrafana(token=TOKEN) as fake:
        conn.send(fake.url)
        while True:
            message = conn.recv()
            if message == "done":
                return
            fake.latency_s = message
            org = fake.org()
            conn.send({"dashboards": len(org.dashboards), "rules": len(org.rules), "folders": len(org.folders),
                       "schema_errors": len(fake.schema_errors)})


def plan_once(url: str, result: pipeline.Result) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    target = grafana.connect({"GRAFANA_TOKEN": TOKEN, **SECRETS}, url, result.catalog)
    actions = plan.make_plan(target.desired(result.files), target.current(), prune=True,
                             normalize=target.normalize, order=target.order)
    return time.perf_counter() - t0, target.client.stats.requests, plan.summary(actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100, help="50 alerts and 10 dashboards each")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog"
        make_catalog(catalog, args.services)
        result = pipeline.compile_catalog(catalog)
        errors = [str(d) for d in result.report.sorted() if d.severity.name == "ERROR"]
        assert not errors, errors[:3]
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.get_context("fork").Process(target=serve, args=(child,), daemon=True)
        server.start()
        url = parent.recv()
        try:
            t0 = time.perf_counter()
            target = grafana.connect({"GRAFANA_TOKEN": TOKEN, **SECRETS}, url, result.catalog)
            actions = plan.make_plan(target.desired(result.files), target.current(), prune=False,
                                     normalize=target.normalize, order=target.order)
            outcome = runner.execute(actions, target.write, concurrency=8)
            assert not outcome.failed, outcome.failed[:3]
            parent.send(args.latency_ms / 1000)
            held = parent.recv()
            assert held["schema_errors"] == 0, held
            print(f"fake (own process): {held['dashboards']} dashboards, {held['rules']} alert rules, "
                  f"{held['folders']} folders (applied in {time.perf_counter() - t0:.1f} s); "
                  f"{args.latency_ms:g} ms added per request")
            runs = [plan_once(url, result) for _ in range(args.repeat)]
            best, requests, summary = min(runs)
            print(f"plan (connect, desired, current, make_plan): best {best:.2f} s of {args.repeat} "
                  f"({', '.join(f'{r[0]:.2f}' for r in runs)}), {requests} requests: {summary}")
        finally:
            parent.send("done")
            server.join(timeout=10)


if __name__ == "__main__":
    main()
