"""Runbooks target, pages: which pages exist, their relative links, and what they cross-reference."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterable

from markupsafe import Markup

from compiler.checks.detection_delay import detection_delay
from compiler.checks.routing import recipients
from compiler.diagnostics import Loc
from compiler.dialects.promql import to_promql
from compiler.durations import format_ms
from compiler.incremental import cached, joined
from compiler.model import Alert, Catalog, Contact, Dashboard, Procedure, Service, Severity
from compiler.slos import SLO, burn_tier, slo_of
from compiler.targets import links as grafana_links
from compiler.targets import ui_links
from compiler.targets.routing.delivery import Delivery, deliveries, timings
from compiler.targets.routing.delivery import hours as delivery_hours
from compiler.targets.runbooks.hours import describe
from compiler.targets.runbooks.i18n import translator
from compiler.targets.runbooks.text import TEXTS
from compiler.targets.runbooks.tidy import Held, inert
from compiler.targets.prometheus import alert_labels, runbook_url

if TYPE_CHECKING:
    from compiler.targets.datadog.conditions import Condition


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


@lru_cache(maxsize=TEXTS)
def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


@lru_cache(maxsize=TEXTS)
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


@dataclass(frozen=True)
class ProcedureRef:
    """A procedure as the contacts page names it."""

    service: str
    id: str
    title: str


@dataclass(frozen=True)
class Reach:
    """How one alert reaches one contact."""

    alert: Alert
    delivery: Delivery


@dataclass
class Local:
    """Cross-references within one service."""

    deliveries: dict[str, list[Delivery]] = field(default_factory=dict)     # alert id ->
    panels: dict[str, list[tuple[Dashboard, list[str]]]] = field(default_factory=dict)  # alert id ->
    procedure_alerts: dict[str, list[Alert]] = field(default_factory=dict)  # procedure id ->


class _ByAlert:
    """`k.deliveries[alert.id]`, `k.panels[alert.id]`: the service's facts, made on first use."""

    def __init__(self, k: "Knowledge", name: str):
        self.k, self.name = k, name

    def __getitem__(self, alert_id: str) -> list:
        return getattr(self.k.local(alert_id.partition("/")[0]), self.name)[alert_id]


class Knowledge:
    """Cross-references, computed per service when first asked (a page of one service needs
    only its own service's) and, for the catalog-wide pages, from per-service summaries."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.services = {s.id: s for s in catalog.services}
        self._local: dict[str, Local] = {}
        self.deliveries = _ByAlert(self, "deliveries")
        self.panels = _ByAlert(self, "panels")

    @classmethod
    def of(cls, catalog: Catalog) -> "Knowledge":
        return cls(catalog)

    def local(self, sid: str) -> Local:
        found = self._local.get(sid)
        if found is None:
            found = self._local[sid] = _local(self.catalog, self.services[sid])
        return found

    def each(self, services: Iterable[Service], name: str, held: Held | None,
             caller: Callable[[Service], str]) -> Markup:
        """`{% call(svc) k.each(services, name, held) %}...{% endcall %}`: the parts of a
        catalog-wide page (index, contacts) about each of the services, joined in their order.
        Each is rendered by `caller(svc)` or, for a service unchanged since the last compile,
        reused (see compiler.incremental); it may depend on that service, the settings and the
        contacts only. One call from the template, not one per service. On a Markdown page
        (`held` its Held, None on an HTML page) a part is stored with whether it is `inert`, and
        the run of parts, when every one is, is held out of the page's tidying."""
        key = f"runbooks.{name}"
        if held is None:
            return Markup("".join([cached(self.catalog, key, svc, lambda: str(caller(svc))) for svc in services]))
        parts, inert_all = [], True
        for svc in services:
            part, part_inert = cached(self.catalog, key, svc, lambda: _with_inert(caller(svc)))
            parts.append(part)
            inert_all = inert_all and part_inert
        run = "".join(parts)
        return held.hold(run) if inert_all else Markup(run)

    def reaching(self, cid: str) -> list[Service]:
        """The services with an alert that reaches contact `cid`."""
        return [svc for svc in self.catalog.services if cid in self._contacts(svc)[0]]

    def reaches(self, svc: Service, cid: str) -> list[Reach]:
        """How the service's alerts reach contact `cid`, in alert order."""
        local = self.local(svc.id)
        return [Reach(alert, d) for alert in svc.alerts.values()
                for d in local.deliveries[alert.id] if d.contact == cid]

    @cached_property
    def named_in(self) -> dict[str, list[ProcedureRef]]:
        """contact id -> every procedure that names it, in catalog order."""
        out: dict[str, list[ProcedureRef]] = {}
        for svc in self.catalog.services:
            for cid, proc in self._contacts(svc)[1]:
                out.setdefault(cid, []).append(proc)
        return out

    def _contacts(self, svc: Service) -> tuple[list[str], list[tuple[str, ProcedureRef]]]:
        """The contacts the service's alerts reach, and (contact, procedure) for each contact
        its procedures name."""
        def compute() -> tuple[list[str], list[tuple[str, ProcedureRef]]]:
            local = self.local(svc.id)
            reached = sorted({d.contact for plan in local.deliveries.values() for d in plan})
            named = [(cid, ProcedureRef(svc.id, proc.id, proc.title))
                     for proc in svc.procedures.values() for cid in proc.notify]
            return reached, named
        return cached(self.catalog, "runbooks.contacts", svc, compute)

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
        # Indexed once per catalog: scanning every alert for every page was quadratic. Other
        # services' alerts too: the incremental cache keys services joined by a suppression
        # together (compiler.incremental.run._groups).
        services = joined(self.catalog, self.services[alert.service])
        return self.catalog.once(("runbooks", "suppresses", services[0].id),
                                 lambda: self._suppressed_by_index(services)).get(alert.id, [])

    @staticmethod
    def _suppressed_by_index(services: list[Service]) -> dict[str, list[Alert]]:
        index: dict[str, list[Alert]] = {}
        for svc in services:
            for a in svc.alerts.values():
                for target in dict.fromkeys(r.alert for r in a.suppressed_by):
                    index.setdefault(target, []).append(a)
        return index

    def contacts_of(self, svc: Service | None) -> list[Contact]:
        return list(self._contacts_by_service.get(svc.id if svc else None, ()))

    @cached_property
    def _contacts_by_service(self) -> dict[str | None, list[Contact]]:
        # The contacts page asks for every service's: one pass over the contacts, not one each.
        out: dict[str | None, list[Contact]] = {}
        for c in self.catalog.contacts.values():
            out.setdefault(c.service, []).append(c)
        return out

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
        linked = self.local(svc.id).procedure_alerts
        return [p for p in svc.procedures.values() if p.id not in linked]

    def linked(self, svc: Service) -> list[Procedure]:
        linked = self.local(svc.id).procedure_alerts
        return [p for p in svc.procedures.values() if p.id in linked]

    def alerts_of(self, proc: Procedure) -> list[Alert]:
        return self.local(proc.service).procedure_alerts.get(proc.id, [])

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
        found = datadog_condition(self.catalog, svc, alert)
        if found is None:
            return "", ()
        parts = [f"{name}: {part.query}" for name, part in found.components]
        return "\n".join([found.query, *parts]), found.notes

    def slo_of(self, svc: Service, alert: Alert) -> SLO | None:
        return slo_of(svc, alert)

    def slo_facts(self, svc: Service, slo: SLO) -> Any:
        from compiler.targets.runbooks.slo_pages import facts
        return facts(self.catalog, svc, slo)



