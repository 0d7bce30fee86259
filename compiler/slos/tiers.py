"""Link stage, SLO tiers: the Google SRE workbook's multiwindow multi-burn-rate defaults, merged
with the settings' and the SLO's overrides, and checked (windows, reachable thresholds).

The defaults are chapter 5's table ("Alerting on SLOs": page at 2% of the budget spent in 1h
with a 5m short window, page at 5% in 6h/30m, ticket at 10% in 3d/6h) plus the 10%-in-1d/2h
ticket tier that makes the ladder 14.4x / 6x / 3x / 1x for 30 days. They are stored as the
share of the budget each tier spends, not as factors: for a window W the factor is
share x W / long, so a 30d window gets exactly 14.4, 6, 3 and 1, and a 28d or 7d window gets
the factors that alert at the same budget consumption.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.durations import format_ms
from compiler.slos.model import TARGETS, AbsentSpec, SloDefaults, SloSpec, TierSpec

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
DEFAULT_WINDOW_MS = 30 * DAY
DEFAULT_ABSENT_FOR_MS = 10 * MINUTE
# Datadog's burn-rate monitors take long windows of 1 to 48 hours
# (https://docs.datadoghq.com/service_management/service_level_objectives/burn_rate/): the 3-day
# ticket tier is compiled for Prometheus and Grafana only unless a catalog says otherwise.
DEFAULT_TIERS: tuple[tuple[str, Decimal, int, int, tuple[str, ...] | None], ...] = (
    ("page-fast", Decimal(2), HOUR, 5 * MINUTE, None),
    ("page-slow", Decimal(5), 6 * HOUR, 30 * MINUTE, None),
    ("ticket-fast", Decimal(10), DAY, 2 * HOUR, None),
    ("ticket-slow", Decimal(10), 3 * DAY, 6 * HOUR, ("prometheus", "grafana")),
)
WINDOWS = "MC802"
NEVER_FIRES = "MC805"
INCOMPLETE = "MC806"


@dataclass
class Draft:
    """A tier while the levels (defaults, settings, SLO) are merged; each field remembers where
    it was written."""

    id: str
    loc: Loc
    values: dict[str, object] = field(default_factory=dict)
    locs: dict[str, Loc] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # field -> "settings" or "slo"
    mentioned: str = ""  # the last level that names the tier: "settings", "slo" or "" (built in)


@dataclass(frozen=True)
class Resolved:
    """A tier's numbers once merged and checked."""

    id: str
    loc: Loc
    factor: Decimal
    long_ms: int
    short_ms: int
    for_ms: int
    severity: str
    threshold: Decimal
    targets: tuple[str, ...]
    locs: dict[str, Loc]


def duration(ms: int) -> str:
    """Days rather than weeks, as SLO windows are said (28d, not 4w)."""
    return f"{ms // DAY}d" if ms and ms % DAY == 0 else format_ms(ms)


def significant(value: Decimal, digits: int = 4) -> Decimal:
    """`value` as written when it is short (14.4, 13.44), else rounded to `digits` significant
    digits (0.9333 for 28/30): a factor is a tuning number, not a repeating decimal."""
    exact = value.normalize()
    if len(exact.as_tuple().digits) <= 6:
        return exact
    return Decimal(format(value, f".{digits}g")).normalize()


def plain(value: Decimal) -> str:
    """A decimal as PromQL and people read it: 0.0144, 14.4, 1 (never 1.44E-2 or 14.40)."""
    text = format(value.normalize(), "f")
    return text


