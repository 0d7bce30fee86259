"""Datadog target, verdicts: every example of an alert run on its Datadog monitor (translated or
overridden), beside what the example says Prometheus does.

An example is evaluated at the times its generated promtool test checks: a firing example at its
evaluation time, a quiet one there and at the end of its series. The Agent model (agent.py)
turns its series into Datadog points, and the evaluator (evaluate.py) says which groups alert.
"""
from __future__ import annotations

from dataclasses import dataclass

from compiler.dialects.datadog_names import Naming
from compiler.examples import eval_time_ms, span_ms
from compiler.model import Alert, Catalog, Example
from compiler.targets.datadog import agent, querycheck
from compiler.targets.datadog.conditions import Condition
from compiler.targets.datadog.evaluate import Options, Outcome, composite, evaluate


@dataclass(frozen=True)
class Verdict:
    """One example on the monitor: whether it should fire (Prometheus, as the example states and
    promtool checks), whether the monitor notifies, the groups in alert, or why no verdict."""

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
                   check_interval_ms=dd.check_interval_ms)


def _outcome(catalog: Catalog, cond: Condition, data: list[agent.Stored], at: int,
             warning: float | None) -> Outcome:
    if not cond.components:
        return evaluate(cond.query, data, at, options(catalog, cond, warning))
    parts = {name: evaluate(part.query, data, at, options(catalog, part, None))
             for name, part in cond.components}
    return composite(cond.query, parts)


def _label(group: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}:{v}" for k, v in group) or "(one group)"


def verdicts(catalog: Catalog, alert: Alert, cond: Condition, naming: Naming) -> list[Verdict]:
    """Every example of the alert on its Datadog monitor."""
    interval = catalog.settings.evaluation_interval_ms
    warning = alert.datadog.warning if alert.datadog else None
    out = []
    for ex in alert.examples:
        at = eval_time_ms(alert, ex, interval)
        times = [at] if ex.fires else sorted({at, max(at, span_ms(ex, interval))})
        try:
            data = agent.store(ex.series, naming, ex.interval_ms or interval, max(times),
                               catalog.settings.datadog.check_interval_ms)
            outcomes = [_outcome(catalog, cond, data, t, warning) for t in times]
        except (ValueError, querycheck.QueryError) as exc:  # EvalError, AgentError, bad filters
            out.append(Verdict(ex, ex.fires, None, at_ms=at, problem=str(exc)))
            continue
        fired = [o for o in outcomes if o.notifies]
        groups = tuple(_label(g) for o in fired for g in (o.alerting or [()]))
        out.append(Verdict(ex, ex.fires, bool(fired), tuple(dict.fromkeys(groups)),
                           at_ms=fired and times[outcomes.index(fired[0])] or at))
    return out
