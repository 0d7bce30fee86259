"""Link stage, SLO test scenarios: for each burn-rate tier, the series that prove it, as promtool
tests will run them.

Every scenario starts with one whole long window of good traffic (the state the workbook's
detection times assume), then burns the budget at a steady rate:

- fires: 1.05 x the factor; the long window's ratio reaches the threshold after
  long x factor / burn (95% of the long window), so the alert must fire by then plus `for`,
  and must still be quiet two steps before that moment (it does not fire early either);
- below: 0.95 x the factor for a whole long window and more: never fires;
- reset: 2 x the factor until the alert fires, then no errors: quiet again one short window
  later, while the long window still burns above the threshold.

The step (sample and evaluation interval of these tests) is half the short window and at most a
24th of the long one: a 3-day tier runs in about 50 steps of 3h, not 8,000 of 1m. Every window
still holds samples enough for rate() (3 in the short one, 2 where Prometheus 3 leaves a range's
first instant out), and the 5% margins above and below the factor stay wider than one step of
the long window (1/24), so the verdicts hold for either kind of range. Counters grow by 1,000
events per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from compiler.slos.model import Scenario
from compiler.slos.series import counter
from compiler.slos.tiers import Resolved, duration, plain

EVENTS_PER_STEP = Decimal(1000)
ABOVE, BELOW, RESET = Decimal("1.05"), Decimal("0.95"), Decimal(2)


@dataclass(frozen=True)
class Feed:
    """The series a scenario writes: (key, role), role being what it counts: `good`, `bad` or
    `all` events."""

    series: tuple[tuple[str, str], ...]


SHORT_STEPS, LONG_STEPS = 2, 24


def step_ms(tier: Resolved) -> int:
    step = min(tier.short_ms // SHORT_STEPS, tier.long_ms // LONG_STEPS)
    return max(1000, step - step % 1000)


def _steps(ms: Decimal | int, step: int) -> int:
    return math.ceil(Decimal(ms) / step)


def _values(feed: Feed, phases: list[tuple[int, Decimal]]) -> tuple[tuple[str, str], ...]:
    """Each series' counter over the phases (steps, error ratio)."""
    out = []
    for key, role in feed.series:
        per_step = []
        for n, ratio in phases:
            bad = EVENTS_PER_STEP * ratio
            per_step.append((n, {"good": EVENTS_PER_STEP - bad, "bad": bad,
                                 "all": EVENTS_PER_STEP}[role]))
        out.append((key, counter(per_step)))
    return tuple(sorted(out))


def scenarios(tier: Resolved, budget: Decimal, feed: Feed) -> tuple[Scenario, ...]:
    step = step_ms(tier)
    onset_steps = _steps(tier.long_ms, step) + 1
    onset = onset_steps * step
    most = 1 / budget  # a burn rate of 1/budget is every event bad
    f = tier.factor

    def detect(burn: Decimal) -> Decimal:
        return Decimal(tier.long_ms) * f / burn

    def ratio(burn: Decimal) -> Decimal:
        return (burn * budget).normalize()

    out: list[Scenario] = []
    above = min(f * ABOVE, (f + most) / 2)
    wait = _steps(max(detect(above), Decimal(tier.short_ms)) + tier.for_ms, step) + 1
    # Two steps before the detection a left-open window (Prometheus 3) would give.
    early = math.floor(Decimal(tier.long_ms - step) * f / above / step) - 2
    out.append(Scenario(
        "fires", above, step, _values(feed, [(onset_steps, Decimal(0)), (wait, ratio(above))]),
        onset + wait * step, True,
        f"{_x(above)} burn (error ratio {plain(ratio(above))}) after {duration(onset)} of good "
        f"traffic: fires {duration(wait * step)} after the onset (expected detection "
        f"{duration(int(detect(above)) // 1000 * 1000)}{_for(tier)})"
        + (f", not yet {duration(early * step)} after it" if early > 0 else ""),
        onset, early_ms=onset + early * step if early > 0 else None))
    below = f * BELOW
    length = _steps(tier.long_ms + tier.for_ms, step) + 2
    out.append(Scenario(
        "below", below, step, _values(feed, [(onset_steps, Decimal(0)), (length, ratio(below))]),
        onset + length * step, False,
        f"{_x(below)} burn (error ratio {plain(ratio(below))}) for {duration(length * step)}: "
        "never reaches the threshold", onset))
    burst = min(f * RESET, most)
    on = _steps(max(detect(burst), Decimal(tier.short_ms)) + tier.for_ms, step) + 1
    off = _steps(tier.short_ms, step) + 1
    out.append(Scenario(
        "reset", burst, step,
        _values(feed, [(onset_steps, Decimal(0)), (on, ratio(burst)), (off, Decimal(0))]),
        onset + (on + off) * step, False,
        f"{_x(burst)} burn for {duration(on * step)}, then no errors: quiet "
        f"{duration(off * step)} later (one short window)", onset, onset + on * step))
    return tuple(out)


def _x(burn: Decimal) -> str:
    return f"{plain(burn.quantize(Decimal('0.0001')).normalize())}x"


def _for(tier: Resolved) -> str:
    return f" + for {duration(tier.for_ms)}" if tier.for_ms else ""