def _with_inert(part: str) -> tuple[str, bool]:
    part = str(part)
    return part, inert(part)


def datadog_condition(catalog: Catalog, svc: Service, alert: Alert) -> Condition | None:
    """The alert's Datadog condition as its page shows it (computed once per catalog: the checks
    and the monitors read it too), when it compiles for Datadog other than as an SLO's burn rate
    (whose page shows the SLO's monitor)."""
    if not catalog.settings.datadog.enabled or not alert.compiled_for("datadog") \
            or burn_tier(svc, alert) is not None:
        return None
    from compiler.dialects.datadog_names import naming
    from compiler.targets.datadog.conditions import condition
    return condition(catalog, alert, naming(catalog, svc))[0]


def _local(catalog: Catalog, svc: Service) -> Local:
    local = Local()
    for alert in svc.alerts.values():
        local.deliveries[alert.id] = deliveries(catalog, svc, alert)
        if alert.procedure:
            local.procedure_alerts.setdefault(alert.procedure, []).append(alert)
        shown: dict[str, list[str]] = {}
        for dash in svc.dashboards.values():
            for row in dash.rows:
                for panel in row.panels:
                    if alert.name in panel.alerts:
                        shown.setdefault(dash.id, []).append(panel.title)
        if alert.dashboard and alert.dashboard not in shown:
            shown[alert.dashboard] = []
        local.panels[alert.id] = [(svc.dashboards[d], titles) for d, titles in sorted(shown.items())
                                  if d in svc.dashboards]
    return local


def pages(catalog: Catalog) -> list[Page]:
    return catalog_pages(catalog) + [p for svc in catalog.services for p in service_pages(catalog, svc)]


def catalog_pages(catalog: Catalog) -> list[Page]:
    """The pages about the whole catalog: the index and the contacts."""
    lang = catalog.settings.language or "en"
    return [Page("index", "index", catalog.settings.title or "Runbooks", lang, catalog.settings.loc),
            Page("contacts", "contacts", translator(lang)("contacts"), lang, catalog.settings.loc)]


def service_pages(catalog: Catalog, svc: Service) -> list[Page]:
    """A service's own page and those of its alerts and procedures."""
    slang = svc.language or catalog.settings.language or "en"
    out = [Page("service", f"{svc.id}/index", svc.title or svc.id, slang, svc.loc, svc)]
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