def _merge(drafts: dict[str, Draft], specs: tuple[TierSpec, ...], level: str) -> None:
    for spec in specs:
        if spec.removed:
            drafts.pop(spec.id, None)
            continue
        draft = drafts.setdefault(spec.id, Draft(spec.id, spec.loc))
        draft.loc, draft.mentioned = spec.loc, level
        given = {"factor": spec.factor, "budget_consumed": spec.budget_consumed,
                 "long_ms": spec.long_ms, "short_ms": spec.short_ms, "for_ms": spec.for_ms,
                 "severity": spec.severity, "targets": spec.targets}
        if spec.factor is not None or spec.budget_consumed is not None:
            # The level that sets the burn decides it alone: a factor replaces an inherited
            # budget share, and the other way round.
            for key in ("factor", "budget_consumed"):
                draft.values.pop(key, None)
                draft.locs.pop(key, None)
        names = {"long_ms": "long", "short_ms": "short", "for_ms": "for"}
        for key, value in given.items():
            if value is not None:
                draft.values[key] = value
                draft.locs[key] = spec.field_locs.get(names.get(key, key), spec.loc)
                draft.origin[key] = level


def resolve_tiers(spec: SloSpec, defaults: SloDefaults, window_ms: int, budget: Decimal,
                  targets: tuple[str, ...]) -> tuple[list[Resolved], list[Diagnostic]]:
    """The SLO's tiers, most urgent (shortest long window) first, and what is wrong with them."""
    drafts: dict[str, Draft] = {}
    for tid, share, long_ms, short_ms, tier_targets in DEFAULT_TIERS:
        draft = Draft(tid, spec.loc, {"budget_consumed": share, "long_ms": long_ms,
                                      "short_ms": short_ms})
        if tier_targets is not None:
            draft.values["targets"] = tier_targets
        drafts[tid] = draft
    _merge(drafts, defaults.tiers, "settings")
    _merge(drafts, spec.tiers, "slo")
    both = {t.id: t for t in (*defaults.tiers, *spec.tiers)
            if t.factor is not None and t.budget_consumed is not None}
    out: list[Resolved] = []
    diags: list[Diagnostic] = []
    for draft in drafts.values():
        if draft.id in both:
            diags.append(error(INCOMPLETE, f"tier {draft.id!r} gives both `factor` and "
                               "`budget_consumed`", both[draft.id].loc,
                               "keep one: the factor is budget_consumed/100 x window / long"))
            continue
        found = _resolve(draft, spec, defaults, window_ms, budget, targets, diags)
        if found is not None:
            out.append(found)
    out.sort(key=lambda t: (t.long_ms, t.short_ms, t.id))
    return out, diags


def _window_loc(draft: Draft, key: str, spec: SloSpec, defaults: SloDefaults) -> Loc:
    """Where a window that does not fit the SLO's window is best fixed: the tier's window when
    this SLO wrote it, else the SLO's `window`, else where the tier's window was written, else
    the settings' window."""
    if draft.origin.get(key) == "slo":
        return draft.locs[key]
    if "window" in spec.field_locs:
        return spec.field_locs["window"]
    if key in draft.locs:
        return draft.locs[key]
    return defaults.field_locs.get("window") or draft.loc


