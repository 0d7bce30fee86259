"""Runbooks target, pages: which pages exist, their relative links, and what they cross-reference."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from compiler.checks.detection_delay import detection_delay
from compiler.checks.routing import recipients
from compiler.diagnostics import Loc
from compiler.dialects.promql import to_promql
from compiler.durations import format_ms
from compiler.model import Alert, Catalog, Contact, Dashboard, Procedure, Service, Severity
from compiler.slos import SLO, burn_tier, slo_of
from compiler.targets import links as grafana_links
from compiler.targets import ui_links
from compiler.targets.routing.delivery import Delivery, deliveries, timings
from compiler.targets.routing.delivery import hours as delivery_hours
from compiler.targets.runbooks.hours import describe
from compiler.targets.runbooks.i18n import translator
from compiler.targets.prometheus import alert_labels, runbook_url


@dataclass(frozen=True)
class Page:
    """One runbook page; `key` is its path without extension, the same in Markdown and HTML."""

    kind: str  # index | contacts | service | alert | procedure | slo
    key: str
    title: str
    language: str
    source: Loc
    service: Service | None = None
    entity: Any = None  # the Alert, Procedure or SLO it shows


@lru_cache(maxsize=65536)
def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


@lru_cache(maxsize=65536)
def _relative(path: str, here: str) -> str:
    """`path` (from the site root) as seen from directory `here` (also from the root)."""
    target, base = path.split("/"), here.split("/") if here else []
    common = 0
    while common < min(len(target) - 1, len(base)) and target[common] == base[common]:
        common += 1
    return "/".join([".."] * (len(base) - common) + target[common:])


class Links:
    """Relative links from one page to the others, in one format (md or html)."""

    def __init__(self, page: Page, ext: str):
        self.here = posixpath.dirname(page.key)
        self.ext = ext

    def to(self, key: str, anchor: str = "") -> str:
        return _relative(f"{key}.{self.ext}", self.here) + (f"#{anchor}" if anchor else "")

    def file(self, name: str) -> str:
        return _relative(name, self.here)

    def index(self) -> str:
        return self.to("index")

    def contact(self, cid: str) -> str:
        return self.to("contacts", f"contact-{slug(cid)}")

    def service(self, sid: str, anchor: str = "") -> str:
        return self.to(f"{sid}/index", anchor)

    def alert(self, alert: Alert) -> str:
        return self.to(f"{alert.service}/alerts/{alert.name}")

    def procedure(self, sid: str, pid: str) -> str:
        return self.to(f"{sid}/procedures/{pid}")

    def dashboard(self, sid: str, did: str) -> str:
        return self.service(sid, f"dashboard-{slug(did)}")

    def slo(self, sid: str, slo_id: str) -> str:
        return self.to(f"{sid}/slos/{slo_id}")


@dataclass
class Reach:
    """How one alert reaches one contact."""

    alert: Alert
    delivery: Delivery


@dataclass
class Knowledge:
    """Cross-references computed once per catalog."""

    catalog: Catalog
    deliveries: dict[str, list[Delivery]] = field(default_factory=dict)      # alert id ->
    reached_by: dict[str, list[Reach]] = field(default_factory=dict)        # contact id ->
    procedure_alerts: dict[tuple[str, str], list[Alert]] = field(default_factory=dict)
    panels: dict[str, list[tuple[Dashboard, list[str]]]] = field(default_factory=dict)  # alert id ->
    named_in: dict[str, list[Procedure]] = field(default_factory=dict)      # contact id ->

    @classmethod
    def of(cls, catalog: Catalog) -> "Knowledge":
        k = cls(catalog)
        for svc in catalog.services:
            for alert in svc.alerts.values():
                plan = deliveries(catalog, svc, alert)
                k.deliveries[alert.id] = plan
                for d in plan:
                    k.reached_by.setdefault(d.contact, []).append(Reach(alert, d))
                if alert.procedure:
                    k.procedure_alerts.setdefault((svc.id, alert.procedure), []).append(alert)
                shown: dict[str, list[str]] = {}
                for dash in svc.dashboards.values():
                    for row in dash.rows:
                        for panel in row.panels:
                            if alert.name in panel.alerts:
                                shown.setdefault(dash.id, []).append(panel.title)
                if alert.dashboard and alert.dashboard not in shown:
                    shown[alert.dashboard] = []
                k.panels[alert.id] = [(svc.dashboards[d], titles) for d, titles in sorted(shown.items())
                                      if d in svc.dashboards]
            for proc in svc.procedures.values():
                for cid in proc.notify:
                    k.named_in.setdefault(cid, []).append(proc)
        return k

    # --- what templates ask -------------------------------------------------------------------
    def severity(self, svc: Service, level: str) -> Severity | None:
        return svc.severity(level, self.catalog.severities)

    def severities(self, svc: Service | None) -> list[Severity]:
        """A service's levels (its own, or the shared ones), most urgent first."""
        levels = dict(self.catalog.severities)
        if svc is not None and svc.severities:
            levels = dict(svc.severities)
        return sorted(levels.values(), key=lambda s: (s.priority, s.id))

    def timings(self, severity: Severity | None) -> str:
        t = timings(severity)
        if not t:
            return ""
        return " / ".join(format_ms(t[k]) for k in ("group_wait", "group_interval", "repeat_interval"))

    def contact(self, cid: str) -> Contact | None:
        return self.catalog.contacts.get(cid)

    def recipients(self, svc: Service, alert: Alert) -> tuple[str, ...]:
        return recipients(alert, svc)

    def escalation_rules(self, contact: Contact) -> list[tuple[str | None, Contact, int | None]]:
        """(level or None for every paging level, contact, delay or None for the level's
        response time) of each `escalates_to` rule."""
        return [(r.level, self.catalog.contacts[r.to], r.after_ms) for r in contact.escalates_to
                if r.to in self.catalog.contacts]

    def hours(self, svc: Service, alert: Alert) -> list[tuple[str, str, str]]:
        """(`active_hours` or `muted_hours`, interval id, the hours in the page's language)."""
        active, muted = delivery_hours(svc, alert)
        language = svc.language or self.catalog.settings.language or "en"
        return [(key, name, describe(self.catalog.time_intervals[name], language))
                for key, names in (("active_hours", active), ("muted_hours", muted))
                for name in names if name in self.catalog.time_intervals]

    def suppressors(self, alert: Alert) -> list[tuple[Alert, tuple[str, ...]]]:
        return [(a, rule.equal) for rule in alert.suppressed_by if (a := self.catalog.alert(rule.alert))]

    def suppresses(self, alert: Alert) -> list[Alert]:
        # Indexed once per catalog: scanning every alert for every page was quadratic.
        return self.catalog.once(("runbooks", "suppresses"), self._suppressed_by_index).get(alert.id, [])

    def _suppressed_by_index(self) -> dict[str, list[Alert]]:
        index: dict[str, list[Alert]] = {}
        for _, a in self.all_alerts():
            for target in dict.fromkeys(r.alert for r in a.suppressed_by):
                index.setdefault(target, []).append(a)
        return index

    def contacts_of(self, svc: Service | None) -> list[Contact]:
        return [c for c in self.catalog.contacts.values() if c.service == (svc.id if svc else None)]

    def service_contacts(self, svc: Service) -> list[Contact]:
        """Contacts a service's pages name: its own, its owner, its alerts' and procedures'."""
        ids = {c.id for c in self.contacts_of(svc)}
        ids |= {svc.owner} if svc.owner else set()
        for alert in svc.alerts.values():
            ids |= set(recipients(alert, svc)) | {d.contact for d in self.deliveries[alert.id]}
        for proc in svc.procedures.values():
            ids |= set(proc.notify)
        return [self.catalog.contacts[c] for c in sorted(ids) if c in self.catalog.contacts]

    def standalone(self, svc: Service) -> list[Procedure]:
        return [p for p in svc.procedures.values() if (svc.id, p.id) not in self.procedure_alerts]

    def linked(self, svc: Service) -> list[Procedure]:
        return [p for p in svc.procedures.values() if (svc.id, p.id) in self.procedure_alerts]

    def alerts_of(self, proc: Procedure) -> list[Alert]:
        return self.procedure_alerts.get((proc.service, proc.id), [])

    def promql(self, alert: Alert) -> str:
        return to_promql(alert.expr.tree)

    def detection(self, alert: Alert, t) -> str:
        """The alert's worst-case detection delay in words: total, its parts, what the text states."""
        delay = detection_delay(self.catalog, alert)
        parts = " + ".join(f"{t('delay_' + name)} {format_ms(ms)}" for name, ms in delay.parts())
        out = f"{format_ms(delay.total_ms)} {t('detection_after')} ({parts})"
        if delay.stated is not None:
            out += f"; {t('delay_stated')} {format_ms(delay.stated.total_ms)}"
            if delay.exceeds:
                out += f" ({t('delay_exceeds')})"
        return out

    def labels(self, alert: Alert, svc: Service) -> dict[str, str]:
        return alert_labels(alert, svc)

    def runbook_url(self, alert: Alert) -> str:
        return runbook_url(self.catalog, alert)

    def grafana(self, dashboard: Dashboard, alert: Alert | None = None) -> str:
        """The dashboard in Grafana (on the alert's panel), when targets.grafana.url is set."""
        if not self.catalog.settings.grafana.url:
            return ""
        found = grafana_links.alert_panel(dashboard, alert.name) if alert else None
        return grafana_links.dashboard_url(self.catalog, dashboard, found[1] if found else None)

    def ui_links(self, svc: Service, alert: Alert) -> list[tuple[str, str]]:
        """(label key, URL): the alert's query in Grafana Explore and Prometheus, a silence."""
        return ui_links.alert_links(self.catalog, svc, alert)

    def datadog(self, svc: Service, alert: Alert) -> tuple[str, tuple[str, ...]]:
        """The alert's Datadog monitor query (a composite's expression, then each component's
        query), and what the translation notes, when the catalog compiles it for Datadog."""
        burn = burn_tier(svc, alert)
        if burn is not None and self.catalog.settings.datadog.enabled:
            # An SLO's burn rate: its `slo alert` monitor, when the SLO and tier go to Datadog.
            from compiler.targets.datadog.slos import Unsupported, burn_query
            try:
                wanted = burn[0].compiled_for("datadog") and burn[1].compiled_for("datadog")
                return (burn_query(self.catalog, *burn) if wanted else ""), ()
            except Unsupported:
                return "", ()
        if not self.catalog.settings.datadog.enabled or not alert.compiled_for("datadog"):
            return "", ()
        from compiler.dialects.datadog_names import naming
        from compiler.targets.datadog.conditions import condition
        found, _ = condition(self.catalog, alert, naming(self.catalog, svc))
        if found is None:
            return "", ()
        parts = [f"{name}: {part.query}" for name, part in found.components]
        return "\n".join([found.query, *parts]), found.notes

    def slo_of(self, svc: Service, alert: Alert) -> SLO | None:
        return slo_of(svc, alert)

    def slo_facts(self, svc: Service, slo: SLO) -> Any:
        from compiler.targets.runbooks.slo_pages import facts
        return facts(self.catalog, svc, slo)

    def all_alerts(self) -> list[tuple[Service, Alert]]:
        return [(svc, a) for svc in self.catalog.services for a in svc.alerts.values()]


def pages(catalog: Catalog) -> list[Page]:
    lang = catalog.settings.language or "en"
    out = [Page("index", "index", catalog.settings.title or "Runbooks", lang, catalog.settings.loc),
           Page("contacts", "contacts", translator(lang)("contacts"), lang, catalog.settings.loc)]
    for svc in catalog.services:
        slang = svc.language or lang
        out.append(Page("service", f"{svc.id}/index", svc.title or svc.id, slang, svc.loc, svc))
        for alert in svc.alerts.values():
            out.append(Page("alert", f"{svc.id}/alerts/{alert.name}", alert.name, slang, alert.loc,
                            svc, alert))
        for proc in svc.procedures.values():
            out.append(Page("procedure", f"{svc.id}/procedures/{proc.id}", proc.title, slang,
                            proc.loc, svc, proc))
        for slo in svc.slos.values():
            out.append(Page("slo", f"{svc.id}/slos/{slo.id}", slo.spec.title or slo.id, slang,
                            slo.loc, svc, slo))
    return out


@lru_cache(maxsize=4096)
def duration(ms: int | None) -> str:
    return format_ms(ms) if ms else ""
