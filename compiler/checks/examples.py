"""Check: every alert has examples that fire and stay quiet, well formed and long enough."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error, warning
from compiler.durations import format_ms
from compiler.examples import sample_count, span_ms, timing
from compiler.expr import ast
from compiler.example_labels import infer, parse_series
from compiler.expr.parse import ParseError
from compiler.link import series_names
from compiler.incremental import per_service
from compiler.model import Catalog, Service


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.examples", _service)


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    names = series_names(catalog)
    interval = catalog.settings.evaluation_interval_ms
    for alert in svc.alerts.values():
        if not alert.compiled_for("prometheus"):
            continue  # examples become promtool tests of the Prometheus rule
        if alert.examples_pending:
            yield warning("MC418", f"alert {alert.name!r}: its examples are pending",
                          alert.at("examples"),
                          "write one example that fires and one that stays quiet; they "
                          "become promtool unit tests")
            continue
        kinds = {ex.fires for ex in alert.examples}
        if True not in kinds:
            yield error("MC410", f"alert {alert.name!r} has no example that fires", alert.loc,
                        "add `examples: {fires: {series: {...}}}`: it becomes a promtool unit test")
        if False not in kinds:
            yield error("MC411", f"alert {alert.name!r} has no example that stays quiet", alert.loc,
                        "add `examples: {quiet: {series: {...}}}`: it becomes a promtool unit test")
        for ex in alert.examples:
            bad = False
            # Point at the series' selector or values, not at the whole example.
            locs = ex.series_locs or tuple((ex.loc, ex.loc) for _ in ex.series)
            for (selector, values), (key_loc, values_loc) in zip(ex.series, locs):
                try:
                    tree = parse_series(selector)
                except ParseError as exc:
                    yield error("MC412", f"example series {selector!r} is not a selector: {exc.message}",
                                key_loc, 'write a series such as metric{label="value"}')
                    bad = True
                    continue
                if not isinstance(tree, ast.Selector) or any(m.op != "=" for m in tree.matchers) \
                        or tree.offset_ms or tree.at is not None:
                    yield error("MC412", f"example series {selector!r} is not a plain series",
                                key_loc, 'use only `=` matchers: metric{label="value"}')
                    bad = True
                elif tree.metric and tree.metric not in names:
                    yield error("MC414", f"example series reads unknown metric {tree.metric!r}",
                                key_loc, "declare it under `metrics:` or fix the name")
                if sample_count(values) is None:
                    yield error("MC415", f"example values {values!r} are not promtool notation",
                                values_loc, "write e.g. `0+10x30`, `1x20`, `_x5 3` or `0 1 2 stale`")
                    bad = True
            if bad:
                continue
            if ex.fires:
                for name, values in infer(catalog, alert, ex).ambiguous:
                    shown = ", ".join(f'{name}="{v}"' for v in values)
                    yield error(
                        "MC482",
                        f"the fires example of {alert.name!r} does not say which {name!r} fires: "
                        f"the alert keeps {name!r} and the series carry {shown}",
                        ex.loc, f"add `labels: {{{name}: {values[0]}}}` (the series that fires)")
            plan = timing(catalog, alert, ex)
            at = plan.eval_ms
            span = span_ms(ex, interval)
            if span < at:
                # The shortest series ends first: its values are what needs more samples.
                counts = [sample_count(v) or 1 for _, v in ex.series]
                shortest = locs[counts.index(min(counts))][1]
                yield error(
                    "MC413",
                    f"example series end at {format_ms(span)} but the alert is evaluated at "
                    f"{format_ms(at)} ({plan.why})",
                    shortest, "add samples (e.g. raise the `xN` count) or set `at:`",
                )
