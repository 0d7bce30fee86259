"""Datadog target, conditions: each alert's monitor query, translated or overridden, with the
diagnostics at the alert when it is neither.

Shared by the monitors (which build on it) and by the `datadog` check (which reports its
diagnostics from `moncat validate` already).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from compiler.diagnostics import Diagnostic, Loc, error, warning
from compiler.dialects import datadog_monitor
from compiler.dialects.datadog import number
from compiler.dialects.datadog_names import Naming
from compiler.durations import format_ms
from compiler.expr.locate import tokens
from compiler.expr.thresholds import conditions
from compiler.model import Alert, Catalog
from compiler.targets.datadog import querycheck

LOOKBACK_MIN = 5  # Prometheus's default lookback delta
NO_FORM = "MC701"
STORED = "MC713"
BAD_OVERRIDE = "MC702"
BAD_WARNING = "MC703"


@dataclass(frozen=True)
class Condition:
    """What a monitor alerts on."""

    query: str  # a metric monitor query; for a composite, its expression over component names
    op: str
    threshold: float
    grouping: tuple[str, ...] = ()
    window_ms: int | None = None
    no_data: bool = False
    full_window: bool = False
    overridden: bool = False
    no_data_timeframe_min: int | None = None
    # A composite monitor: its components by name (a, b, ...), each a metric monitor.
    components: tuple[tuple[str, "Condition"], ...] = ()
    notes: tuple[str, ...] = ()  # differences the translation itself introduces
    missing_as_zero: bool = False  # `or vector(0)`: missing data evaluates as 0 (datadog_zero)


def token_offset(text: str, word: str) -> int:
    """Where `word` stands as a PromQL token in `text` (0 when it does not)."""
    return next((tok.start for tok in tokens(text)[0] if tok.text == word), 0)


def _where(alert: Alert, token: str, naming: Naming) -> Loc:
    """Where the construct stands in the alert's expression: its word, else the recording rule
    it came from (rules are expanded in place), else the expression."""
    text = alert.expr.text
    if token == "for":
        return alert.at("for")
    words = [token] if token else []
    words += [name for name in naming.rules if name in text]
    for word in words:
        if word and word in text:
            offset = token_offset(text, word) if re.fullmatch(r"\w+", word) else text.index(word)
            if offset or text.startswith(word):
                return alert.expr.loc_at(offset)
    return alert.at("expr")


def _keep_firing(alert: Alert) -> list[Diagnostic]:
    """keep_firing_for has no Datadog form: a monitor recovers at the first evaluation whose window
    no longer breaches (https://docs.datadoghq.com/monitors/configuration/#thresholds; recovery
    thresholds move the level, not the time). Refused unless the alert states the difference."""
    if not alert.keep_firing_for_ms or (alert.datadog and alert.datadog.differs):
        return []
    keep = format_ms(alert.keep_firing_for_ms)
    return [error(NO_FORM, f"{alert.name!r} has no exact Datadog form (keep_firing_for): a Datadog "
                  f"monitor recovers as soon as its window stops breaching, where Prometheus keeps "
                  f"the alert firing {keep} longer", alert.at("keep_firing_for"),
                  f"state it with `datadog: {{differs: \"no keep_firing_for: recovers up to {keep} "
                  "sooner\"}`, or `targets:` without datadog")]


def condition(catalog: Catalog, alert: Alert, naming: Naming) -> tuple[Condition | None, list[Diagnostic]]:
    """The alert's condition in Datadog, or the diagnostics saying why there is none. Computed
    once per catalog: the checks, the monitor and the runbook page all read it."""
    return catalog.once(("datadog.condition", alert.id), lambda: _condition(catalog, alert, naming))


def _condition(catalog: Catalog, alert: Alert, naming: Naming) -> tuple[Condition | None, list[Diagnostic]]:
    if any(not math.isfinite(t.value) for t in conditions(alert.expr.tree)):
        return None, []  # the numbers check reports it, at the literal
    refused = _keep_firing(alert)
    if refused:
        return None, refused
    override = alert.datadog.query if alert.datadog else ""
    if override:
        try:
            parsed = querycheck.parse(override)
        except querycheck.QueryError as exc:
            return None, [error(BAD_OVERRIDE, f"datadog.query of {alert.name!r} is not a Datadog "
                                f"metric monitor query: {exc}", alert.at("datadog.query"),
                                "write `time_aggr(last_#m):space_aggr:metric{tags} op number`, as "
                                "the Monitor API documents")]
        grouping = next((g for g in parsed.groups if g), ())
        # `or absent(...)` still asks for no-data alerting: the override replaces the query only.
        _, absent = datadog_monitor.split_absent(alert.expr.tree)
        cond = Condition(override, parsed.op, parsed.threshold, grouping,
                         querycheck.window_ms(parsed.window), no_data=absent is not None,
                         overridden=True, no_data_timeframe_min=no_data_timeframe(alert, absent))
        return cond, _warning_order(alert, cond)
    found, problems = datadog_monitor.translate(alert.expr.tree, alert.for_ms, naming,
                                                catalog.settings.evaluation_interval_ms,
                                                catalog.settings.datadog.pending)
    if found is None:
        hint = ("add `datadog: {query: ..., reason: ...}` with a reviewed monitor query, or "
                "`targets:` without datadog")
        stale = datadog_monitor.staleness(alert.expr.tree, naming) \
            if "time()" in [p.construct for p in problems] else None
        if stale:
            hint = (f"if the metric is the Unix time something last happened, `datadog: {{query: "
                    f"\"{stale}\", reason: ...}}` alerts when it has not changed for that long; "
                    "or `targets:` without datadog")
        if [p.construct for p in problems] == [datadog_monitor.FOR_ON_WINDOW]:
            # The same condition without its pending period is a reasonable override to review.
            bare, _ = datadog_monitor.translate(alert.expr.tree, 0, naming,
                                                catalog.settings.evaluation_interval_ms)
            if bare is not None:
                hint = (f"to alert without the pending period, add `datadog: {{query: "
                        f"\"{bare.query}\", reason: ...}}`; or `targets:` without datadog")
        return None, [error(NO_FORM, f"{alert.name!r} has no exact Datadog form ({p.construct}): "
                            f"{p.message}", _where(alert, p.token, naming), hint) for p in problems]
    cond = _as_condition(alert, found)
    notes = [warning(STORED, f"{alert.name!r}: {text}", alert.at("expr"),
                     "check that Datadog holds the tags the query reads") for text in found.warnings]
    return cond, notes + _warning_order(alert, cond)


def _as_condition(alert: Alert, found: datadog_monitor.MonitorQuery) -> Condition:
    return Condition(found.query, found.op, found.threshold, found.grouping, found.window_ms,
                     found.no_data, found.full_window,
                     no_data_timeframe_min=no_data_timeframe(alert, found.no_data or None),
                     components=tuple((name, _as_condition(alert, part))
                                      for name, part in found.components),
                     notes=found.notes, missing_as_zero=found.missing_as_zero)


def no_data_timeframe(alert: Alert, absent: object) -> int | None:
    """absent() holds once the series is gone (at most Prometheus's 5m lookback later) and fires
    after `for`: the same number of minutes without data notifies in Datadog."""
    if not absent:
        return None
    return LOOKBACK_MIN + math.ceil(alert.for_ms / 60_000)


def _warning_order(alert: Alert, cond: Condition) -> list[Diagnostic]:
    warning = alert.datadog.warning if alert.datadog else None
    if warning is None or not math.isfinite(warning):
        return []  # a NaN or infinite warning is the numbers check's
    loc = alert.at("datadog.warning")
    if cond.op in (">", ">=") and not warning < cond.threshold:
        return [error(BAD_WARNING, f"warning {number(warning)} of {alert.name!r} is not below its "
                      f"critical threshold {number(cond.threshold)}", loc,
                      "a warning on a `>` alert is reached first: make it smaller")]
    if cond.op in ("<", "<=") and not warning > cond.threshold:
        return [error(BAD_WARNING, f"warning {number(warning)} of {alert.name!r} is not above its "
                      f"critical threshold {number(cond.threshold)}", loc,
                      "a warning on a `<` alert is reached first: make it larger")]
    if cond.op in ("==", "!="):
        return [error(BAD_WARNING, f"{alert.name!r} compares with `{cond.op}`: a warning threshold "
                      "has no meaning there", loc, "remove datadog.warning")]
    return []
