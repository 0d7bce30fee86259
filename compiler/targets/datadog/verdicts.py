"""Datadog target, verdicts: every example of an alert run on its Datadog monitor (translated or
overridden), beside what the example says Prometheus does.

An example is evaluated at the times its generated promtool test checks (compiler/examples.timing):
its evaluation time, and for a quiet one the end of its series, for a firing one with `starts:`
just before it starts. The Agent model (agent.py)
turns its series into Datadog points, and the evaluator (evaluate.py) says which groups alert.
"""
from __future__ import annotations

from dataclasses import dataclass

from compiler.dialects.datadog_names import Naming
from compiler.examples import timing
from compiler.model import Alert, Catalog, Example
from compiler.targets.datadog import agent, querycheck
from compiler.targets.datadog.conditions import Condition
from compiler.targets.datadog.evaluate import Options, Outcome, composite, evaluate
from compiler.targets.datadog.timelines import Context


@dataclass(frozen=True)
class Verdict:
    """One example on the monitor at one of its test's times (the first where the two disagree):
    whether Prometheus fires then (as the example states and promtool checks), whether the
    monitor notifies, the groups in alert, or why there is no verdict."""

    example: Example
    prometheus: bool
    datadog: bool | None
    groups: tuple[str, ...] = ()
    at_ms: int = 0
    problem: str = ""

    @property
    def differs(self) -> bool:
        return self.datadog is not None and self.datadog != self.prometheus


def options(catalog: Catalog, cond: Condition, warning: float | None) -> Options:
    dd = catalog.settings.datadog
    return Options(warning=warning, notify_no_data=cond.no_data,
                   no_data_timeframe_min=cond.no_data_timeframe_min,
                   require_full_window=cond.full_window,
                   evaluation_delay_s=(dd.evaluation_delay_ms or 0) // 1000,
                   check_interval_ms=dd.check_interval_ms,
                   on_missing_data="default" if cond.missing_as_zero else "")


def _outcome(catalog: Catalog, cond: Condition, data: list[agent.Stored], at: int,
             warning: float | None, context: Context | None = None) -> Outcome:
    if not cond.components:
        return evaluate(cond.query, data, at, options(catalog, cond, warning), context)
    parts = {name: evaluate(part.query, data, at, options(catalog, part, None), context)
             for name, part in cond.components}
    return composite(cond.query, parts)


def _label(group: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}:{v}" for k, v in group) or "(one group)"


def verdicts(catalog: Catalog, alert: Alert, cond: Condition, naming: Naming) -> list[Verdict]:
    """Every example of the alert on its Datadog monitor, at each time its promtool test checks
    (compiler/examples.timing): the first time the two disagree, else the evaluation time."""
    warning = alert.datadog.warning if alert.datadog else None
    out = []
    for ex in alert.examples:
        when = timing(catalog, alert, ex)
        checks = when.checks()
        try:
            data = agent.store(ex.series, naming, when.step_ms, max(t for t, _ in checks),
                               catalog.settings.datadog.check_interval_ms)
            context = Context(data, options(catalog, cond, warning))  # shared by the check times
            outcomes = [(t, expected, _outcome(catalog, cond, data, t, warning, context))
                        for t, expected in checks]
        except (ValueError, querycheck.QueryError) as exc:  # EvalError, AgentError, bad filters
            out.append(Verdict(ex, ex.fires, None, at_ms=when.eval_ms, problem=str(exc)))
            continue
        wrong = [(t, e, o) for t, e, o in outcomes if o.notifies != e]
        t, expected, outcome = wrong[0] if wrong else \
            next((t, e, o) for t, e, o in outcomes if t == when.eval_ms)
        groups = tuple(_label(g) for g in (outcome.alerting or [()])) if outcome.notifies else ()
        out.append(Verdict(ex, expected, outcome.notifies, groups, at_ms=t))
    return out
