"""Benchmark: 100,000 hostile inputs (the generators of tests/fuzzing.py) through the loader, the
PromQL front end and whole compiles; counts crashes, hangs and errors without a position.

    python tests/benchmarks/bench_fuzz.py             # 100,000 cases, 2 processes
    python tests/benchmarks/bench_fuzz.py --scale 0.1 # 10,000

Unlike tests/test_properties.py, every run draws new cases (a random seed, printed), and a
failing case does not stop the run: it is counted, and the first of each kind is printed.
Exit status 1 when any case crashed, hung or reported an error without a position.
"""
from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for fuzzing

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

import fuzzing  # noqa: E402
from test_bad_input import CLEAN  # noqa: E402

from compiler import limits  # noqa: E402

# (name, cases at scale 1, strategy, check); 100,000 in all.
_TMP = Path(tempfile.mkdtemp(prefix="moncat-fuzz-"))


def _catalog(ops: list) -> str:
    return fuzzing.check_catalog(_TMP / f"c{multiprocessing.current_process().pid}",
                                 fuzzing.mutate(CLEAN, ops))


def _bomb(text: str) -> str:
    return fuzzing.check_yaml(text)


KINDS = [
    ("yaml text", 45_000, fuzzing.yaml_texts, fuzzing.check_yaml),
    ("yaml bombs", 300, fuzzing.yaml_bombs, _bomb),  # up to 250,000 nodes (about 1 s) each
    ("promql", 46_400, fuzzing.promql_shallow, fuzzing.check_promql),
    ("promql deep", 300, fuzzing.promql_deep, fuzzing.check_promql),
    ("catalogs", 8_000, fuzzing.mutations, _catalog),
]


def _classify(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, AssertionError):
        if "(a hang)" in text:
            return "hang"
        if text.startswith("unlocated:"):
            return "unlocated"
        return "property"
    return "crash"


def run_kind(job: tuple[int, int, int]) -> dict:
    """One kind's cases in this process: outcome counts, the slowest case, the first failures."""
    index, count, run_seed = job
    name, _, strategy, check = KINDS[index]
    counts: Counter = Counter()
    slowest = [0.0]
    first: dict[str, str] = {}

    @seed(run_seed)
    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def case(value) -> None:
        start = time.process_time()
        try:
            counts[check(value)] += 1
        except BaseException as exc:  # noqa: BLE001 - counted, the run goes on
            kind = _classify(exc)
            counts[kind] += 1
            first.setdefault(kind, f"{type(exc).__name__}: {str(exc)[:300]} <- {str(value)[:300]!r}")
        slowest[0] = max(slowest[0], time.process_time() - start)

    start = time.perf_counter()
    if name == "yaml bombs":  # the caps as shipped: each bomb costs up to 250,000 nodes
        assert limits.MAX_NODES_PER_FILE == 250_000
    case()
    return {"name": name, "counts": counts, "slowest": slowest[0], "first": first,
            "wall": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100,000 cases")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    run_seed = args.seed if args.seed is not None else random.randrange(2**32)
    jobs = [(i, max(1, int(n * args.scale)), run_seed) for i, (_, n, _, _) in enumerate(KINDS)]
    # The slowest kinds first, so that two processes finish together.
    jobs.sort(key=lambda j: -KINDS[j[0]][1] * (30 if KINDS[j[0]][0] in ("catalogs", "promql deep") else 1))
    print(f"seed {run_seed}; {sum(j[1] for j in jobs):,} cases in {args.jobs} processes")
    start = time.perf_counter()
    total: Counter = Counter()
    print(f"{'kind':<12} {'cases':>7} {'ok':>7} {'error':>7} {'too deep':>8} {'crash':>6} "
          f"{'hang':>5} {'unlocated':>9} {'property':>8} {'slowest':>8} {'wall':>7}", flush=True)
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        results = pool.imap_unordered(run_kind, jobs, chunksize=1)
        _report(results, total)
    bad = total["crash"] + total["hang"] + total["unlocated"] + total["property"]
    print(f"total {sum(total.values()):,} cases in {time.perf_counter() - start:.0f} s: "
          f"{bad} crashes, hangs, unlocated errors or broken properties")
    sys.exit(1 if bad else 0)


def _report(results, total: Counter) -> None:
    """One line per kind as soon as it finishes (CPU time in the slowest column)."""
    for r in results:
        c = r["counts"]
        total.update(c)
        print(f"{r['name']:<12} {sum(c.values()):>7,} {c['ok']:>7,} {c['error']:>7,} "
              f"{c['too deep']:>8,} {c['crash']:>6} {c['hang']:>5} {c['unlocated']:>9} "
              f"{c['property']:>8} {r['slowest']:>7.2f}s {r['wall']:>6.0f}s", flush=True)
        for kind, example in r["first"].items():
            print(f"  first {kind}: {example}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
