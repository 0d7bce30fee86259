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
from compiler.targets.datadog import agent, lookback, querycheck
from compiler.targets.datadog.conditions import Condition
from compiler.targets.datadog.evaluate import Options, Outcome, composite, evaluate
from compiler.targets.datadog.lookback import Span
from compiler.targets.datadog.timelines import Context, Truncated


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


@dataclass(frozen=True)
class _Plan:
    """One alert's monitor, worked out once for all its examples: its metric queries with their
    options (a composite's components by name), and how far an evaluation reads back and ahead
    of its end (lookback.reach; None: the whole series)."""

    cond: Condition
    parts: tuple[tuple[str, str, Options], ...]
    reach: tuple[int, int] | None
    delay_ms: int


def _plan(catalog: Catalog, cond: Condition, warning: float | None) -> _Plan:
    parts = tuple((name, part.query, options(catalog, part, None)) for name, part in cond.components) \
        or (("", cond.query, options(catalog, cond, warning)),)
    reaches = [lookback.reach(query, opts) for _, query, opts in parts]
    reach = None if any(r is None for r in reaches) else \
        (max(r[0] for r in reaches), max(r[1] for r in reaches))  # type: ignore[index]
    return _Plan(cond, parts, reach, parts[0][2].evaluation_delay_s * 1000)


def _evaluate(plan: _Plan, context: Context, at: int) -> Outcome:
    if not plan.cond.components:
        _, query, opts = plan.parts[0]
        return evaluate(query, context.data, at, opts, context)
    outcomes = {name: evaluate(query, context.data, at, opts, context) for name, query, opts in plan.parts}
    return composite(plan.cond.query, outcomes)


def _outcome(catalog: Catalog, cond: Condition, data: list[agent.Stored], at: int,
             warning: float | None, context: Context | None = None) -> Outcome:
    """The monitor's outcome at `at` over the stored `data`."""
    context = context or Context(data, options(catalog, cond, warning))
    return _evaluate(_plan(catalog, cond, warning), context, at)


def _label(group: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}:{v}" for k, v in group) or "(one group)"


def example_outcomes(catalog: Catalog, alert: Alert, cond: Condition, naming: Naming,
                     ex: Example, plan: _Plan | None = None) -> list[tuple[int, bool, Outcome]]:
    """The example on the monitor at each time its test checks: (time, expected, outcome).

    Each time stores and evaluates only the stretch of points the monitor reads then (times
    whose stretches overlap share one); when the outcome depends on points outside it (whether
    a group reported before), that time is evaluated again over the whole series. Raises
    ValueError (EvalError, AgentError) and querycheck.QueryError as the evaluator does."""
    warning = alert.datadog.warning if alert.datadog else None
    plan = plan or _plan(catalog, cond, warning)
    when = timing(catalog, alert, ex)
    opts = options(catalog, cond, warning)  # a composite's own, as the Context always had
    return outcomes_at(plan, agent.exposed(ex.series, naming), when.step_ms, when.checks(), opts)


def outcomes_at(plan: _Plan, series: agent.Exposed, step_ms: int, checks: list[tuple[int, bool]],
                opts: Options) -> list[tuple[int, bool, Outcome]]:
    """The monitor's outcome over the exposed series at each (time, expected) of `checks`, the
    points stored up to the last of them, as example_outcomes says."""
    until = max(t for t, _ in checks)
    contexts: dict[Span | None, Context] = {}

    def context(stretch: Span | None) -> Context:
        if stretch not in contexts:
            since, last = stretch or (0, until)
            data = agent.sample(series, step_ms, last, opts.check_interval_ms, since)
            contexts[stretch] = Context(data, opts, partial=stretch is not None)
        return contexts[stretch]

    stretches = {t: _stretch(plan, t, opts.check_interval_ms // 3, until) for t, _ in checks}
    merged = _merge([s for s in stretches.values() if s is not None])
    out = []
    for t, expected in checks:
        stretch = stretches[t]
        if stretch is not None:
            stretch = next(m for m in merged if m[0] <= stretch[0] and stretch[1] <= m[1])
            try:
                out.append((t, expected, _evaluate(plan, context(stretch), t)))
                continue
            except Truncated:
                pass
        out.append((t, expected, _evaluate(plan, context(None), t)))
    return out


def _stretch(plan: _Plan, at: int, first_run: int, until: int) -> Span | None:
    """The stretch to store for an evaluation at `at`, or None for every point up to `until`
    (where the monitor reads the whole series, or that is all its stretch holds anyway)."""
    if plan.reach is None:
        return None
    end = at - plan.delay_ms
    since, last = max(end - plan.reach[0], first_run), min(end + plan.reach[1], until)
    return None if since <= first_run and last >= until else (since, last)


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def verdicts(catalog: Catalog, alert: Alert, cond: Condition, naming: Naming) -> list[Verdict]:
    """Every example of the alert on its Datadog monitor, at each time its promtool test checks
    (compiler/examples.timing): the first time the two disagree, else the evaluation time."""
    out = []
    plan = _plan(catalog, cond, alert.datadog.warning if alert.datadog else None)
    for ex in alert.examples:
        when = timing(catalog, alert, ex)
        try:
            outcomes = example_outcomes(catalog, alert, cond, naming, ex, plan)
        except (ValueError, querycheck.QueryError) as exc:  # EvalError, AgentError, bad filters
            out.append(Verdict(ex, ex.fires, None, at_ms=when.eval_ms, problem=str(exc)))
            continue
        wrong = [(t, e, o) for t, e, o in outcomes if o.notifies != e]
        t, expected, outcome = wrong[0] if wrong else \
            next((t, e, o) for t, e, o in outcomes if t == when.eval_ms)
        groups = tuple(_label(g) for g in (outcome.alerting or [()])) if outcome.notifies else ()
        out.append(Verdict(ex, expected, outcome.notifies, groups, at_ms=t))
    return out
