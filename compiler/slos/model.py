"""Model stage, SLOs: objectives as written (specs) and as expanded (tiers resolved, and the names
of the recording rules, alerts and dashboard each became)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from compiler.diagnostics import Loc
from compiler.model import Expression

TARGETS = ("prometheus", "grafana", "datadog")
# A burn-rate alert compiled for Datadog reaches it as its SLO's `slo alert` monitor
# (targets/datadog/slos.py), not as a translated metric monitor: the alert's `targets` name this
# instead of "datadog", so that whatever compiles, checks or evaluates metric monitors leaves it.
SLO_MONITOR = "datadog-slo"


@dataclass(frozen=True)
class TierSpec:
    """One `alerting:` entry as written (settings or SLO): every field it leaves out is None."""

    id: str
    loc: Loc
    removed: bool = False  # `<tier>: false`
    factor: Decimal | None = None
    budget_consumed: Decimal | None = None  # percent of the window's budget, spent in `long`
    long_ms: int | None = None
    short_ms: int | None = None
    for_ms: int | None = None
    severity: str | None = None
    targets: tuple[str, ...] | None = None
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class AbsentSpec:
    """An `absent:` entry as written."""

    loc: Loc
    removed: bool = False
    for_ms: int | None = None
    severity: str | None = None
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class SloDefaults:
    """`slos:` in moncat.yaml: what every SLO starts from."""

    loc: Loc | None = None
    window_ms: int | None = None
    tiers: tuple[TierSpec, ...] = ()
    absent: AbsentSpec | None = None
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Sli:
    """What counts as good. `events`: selectors of counters (good or bad, and total);
    `latency`: a histogram whose bucket at `threshold` counts the good events."""

    kind: str  # events | latency
    loc: Loc
    total: Expression | None = None
    good: Expression | None = None
    bad: Expression | None = None
    histogram: Expression | None = None  # the histogram's base name, with matchers
    threshold: float | None = None


@dataclass(frozen=True)
class SloSpec:
    """One SLO as written."""

    service: str
    id: str
    loc: Loc
    objective: Decimal  # percent, as written (99.9)
    sli: Sli
    window_ms: int | None = None
    tiers: tuple[TierSpec, ...] = ()
    absent: AbsentSpec | None = None
    title: str = ""
    description: str = ""
    alert_name: str = ""
    notify: tuple[str, ...] = ()
    procedure: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    targets: tuple[str, ...] = ()  # () means all
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)

    def at(self, name: str) -> Loc:
        return self.field_locs.get(name, self.loc)


@dataclass(frozen=True)
class Scenario:
    """One generated test of a tier: the series (promtool notation), when to evaluate, and
    whether the alert must fire then. `kind`: fires (and, at `early_ms`, not yet), below (a burn
    just under the factor), reset (quiet once the short window has recovered while the long one
    still burns)."""

    kind: str
    burn: Decimal  # the simulated burn rate
    step_ms: int
    series: tuple[tuple[str, str], ...]
    at_ms: int
    fires: bool
    comment: str
    onset_ms: int  # when the burn starts (after a whole long window of good traffic)
    stop_ms: int | None = None  # reset: when the errors stop
    early_ms: int | None = None  # fires: a moment shortly before the expected detection


@dataclass(frozen=True)
class Tier:
    """A resolved burn-rate tier: the alert fires while the error ratio over `long` and over
    `short` both exceed `threshold` = factor x error budget."""

    id: str
    loc: Loc
    factor: Decimal
    long_ms: int
    short_ms: int
    for_ms: int
    severity: str
    threshold: Decimal
    alert: str  # the generated alert's name
    targets: tuple[str, ...]
    scenarios: tuple[Scenario, ...] = ()
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)

    def compiled_for(self, target: str) -> bool:
        return target in self.targets

    def budget_consumed(self, window_ms: int) -> Decimal:
        """The share of the window's budget (0-1) a burn at `factor` spends within `long`."""
        return self.factor * self.long_ms / window_ms

    def detection_ms(self, error_ratio: Decimal, budget: Decimal) -> int:
        """How long after a steady error ratio starts (after a good long window) the long
        window's ratio reaches the threshold, `for` aside: the SRE workbook's
        long window x threshold / error ratio."""
        return int(self.long_ms * min(Decimal(1), self.factor * budget / error_ratio))


@dataclass(frozen=True)
class SLO:
    """An expanded SLO: its spec, resolved numbers, and what it generated."""

    spec: SloSpec
    budget: Decimal  # 1 - objective, as a fraction (0.001 for 99.9)
    window_ms: int
    tiers: tuple[Tier, ...]
    errors: dict[int, str]  # window (ms) -> the recording rule of the error ratio over it
    objective_rule: str
    budget_rule: str
    remaining_rule: str
    burn_rule: str  # the burn rate over the fastest tier's long window
    period_burn_rule: str  # the burn rate over the whole window
    absent_alert: str = ""
    absent_for_ms: int = 0
    absent_severity: str = ""
    dashboard: str = ""
    targets: tuple[str, ...] = TARGETS

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def service(self) -> str:
        return self.spec.service

    @property
    def loc(self) -> Loc:
        return self.spec.loc

    @property
    def objective(self) -> Decimal:
        return self.spec.objective

    @property
    def key(self) -> str:
        return f"{self.spec.service}/{self.spec.id}"

    def compiled_for(self, target: str) -> bool:
        return target in self.targets
