"""Build stage, SLOs: `slos:` of a service and of moncat.yaml to specs (durations, selectors and
numbers parsed, every field's position kept)."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from compiler.diagnostics import error
from compiler.slos.model import AbsentSpec, Sli, SloDefaults, SloSpec, TierSpec

if TYPE_CHECKING:
    from compiler.build import Builder

INVALID_SLI = "MC807"


def decimal(value: Any) -> Decimal:
    """A YAML number as the decimal it was written as: 99.9 is 99.9, not 99.900000000000005684."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(int(value))


def defaults(b: "Builder", d: dict | None) -> SloDefaults:
    """`slos:` of the settings document."""
    if d is None:
        return SloDefaults()
    path = ("slos",)
    return SloDefaults(
        loc=b.loc(*path, key=True),
        window_ms=b.duration(d.get("window"), *path, "window"),
        tiers=tiers(b, d.get("alerting", {}), (*path, "alerting")),
        absent=absent(b, d["absent"], (*path, "absent")) if "absent" in d else None,
        field_locs={"window": b.loc(*path, "window")},
    )


def tiers(b: "Builder", d: dict, path: tuple) -> tuple[TierSpec, ...]:
    out = []
    for tid, body in d.items():
        here = (*path, tid)
        loc = b.loc(*here, key=True)
        if body is False:
            out.append(TierSpec(tid, loc, removed=True))
            continue
        locs = {f: b.loc(*here, f) for f in body}
        out.append(TierSpec(
            tid, loc,
            factor=decimal(body["factor"]) if "factor" in body else None,
            budget_consumed=decimal(body["budget_consumed"]) if "budget_consumed" in body else None,
            long_ms=b.duration(body.get("long"), *here, "long"),
            short_ms=b.duration(body.get("short"), *here, "short"),
            for_ms=b.duration(body.get("for"), *here, "for"),
            severity=body.get("severity"),
            targets=tuple(body["targets"]) if "targets" in body else None,
            field_locs=locs,
        ))
    return tuple(out)


def absent(b: "Builder", d: Any, path: tuple) -> AbsentSpec:
    loc = b.loc(*path, key=True)
    if d is False:
        return AbsentSpec(loc, removed=True)
    return AbsentSpec(loc, for_ms=b.duration(d.get("for"), *path, "for"), severity=d.get("severity"),
                      field_locs={f: b.loc(*path, f) for f in d})


def slo(b: "Builder", sid: str, name: str, d: dict, path: tuple) -> SloSpec | None:
    """One entry of a service's `slos:`; None (with diagnostics) when a part does not build."""
    sli = _sli(b, d["sli"], (*path, "sli"))
    window = b.duration(d.get("window"), *path, "window")
    if sli is None or ("window" in d and window is None):
        return None
    locs = {f: b.loc(*path, f) for f in d}
    for i, _ in enumerate(d.get("notify", ())):
        locs[f"notify.{i}"] = b.loc(*path, "notify", i)
    return SloSpec(
        service=sid, id=name, loc=b.loc(*path, key=True), objective=decimal(d["objective"]),
        sli=sli, window_ms=window,
        tiers=tiers(b, d.get("alerting", {}), (*path, "alerting")),
        absent=absent(b, d["absent"], (*path, "absent")) if "absent" in d else None,
        title=d.get("title", ""), description=d.get("description", ""),
        alert_name=d.get("alert_name", ""), notify=tuple(d.get("notify", ())),
        procedure=d.get("procedure", ""), labels=tuple(sorted(d.get("labels", {}).items())),
        targets=tuple(d.get("targets", ())), field_locs=locs,
    )


def _sli(b: "Builder", d: dict, path: tuple) -> Sli | None:
    if "latency" in d:
        here = (*path, "latency")
        hist = b.expression(d["latency"]["histogram"], *here, "histogram")
        if hist is None:
            return None
        return Sli("latency", b.loc(*here, key=True), histogram=hist,
                   threshold=float(d["latency"]["threshold"]))
    here = (*path, "events")
    events = d["events"]
    if ("good" in events) == ("bad" in events):
        b.diags.append(error(INVALID_SLI, "an events SLI needs exactly one of `good` and `bad`",
                             b.loc(*here, key=True),
                             "count good events with `good:` or bad ones with `bad:`, and all of "
                             "them with `total:`"))
        return None
    parts = {k: b.expression(events[k], *here, k) for k in ("good", "bad", "total") if k in events}
    if any(v is None for v in parts.values()):
        return None
    return Sli("events", b.loc(*here, key=True), **parts)