def _resolve(draft: Draft, spec: SloSpec, defaults: SloDefaults, window_ms: int, budget: Decimal,
             targets: tuple[str, ...], diags: list[Diagnostic]) -> Resolved | None:
    v, at = draft.values, lambda key: draft.locs.get(key, draft.loc)
    long_ms, short_ms = v.get("long_ms"), v.get("short_ms")
    if long_ms is None or short_ms is None:
        diags.append(error(WINDOWS, f"tier {draft.id!r} has no {'long' if long_ms is None else 'short'}"
                           " window", draft.loc, "give the tier `long:` and `short:` (the short "
                           "window is usually 1/12 of the long one)"))
        return None
    window = duration(window_ms)
    assert isinstance(long_ms, int) and isinstance(short_ms, int)
    problem = ""
    if not 0 < short_ms < long_ms:
        problem, where = (f"its short window ({duration(short_ms)}) is not shorter than its "
                          f"long window ({duration(long_ms)})"), at("short_ms")
    elif long_ms > window_ms:
        problem, where = (f"its long window ({duration(long_ms)}) is longer than the SLO window "
                          f"({window})"), _window_loc(draft, "long_ms", spec, defaults)
    elif window_ms % long_ms or window_ms % short_ms:
        key = "long_ms" if window_ms % long_ms else "short_ms"
        problem, where = (f"the SLO window {window} is not a whole number of its "
                          f"{duration(long_ms if key == 'long_ms' else short_ms)} window"), \
            _window_loc(draft, key, spec, defaults)
    if problem:
        diags.append(error(WINDOWS, f"tier {draft.id!r}: {problem}", where,
                           f"choose windows that divide {window} (the defaults 1h, 6h, 1d and "
                           "3d divide 30d), shorter windows for faster tiers"))
        return None
    if "factor" in v:
        factor = v["factor"]
    else:
        share = v["budget_consumed"]
        assert isinstance(share, Decimal)
        factor = significant(share / 100 * window_ms / long_ms)
    assert isinstance(factor, Decimal)
    threshold = (factor * budget).normalize()
    if threshold >= 1:
        maximum = significant(1 / budget)
        diags.append(error(
            NEVER_FIRES, f"tier {draft.id!r} can never fire: its factor {plain(factor)} x the "
            f"error budget {plain(budget)} is {plain(threshold)}, and an error ratio is at most 1",
            _factor_loc(draft, spec),
            f"with objective {plain(spec.objective)}% a burn rate is at most {plain(maximum)}: "
            f"lower the tier's `factor`, lengthen its `long` window, or remove it "
            f"(`{draft.id}: false`)"))
        return None
    severity = v.get("severity")
    if not severity:
        hint = (f"set `severity:` for {draft.id} under `slos: alerting:` in moncat.yaml (for every "
                "SLO) or under this SLO's `alerting:`")
        if draft.mentioned == "slo":
            diags.append(error(INCOMPLETE, f"tier {draft.id!r} of SLO {spec.id!r} has no severity",
                               draft.loc, hint))
        else:
            # One diagnostic for every SLO that inherits the tier: same words, same place.
            diags.append(error(INCOMPLETE, f"tier {draft.id!r} has no severity",
                               draft.loc if draft.mentioned else defaults.loc or spec.loc, hint))
        return None
    tier_targets = v.get("targets")
    chosen = tuple(t for t in TARGETS if t in targets
                   and (tier_targets is None or t in tier_targets))  # type: ignore[operator]
    if not chosen:
        return None  # compiled for none of the SLO's targets (ticket-slow of a Datadog-only SLO)
    return Resolved(draft.id, draft.loc, factor, long_ms, short_ms, int(v.get("for_ms") or 0),
                    str(severity), threshold, chosen,
                    {k.removesuffix("_ms"): l for k, l in draft.locs.items()})


def _factor_loc(draft: Draft, spec: SloSpec) -> Loc:
    """A burn rate no error ratio reaches: blame the factor when this SLO wrote it, else the
    objective that makes the budget too small for the inherited factor."""
    for key in ("factor", "budget_consumed"):
        if draft.origin.get(key) == "slo":
            return draft.locs[key]
    return spec.field_locs.get("objective", spec.loc)


def resolve_absent(spec: SloSpec, defaults: SloDefaults, tiers: list[Resolved]
                   ) -> tuple[tuple[int, str, Loc] | None, list[Diagnostic]]:
    """(for, severity, where the severity was written) of the SLI-absent alert, None when
    removed. Its severity defaults to the slowest tier's."""
    for_ms, severity, loc = DEFAULT_ABSENT_FOR_MS, "", spec.loc
    for level in (defaults.absent, spec.absent):
        if level is None:
            continue
        if level.removed:
            return None, []
        assert isinstance(level, AbsentSpec)
        if level.for_ms is not None:
            for_ms = level.for_ms
        if level.severity:
            severity, loc = level.severity, level.field_locs.get("severity", level.loc)
    if not severity:
        if not tiers:
            return None, [error(INCOMPLETE, f"the SLI-absent alert of SLO {spec.id!r} has no "
                                "severity", spec.loc, "set `absent: {severity: ...}`, or "
                                "`absent: false` to go without it")]
        severity, loc = tiers[-1].severity, tiers[-1].locs.get("severity", tiers[-1].loc)
    return (for_ms, severity, loc), []
