"""Link stage: service parts merged into one Catalog; every reference resolved or reported."""
from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable

from compiler import model
from compiler.build import SERVICE_FIELDS, SERVICE_LISTS, ServicePart
from compiler.diagnostics import Diagnostic, Loc, error
from compiler.expr import ast
from compiler.expr.locate import tokens
from compiler.incremental import cached
from compiler.names import BUILTIN_METRICS, SUFFIXES, series_names  # noqa: F401 - used here and re-exported
from compiler.slos import expand as slo_expand

SECTIONS = ("metrics", "recording_rules", "alerts", "procedures", "checklists", "dashboards",
            "severities", "datadog_only", "slos")
# `procedure: pending`: an imported alert whose runbook is still to be written (a warning).
PENDING = "pending"


def _hint(name: str, known: Iterable[str], what: str) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    if not known:
        return f"define the {what} first"
    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    plural = what[:-1] + "ies" if what.endswith("y") else what + "s"
    return f"known {plural}: {shown}"


def _histogram_hint(name: str, histograms: set[str]) -> str:
    """A histogram's name is queried through its series: `x_bucket`, `x_sum`, `x_count`. Both
    ways of mixing them up are a newcomer's (the closest name would be a misleading guess)."""
    if name not in histograms:
        return ""
    base = next((name.removesuffix(s) for s in ("_bucket", "_sum", "_count") if name.endswith(s)), None)
    if base:
        return (f"{name!r} is declared as a histogram, whose series are {name}_bucket, {name}_sum "
                f"and {name}_count: declare the histogram by its base name, `{base}:`")
    return (f"{name!r} is a histogram: query its series {name}_bucket (histogram_quantile() reads "
            f"it), {name}_sum or {name}_count")


def token_offset(text: str, word: str) -> int:
    for tok in tokens(text)[0]:
        if tok.text == word:
            return tok.start
    return 0


def link(settings: model.Settings | None, shared_severities: dict[str, model.Severity],
         shared_contacts: dict[str, model.Contact], parts: list[ServicePart],
         shared_intervals: dict[str, model.TimeInterval] | None = None,
         merge: Callable[..., tuple[model.Service, list[Diagnostic]]] | None = None,
         memo: dict[Any, Any] | None = None) -> tuple[model.Catalog | None, list[Diagnostic]]:
    """The catalog from the settings and every service part. `merge` (default `merge_service`)
    makes one service of its parts (with the settings and every service's metrics, which SLOs
    read) and `memo` starts the catalog's memo: the incremental cache
    passes its own."""
    ordered = sorted(parts, key=lambda p: p.file)
    contacts, diags = merge_contacts(shared_contacts, ((p.file, p.contacts) for p in ordered))
    intervals = dict(shared_intervals or {})
    for part in ordered:
        for name, interval in part.time_intervals.items():
            if name in intervals:
                diags.append(_dup("time interval", name, interval.loc, intervals[name].loc))
            else:
                intervals[name] = interval
    by_service: dict[str, list[ServicePart]] = {}
    for part in ordered:
        by_service.setdefault(part.id, []).append(part)
    metrics = _Metrics(by_service)
    services = []
    for sid in sorted(by_service):
        service, found = (merge or merge_service)(by_service[sid], settings, metrics)
        services.append(service)
        diags.extend(found)
    if settings is None:
        return None, diags
    catalog = model.Catalog(settings, tuple(services), contacts, dict(sorted(shared_severities.items())),
                            dict(sorted(intervals.items())), {} if memo is None else memo)
    diags.extend(references(catalog))
    return catalog, diags


def merge_contacts(shared: dict[str, model.Contact],
                   defined: Iterable[tuple[str, dict[str, model.Contact]]]
                   ) -> tuple[dict[str, model.Contact], list[Diagnostic]]:
    """The shared contacts and those services define, (file, contacts) in file order; a contact
    id defined twice is reported where it is defined again."""
    contacts = dict(shared)
    diags: list[Diagnostic] = []
    for _, found in defined:
        for cid, c in found.items():
            if cid in contacts:
                diags.append(_dup("contact", cid, c.loc, contacts[cid].loc))
            else:
                contacts[cid] = c
    return dict(sorted(contacts.items())), diags


