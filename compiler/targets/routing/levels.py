"""Targets, pager levels: the PagerDuty severity and the Opsgenie priority of each catalog
severity, and the notification template that picks them from an alert's labels (a paging
receiver is shared by every level that pages)."""
from __future__ import annotations

from typing import Callable

from compiler.model import Catalog, Severity

# PagerDuty Events API v2 `payload.severity` takes critical, error, warning or info; the
# catalog's priority 1 is the most urgent. Opsgenie priorities are P1 (highest) to P5.
PAGERDUTY_BY_PRIORITY = {1: "critical", 2: "error", 3: "warning"}
PAGERDUTY_OTHERWISE = "info"
# What Alertmanager sends when nothing says otherwise; the template's last branch.
PAGERDUTY_DEFAULT = "error"
OPSGENIE_DEFAULT = "P3"


def pagerduty_severity(severity: Severity) -> str:
    return PAGERDUTY_BY_PRIORITY.get(severity.priority, PAGERDUTY_OTHERWISE)


def opsgenie_priority(severity: Severity) -> str:
    return f"P{min(max(severity.priority, 1), 5)}"


def _levels(catalog: Catalog) -> list[tuple[str | None, Severity]]:
    """Every paging level: the shared ones, then each service's own (service id, level)."""
    out: list[tuple[str | None, Severity]] = [(None, s) for s in catalog.severities.values() if s.page]
    for service in catalog.services:
        out += [(service.id, s) for s in service.severities.values() if s.page]
    return out


def _eq(label: str, value: str) -> str:
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'eq .CommonLabels.{label} "{quoted}"'


def level_template(catalog: Catalog, value: Callable[[Severity], str], default: str) -> str:
    """A Go template (Alertmanager's and Grafana's notification templates) giving `value` of the
    group's severity level: `{{ if eq .CommonLabels.severity "P0" }}critical{{ else if ... }}`.
    Alerts are grouped by alertname and service, so both are common labels. Where a service
    gives a level another value than the shared level of that name, its branch names the
    service and comes first."""
    services: list[tuple[str, str, str]] = []   # (service, level, value) of a service's own level
    shared: dict[str, str] = {}
    for service, sev in _levels(catalog):
        if service is None:
            shared[sev.id] = value(sev)
        else:
            services.append((service, sev.id, value(sev)))
    branches = [f"and ({_eq('service', sid)}) ({_eq('severity', level)})"
                for sid, level, v in sorted(services) if shared.get(level) != v]
    values = [v for sid, level, v in sorted(services) if shared.get(level) != v]
    for level in sorted(shared):
        branches.append(_eq("severity", level))
        values.append(shared[level])
    if not branches:
        return default
    out = "".join(("{{ if " if i == 0 else "{{ else if ") + cond + " }}" + v
                  for i, (cond, v) in enumerate(zip(branches, values)))
    return out + "{{ else }}" + default + "{{ end }}"
