"""Check: every number an alert compares with, and every number the catalog gives a target, is
finite. `x > NaN` never holds, `x < Inf` always does, and neither Grafana's threshold model nor a
Datadog monitor (JSON numbers, a decimal threshold) can hold them."""
from __future__ import annotations

import math
from typing import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.expr.locate import tokens
from compiler.expr.thresholds import conditions
from compiler.model import Alert, Catalog

NOT_FINITE = "MC304"
BAD_WARNING = "MC703"


def _value(text: str) -> float | None:
    try:
        return float(text.replace("_", "x"))  # `1_000` is no PromQL number
    except ValueError:
        return None


def _offset(text: str) -> int:
    """The first literal in the expression that is NaN or infinite (`NaN`, `Inf`, `1e999`)."""
    for tok in tokens(text)[0]:
        if tok.kind in ("number", "ident"):
            value = _value(tok.text)
            if value is not None and not math.isfinite(value):
                return tok.start
    return 0


def _alert(alert: Alert) -> Iterator[Diagnostic]:
    bad = [t for t in conditions(alert.expr.tree) if not math.isfinite(t.value)]
    if bad:
        yield error(NOT_FINITE, f"{alert.name!r} compares with {bad[0].value}: a comparison with "
                    "NaN never holds and one with an infinity always or never does",
                    alert.expr.loc_at(_offset(alert.expr.text)),
                    "compare with a finite number; to alert on NaN, write `x != x`")
    warning = alert.datadog.warning if alert.datadog else None
    if warning is not None and not math.isfinite(warning):
        yield error(BAD_WARNING, f"datadog.warning of {alert.name!r} is {warning}, not a number a "
                    "monitor threshold can hold", alert.at("datadog.warning"),
                    "give a finite number, reached before the critical threshold")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    for service in catalog.services:
        for alert in service.alerts.values():
            yield from _alert(alert)