class _Metrics:
    """Every service's metrics by name (for SLO expansion), gathered the first time it is asked
    for: most catalogs have no SLO, and a cached part unpickles its metrics only then."""

    def __init__(self, by_service: dict[str, list]):
        self.by_service = by_service
        self.found: dict[str, model.Metric] | None = None

    def __call__(self) -> dict[str, model.Metric]:
        if self.found is None:
            self.found = {}
            for sid in sorted(self.by_service):
                own: dict[str, model.Metric] = {}
                for part in self.by_service[sid]:
                    for name, metric in part.entities.get("metrics", {}).items():
                        own.setdefault(name, metric)
                self.found.update(own)
        return self.found


def merge_service(parts: list[ServicePart], settings: model.Settings | None = None,
                  metrics: Callable[[], dict[str, model.Metric]] = dict
                  ) -> tuple[model.Service, list[Diagnostic]]:
    """One service from its parts (in file order): entities merged, single-valued fields set in
    any one part but not twice differently, SLOs expanded (with `settings` and every service's
    `metrics()`)."""
    diags: list[Diagnostic] = []
    sid = parts[0].id
    sections: dict[str, dict] = {s: {} for s in SECTIONS}
    for part in parts:
        for section in SECTIONS:
            for name, entity in part.entities.get(section, {}).items():
                # A datadog-only alert shares the alerts' names.
                twin = {"alerts": "datadog_only", "datadog_only": "alerts"}.get(section)
                first = sections[section].get(name) or (sections[twin].get(name) if twin else None)
                if first is not None:
                    what = "alert" if twin else section[:-1].replace("_", " ")
                    diags.append(_dup(what, name, entity.loc, first.loc))
                else:
                    sections[section][name] = entity
    fields: dict[str, object] = {}
    intervals: dict[str, model.TimeInterval] = {}
    field_locs: dict[str, Loc] = {}
    lists: dict[str, list] = {k: [] for k in SERVICE_LISTS}
    for part in parts:
        for key in SERVICE_FIELDS:
            if key in part.fields:
                value, loc, key_loc = part.fields[key]
                if key in fields and fields[key] != value:
                    diags.append(error("MC205", f"service {sid!r} sets {key!r} twice", key_loc,
                                       f"first set at {field_locs[key]}; keep one"))
                    continue
                fields[key] = value
                field_locs[key] = loc
        for key in lists:
            lists[key].extend(part.lists.get(key, []))
        for name, interval in part.time_intervals.items():
            intervals.setdefault(name, interval)  # a second definition is link's MC205
    if settings is not None and sections["slos"]:
        # Each SLO becomes rules, alerts and a dashboard that every target compiles.
        sections["slos"], found = slo_expand.expand(settings, sid, sections, metrics(), fields)
        diags.extend(found)
    logging = fields.get("logging")
    service = model.Service(
        id=sid, loc=parts[0].loc,
        title=str(fields.get("title", sid)), team=str(fields.get("team", "")),
        owner=str(fields.get("owner", "")), language=str(fields.get("language", "")),
        description=str(fields.get("description", "")), source=str(fields.get("source", "")),
        links=tuple(model.Link(x["title"], x["url"]) for x in lists["links"]),
        principles=tuple(lists["principles"]), notes=tuple(lists["notes"]),
        logging=_logging(logging) if isinstance(logging, dict) else None,
        active_during=tuple(fields.get("active_during", ())),  # type: ignore[arg-type]
        muted_during=tuple(fields.get("muted_during", ())),  # type: ignore[arg-type]
        time_intervals=dict(sorted(intervals.items())),
        field_locs=field_locs,
        **{s: dict(sorted(sections[s].items())) for s in SECTIONS},
    )
    return service, diags


def _logging(d: dict) -> model.Logging:
    ex = d.get("example")
    return model.Logging(
        description=d.get("description", ""), required_fields=tuple(d.get("required_fields", ())),
        example=model.Code(ex["code"], ex.get("title", ""), ex.get("language", "")) if ex else None,
        events=tuple(model.LogEvent(e["event"], e.get("logger", ""), e.get("level", ""))
                     for e in d.get("events", ())),
    )


