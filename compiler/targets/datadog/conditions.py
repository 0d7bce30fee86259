"""Datadog target, conditions: each alert's monitor query, translated or overridden, with the
diagnostics at the alert when it is neither.

Shared by the monitors (which build on it) and by the `datadog` check (which reports its
diagnostics from `moncat validate` already).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.dialects import datadog_monitor
from compiler.dialects.datadog import number
from compiler.dialects.datadog_names import Naming
from compiler.expr.locate import tokens
from compiler.model import Alert, Catalog
from compiler.targets.datadog import querycheck

NO_FORM = "MC701"
BAD_OVERRIDE = "MC702"
BAD_WARNING = "MC703"


@dataclass(frozen=True)
class Condition:
    """What a monitor alerts on."""

    query: str
    op: str
    threshold: float
    grouping: tuple[str, ...] = ()
    window_ms: int | None = None
    no_data: bool = False
    full_window: bool = False
    overridden: bool = False


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


def condition(catalog: Catalog, alert: Alert, naming: Naming) -> tuple[Condition | None, list[Diagnostic]]:
    """The alert's condition in Datadog, or the diagnostics saying why there is none. Computed
    once per catalog: the check, the monitor and the runbook page all read it."""
    return catalog.once(("datadog.condition", alert.id), lambda: _condition(catalog, alert, naming))


def _condition(catalog: Catalog, alert: Alert, naming: Naming) -> tuple[Condition | None, list[Diagnostic]]:
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
                         overridden=True)
        return cond, _warning_order(alert, cond)
    found, problems = datadog_monitor.translate(alert.expr.tree, alert.for_ms, naming,
                                                catalog.settings.evaluation_interval_ms)
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
    cond = Condition(found.query, found.op, found.threshold, found.grouping, found.window_ms,
                     found.no_data, found.full_window)
    return cond, _warning_order(alert, cond)


def _warning_order(alert: Alert, cond: Condition) -> list[Diagnostic]:
    warning = alert.datadog.warning if alert.datadog else None
    if warning is None:
        return []
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
