"""Datadog coverage: how many alert expressions translate into a Datadog monitor, and whether
every translation alerts when Prometheus fires (differential test over the whole corpus).

    python tests/benchmarks/bench_datadog_coverage.py            # corpus + seed catalog
    python tests/benchmarks/bench_datadog_coverage.py --runs 5   # more generated scenarios

Prints, for the public awesome-prometheus-alerts corpus (../shared/corpora): expressions,
translated with exact meaning (targets.datadog.pending: refuse), translated when `for:` on a
window is dropped (pending: drop, a stated difference), the differential test's runs and
differences (promtool against the Datadog evaluator, on generated series), and the constructs
that keep the rest out; then the seed catalog: alerts translated, overridden (reviewed queries,
checked on their examples) and left out of Datadog with their reason. Not a test: a report.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import datadog_differential as dd  # noqa: E402

from compiler import pipeline  # noqa: E402
from compiler.dialects.datadog_monitor import translate  # noqa: E402
from compiler.dialects.datadog_names import naming  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "awesome-prometheus-alerts"


def corpus_figures(runs: int) -> None:
    rules = dd.corpus(CORPUS)
    exact = [dd.case(r) for r in rules]
    parsed = [c for c in exact if c is not None]
    translated = [c for c in parsed if c.query is not None]
    dropped = [c for r in rules if (c := dd.case(r, "drop")) is not None and c.query is not None]
    refused = Counter(c.problems[0].construct for c in parsed if c.query is None and c.problems)
    promtool = shutil.which("promtool")
    print(f"corpus: {len(rules)} expressions, {len(parsed)} parse")
    print(f"  translated, exact meaning:          {len(translated):4d}  "
          f"({100 * len(translated) / len(rules):.1f}%)")
    print(f"  translated with pending: drop:      {len(dropped):4d}  "
          f"({100 * len(dropped) / len(rules):.1f}%)  (`for:` on a window dropped, stated)")
    composites = sum(1 for c in translated if c.query.components)
    multi = sum(1 for c in translated if c.query.grouping and not c.query.components)
    print(f"  of the exact ones: {composites} composite monitors, {multi} multi-alerts")
    if promtool is None:
        print("  differential test: skipped, promtool not found")
    else:
        start = time.perf_counter()
        count, differences = dd.compare(translated, runs, promtool)
        tested = {c.rule.name for c in translated if dd.scenario(c, random.Random(0))}
        print(f"  differential test: {count} runs over {len(tested)} translated expressions, "
              f"{len(differences)} differences ({time.perf_counter() - start:.0f} s)")
        for d in differences[:10]:
            print(f"    {d.rule}: Prometheus {d.prometheus} firing, Datadog {d.datadog} alerting")
    print("  refused, by the construct named first:")
    for construct, n in refused.most_common(15):
        print(f"    {n:4d}  {construct}")


def seed_figures() -> None:
    """The seed catalog's written alerts (those of `alerts:`); the alerts expanded from `slos:`
    are counted apart, since Datadog gets SLO objects and `slo alert` monitors for them."""
    result = pipeline.analyse(ROOT / "catalog")
    assert result.catalog is not None
    catalog = result.catalog
    count: Counter[str] = Counter()
    for service in catalog.services:
        names = naming(catalog, service)
        slo_locs = {slo.spec.loc for slo in service.slos.values()}
        for alert in service.alerts.values():
            if alert.loc in slo_locs:
                count["slo"] += 1
                continue
            count["written"] += 1
            if not alert.compiled_for("datadog"):
                count["left out"] += 1
            elif alert.datadog and alert.datadog.query:
                count["overridden"] += 1
            else:
                found, _ = translate(alert.expr.tree, alert.for_ms, names,
                                     catalog.settings.evaluation_interval_ms, "refuse")
                count["translated"] += 1
                count["exact"] += found is not None
    print(f"seed catalog: {count['written']} written alerts; {count['translated']} translated "
          f"automatically ({count['exact']} with exact meaning, "
          f"{count['translated'] - count['exact']} with pending: {catalog.settings.datadog.pending}), "
          f"{count['overridden']} reviewed overrides, {count['left out']} left out of Datadog with "
          f"their reason; and {count['slo']} alerts expanded from SLOs (Datadog gets SLO objects)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="generated scenarios per expression")
    args = parser.parse_args()
    corpus_figures(args.runs)
    seed_figures()


if __name__ == "__main__":
    main()