def _dup(what: str, name: str, loc: Loc, first: Loc) -> Diagnostic:
    return error("MC205", f"duplicate {what} {name!r} (first defined at {first})", loc,
                 "ids must be unique; rename or remove one of them")


def references(catalog: model.Catalog) -> list[Diagnostic]:
    """Every reference of the catalog resolved, or reported where it is written."""
    diags: list[Diagnostic] = []
    for c in catalog.contacts.values():
        for rule in c.escalates_to:
            _check_contact(catalog, rule.to, rule.loc, diags)
    _check_contact(catalog, catalog.settings.catch_all,
                   catalog.settings.field_locs.get("catch_all", catalog.settings.loc), diags)
    for svc in catalog.services:
        diags.extend(cached(catalog, "link.references", svc, lambda: service_references(catalog, svc)))
    return diags


def _check_contact(catalog: model.Catalog, cid: str, loc: Loc, diags: list[Diagnostic]) -> None:
    contacts = catalog.contacts
    if cid and cid not in contacts:
        diags.append(error("MC202", f"unknown contact {cid!r}", loc, _hint(cid, contacts, "contact")))


def service_references(catalog: model.Catalog, svc: model.Service) -> list[Diagnostic]:
    """The references one service makes: metrics, contacts, severities, procedures, dashboards,
    alerts."""
    diags: list[Diagnostic] = []
    names = series_names(catalog)

    def check_contact(cid: str, loc: Loc) -> None:
        _check_contact(catalog, cid, loc, diags)

    def histograms() -> set[str]:
        # Every service's: read only for an unknown metric, an error, which the incremental
        # cache never stores (an unchanged service's metrics are then not unpickled).
        return {m.name for other in catalog.services for m in other.metrics.values() if m.type == "histogram"}

    def check_expr(expr: model.Expression) -> None:
        for node in ast.walk(expr.tree):
            if isinstance(node, ast.Selector) and node.metric and node.metric not in names:
                diags.append(error(
                    "MC201", f"unknown metric {node.metric!r}",
                    expr.loc_at(token_offset(expr.text, node.metric)),
                    _histogram_hint(node.metric, histograms()) or
                    _hint(node.metric, names, "metric") + "; declare it under `metrics:` or "
                    "`recording_rules:`",
                ))

    check_contact(svc.owner, svc.field_locs.get("owner", svc.loc))
    for rule in svc.recording_rules.values():
        for definition in rule.definitions():
            check_expr(definition.expr)
    for alert in [*svc.alerts.values(), *svc.datadog_only.values()]:
        if isinstance(alert, model.Alert):
            check_expr(alert.expr)
        if svc.severity(alert.severity, catalog.severities) is None:
            known = set(catalog.severities) | set(svc.severities)
            hint = _hint(alert.severity, known, "severity")
            if not hint.startswith("did you mean"):  # a slip needs no lesson on levels
                hint += "; a new level is declared under `severities:` in moncat.yaml (or the service)"
            diags.append(error("MC203", f"unknown severity {alert.severity!r}",
                               alert.at("severity"), hint))
        for i, cid in enumerate(alert.notify):
            check_contact(cid, alert.at(f"notify.{i}"))
        if alert.procedure and alert.procedure != PENDING and alert.procedure not in svc.procedures:
            diags.append(error("MC204", f"unknown procedure {alert.procedure!r}",
                               alert.at("procedure"),
                               _hint(alert.procedure, svc.procedures, "procedure")))
        if isinstance(alert, model.Alert) and alert.dashboard and alert.dashboard not in svc.dashboards:
            diags.append(error("MC206", f"unknown dashboard {alert.dashboard!r}",
                               alert.at("dashboard"),
                               _hint(alert.dashboard, svc.dashboards, "dashboard")))
    for proc in svc.procedures.values():
        for cid, loc in zip(proc.notify, proc.notify_locs):
            check_contact(cid, loc)
    for dash in svc.dashboards.values():
        for row in dash.rows:
            for panel in row.panels:
                for q in panel.queries:
                    check_expr(q.expr)
                for name, loc in zip(panel.alerts, panel.alert_locs):
                    if name not in svc.alerts:
                        diags.append(error("MC207", f"panel names unknown alert {name!r}", loc,
                                           _hint(name, svc.alerts, "alert")))
    return diags
