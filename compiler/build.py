"""Build stage: checked raw documents to model entities (durations and expressions parsed)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler import model, time_intervals
from compiler.diagnostics import Diagnostic, Loc, error
from compiler.durations import DurationError, parse_ms
from compiler.expr.parse import NestingError, ParseError, parse
from compiler.loader import RawDocument
from compiler.slos import build as slo_build


# Service fields a document may set once (link refuses two parts setting one differently), and
# lists the parts of a service add up.
SERVICE_FIELDS = ("title", "team", "owner", "language", "description", "source", "logging",
                  "active_during", "muted_during")
SERVICE_LISTS = ("principles", "notes", "links")


@dataclass
class ServicePart:
    """What one document says about a service; link merges the parts of a service. It keeps no
    reference to its raw document, so that the incremental cache can store it."""

    id: str
    file: str
    loc: Loc  # where `service:` is written
    fields: dict[str, tuple[Any, Loc, Loc]] = field(default_factory=dict)  # value, its loc, its key's
    lists: dict[str, list] = field(default_factory=dict)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)  # section -> id -> entity
    contacts: dict[str, model.Contact] = field(default_factory=dict)
    time_intervals: dict[str, model.TimeInterval] = field(default_factory=dict)


class _ScalarAt:
    """Expression.locate: where character `offset` of the scalar at `path` stands. A class, not a
    closure, so that built entities can be pickled (the document pickles as its text alone)."""

    __slots__ = ("doc", "path")

    def __init__(self, doc: RawDocument, path: tuple):
        self.doc, self.path = doc, path

    def __call__(self, offset: int) -> Loc:
        return self.doc.scalar_loc(self.path, offset)


class _FieldAt(_ScalarAt):
    """Alert.locate_text: where character `offset` of text field `name` of the entity stands."""

    __slots__ = ()

    def __call__(self, name: str, offset: int) -> Loc:  # type: ignore[override]
        return self.doc.scalar_loc((*self.path, name), offset)


class Builder:
    """Turns one document into model pieces, collecting diagnostics instead of stopping."""

    def __init__(self, doc: RawDocument):
        self.doc = doc
        self.diags: list[Diagnostic] = []
        self.shared_intervals: dict[str, model.TimeInterval] = {}

    def loc(self, *path: Any, key: bool = False) -> Loc:
        return self.doc.loc(path, key=key)

    def duration(self, value: str | None, *path: Any) -> int | None:
        if value is None:
            return None
        try:
            return parse_ms(str(value))
        except DurationError as exc:
            self.diags.append(error("MC106", f"invalid duration: {exc}", self.loc(*path),
                                    "write a Prometheus duration such as 30s, 10m, 1h30m or 7d"))
            return None

    def expression(self, text: str, *path: Any, variables: bool = False) -> model.Expression | None:
        doc = self.doc
        try:
            tree = parse(text, variables)
        except NestingError as exc:
            self.diags.append(error("MC309", f"PromQL too deep: {exc.message}",
                                    doc.scalar_loc(path, exc.offset),
                                    "split it into recording rules, or sum the terms with an "
                                    "aggregation instead of a chain of `+`"))
            return None
        except ParseError as exc:
            self.diags.append(error("MC301", f"PromQL syntax error: {exc.message}",
                                    doc.scalar_loc(path, exc.offset),
                                    "fix the expression; `promtool check rules` accepts the same syntax"))
            return None
        return model.Expression(text, tree, self.loc(*path), _ScalarAt(doc, path))

    # --- settings -----------------------------------------------------------------------------
    def settings(self) -> tuple[model.Settings, dict[str, model.Severity], dict[str, model.Contact]]:
        d = self.doc.data
        targets = d.get("targets", {})
        prom = targets.get("prometheus", {})
        am = targets.get("alertmanager", {})
        settings = model.Settings(
            version=d["version"],
            loc=self.loc(),
            title=d.get("title", ""),
            language=d.get("language", "en"),
            runbooks_base_url=d.get("runbooks", {}).get("base_url", "").rstrip("/"),
            prometheus_version=_version(prom.get("version", "2.42")),
            prometheus_url=prom.get("url", "").rstrip("/"),
            evaluation_interval_ms=self.duration(prom.get("evaluation_interval", "1m"),
                                                 "targets", "prometheus", "evaluation_interval") or 60_000,
            query_offset_ms=self.duration(prom.get("query_offset"), "targets", "prometheus", "query_offset"),
            external_labels=tuple(sorted(prom.get("external_labels", {}).items())),
            alertmanager_version=_version(am.get("version", "0.25")),
            alertmanager=_alertmanager(am),
            incident_response=tuple(_steps(d.get("incident_response", []))),
            catch_all=d.get("catch_all", ""),
            outputs=_outputs(targets.get("outputs")),
            grafana=_grafana(targets.get("grafana", {})),
            datadog=self.datadog_settings(targets),
            slos=slo_build.defaults(self, d.get("slos")),
            field_locs={
                "prometheus.version": self.loc("targets", "prometheus", "version"),
                "alertmanager.version": self.loc("targets", "alertmanager", "version"),
                "alertmanager.smtp.auth_username": self.loc("targets", "alertmanager", "smtp", "auth_username"),
                "prometheus.query_offset": self.loc("targets", "prometheus", "query_offset"),
                "runbooks": self.loc("runbooks"),
                "catch_all": self.loc("catch_all"),
                "datadog": self.loc("targets", "datadog", key=True),
                "datadog.evaluation_delay": self.loc("targets", "datadog", "evaluation_delay"),
                "datadog.renotify_interval": self.loc("targets", "datadog", "renotify_interval"),
            },
        )
        severities = {k: self.severity(k, v, ("severities", k)) for k, v in d.get("severities", {}).items()}
        contacts = {k: self.contact(k, v, ("contacts", k)) for k, v in d.get("contacts", {}).items()}
        self.shared_intervals = self.time_intervals(d.get("time_intervals", {}), None)
        return settings, severities, contacts

    def time_intervals(self, d: dict, sid: str | None) -> dict[str, model.TimeInterval]:
        out = {}
        for name, body in d.items():
            specs = []
            for i, spec in enumerate(body if isinstance(body, list) else [body]):
                at = ("time_intervals", name) + ((i,) if isinstance(body, list) else ())
                try:
                    specs.append(time_intervals.parse_spec(spec))
                except time_intervals.IntervalError as exc:
                    self.diags.append(error("MC480", f"time interval {name!r}: {exc}",
                                            self.loc(*at, *exc.field.split(".")),
                                            "see \"Active hours\" in the README for the accepted forms"))
            out[name] = model.TimeInterval(name, tuple(specs), self.loc("time_intervals", name, key=True), sid)
        return out

    def datadog_settings(self, targets: dict) -> model.DatadogSettings:
        outputs = _outputs(targets.get("outputs"))
        if outputs is not None and "datadog" not in outputs:
            return model.DatadogSettings()  # turned off, whatever its settings say
        if "datadog" not in targets and outputs is None:
            return model.DatadogSettings()
        dd = targets.get("datadog", {})
        delay = self.duration(dd.get("evaluation_delay"), "targets", "datadog", "evaluation_delay")
        renotify = self.duration(dd.get("renotify_interval"), "targets", "datadog", "renotify_interval")
        default = model.DatadogSettings()
        return model.DatadogSettings(
            enabled=True,
            namespace=dd.get("namespace", default.namespace),
            counter_suffix=dd.get("counter_suffix", default.counter_suffix),
            histogram_buckets_as_distributions=dd.get("histogram_buckets_as_distributions", False),
            collect_counters_with_distributions=dd.get("collect_counters_with_distributions", False),
            evaluation_delay_ms=delay, renotify_interval_ms=renotify,
            check_interval_ms=self.duration(dd.get("check_interval"), "targets", "datadog",
                                            "check_interval") or default.check_interval_ms,
            pending=dd.get("pending", default.pending),
            scrape_labels=tuple(dd.get("scrape_labels", ())),
            configured=tuple((key, self.loc("targets", "datadog", "configured", i))
                             for i, key in enumerate(dd.get("configured", ()))),
        )

    def severity(self, sid: str, d: dict, path: tuple, service: str | None = None) -> model.Severity:
        return model.Severity(
            id=sid, priority=d["priority"], meaning=d["meaning"],
            respond_within_ms=self.duration(d.get("respond_within"), *path, "respond_within"),
            sla=d.get("sla", ""), page=d.get("page", False), postmortem=d.get("postmortem", False),
            loc=self.loc(*path, key=True), service=service,
        )

    def contact(self, cid: str, d: dict, path: tuple, service: str | None = None) -> model.Contact:
        webhook = d.get("webhook", "")
        return model.Contact(
            id=cid, loc=self.loc(*path, key=True), service=service,
            escalates_to_loc=self.loc(*path, "escalates_to") if "escalates_to" in d else None,
            webhook_loc=self.loc(*path, "webhook") if "webhook" in d else None,
            receives_alerts=d.get("receives_alerts", True),
            webhook="" if isinstance(webhook, dict) else webhook,
            webhook_secret=isinstance(webhook, dict),
            escalates_to=self.escalations(d.get("escalates_to"), (*path, "escalates_to")),
            **{k: d.get(k, "") for k in ("name", "role", "rotation", "email", "slack", "pagerduty",
                                           "opsgenie", "notes")},
        )

    def escalations(self, value: Any, path: tuple) -> tuple[model.Escalation, ...]:
        """`escalates_to: lead` (every paging level), or per level `{P0: lead}` /
        `{P0: {to: lead, after: 15m}}`."""
        if not value:
            return ()
        if isinstance(value, str):
            return (model.Escalation(value, self.loc(*path)),)
        out = []
        for level, rule in value.items():
            if isinstance(rule, str):
                out.append(model.Escalation(rule, self.loc(*path, level), level))
            else:
                out.append(model.Escalation(rule["to"], self.loc(*path, level, "to"), level,
                                            self.duration(rule.get("after"), *path, level, "after")))
        return tuple(out)

    # --- services -----------------------------------------------------------------------------
    def service_part(self) -> ServicePart:
        d = self.doc.data
        sid = d["service"]
        doc = self.doc
        part = ServicePart(sid, doc.file, doc.loc(("service",)))
        part.fields = {k: (d[k], doc.loc((k,)), doc.loc((k,), key=True)) for k in SERVICE_FIELDS if k in d}
        part.lists = {k: d[k] for k in SERVICE_LISTS if k in d}
        part.contacts = {k: self.contact(k, v, ("contacts", k), sid) for k, v in d.get("contacts", {}).items()}
        builders = {
            "metrics": self.metric, "recording_rules": self.recording_rule, "alerts": self.alert,
            "procedures": self.procedure, "checklists": self.checklist, "dashboards": self.dashboard,
            "slos": lambda sid, name, body, path: slo_build.slo(self, sid, name, body, path),
        }
        for section, build in builders.items():
            built = {}
            for name, body in d.get(section, {}).items():
                entity = build(sid, name, body, (section, name))
                if entity is not None:
                    built[name] = entity
            part.entities[section] = built
        alerts = part.entities["alerts"]
        part.entities["datadog_only"] = {k: alerts.pop(k) for k in list(alerts)
                                         if isinstance(alerts[k], model.DatadogOnlyAlert)}
        part.entities["severities"] = {
            k: self.severity(k, v, ("severities", k), sid) for k, v in d.get("severities", {}).items()
        }
        part.time_intervals = self.time_intervals(d.get("time_intervals", {}), sid)
        return part

    def metric(self, sid: str, name: str, d: dict, path: tuple) -> model.Metric:
        return model.Metric(
            service=sid, name=name, type=d["type"], help=d["help"], loc=self.loc(*path, key=True),
            unit=d.get("unit", ""), labels=tuple(d.get("labels", ())), baseline=d.get("baseline", ""),
            target=d.get("target", ""), exporter=d.get("exporter", ""),
            source_name=d.get("source_name", ""), datadog=d.get("datadog", ""),
            buckets=tuple(sorted(float(x) for x in d.get("buckets", ()))),
            label_values=tuple((k, tuple(str(v) for v in vs))
                               for k, vs in sorted(d.get("label_values", {}).items())),
            inferred=d.get("inferred", False),
        )

    def recording_rule(self, sid: str, name: str, d: dict, path: tuple) -> model.RecordingRule | None:
        # `rules:` lists several rules recording the name; otherwise `expr`/`labels` is the one.
        if ("rules" in d) == ("expr" in d) or ("rules" in d and "labels" in d):
            self.diags.append(error(
                "MC108", f"recording rule {name!r} needs `expr` (one rule) or `rules` (several), "
                "not both" if "rules" in d else f"recording rule {name!r} has no `expr`",
                self.loc(*path, key=True),
                "`rules:` lists each rule's `expr` and `labels`; without it write `expr:`"))
            return None
        bodies = [(r, (*path, "rules", i)) for i, r in enumerate(d["rules"])] if "rules" in d \
            else [(d, path)]
        defs = []
        for body, at in bodies:
            expr = self.expression(body["expr"], *at, "expr")
            if expr is not None:
                defs.append(model.RecordingDefinition(expr, self.loc(*at, key=at is path),
                                                      tuple(sorted(body.get("labels", {}).items()))))
        if len(defs) < len(bodies):
            return None
        return model.RecordingRule(
            service=sid, name=name, expr=defs[0].expr, help=d["help"], loc=self.loc(*path, key=True),
            unit=d.get("unit", ""), labels=defs[0].labels,
            baseline=d.get("baseline", ""), target=d.get("target", ""),
            source_name=d.get("source_name", ""), more=tuple(defs[1:]),
        )

    def alert(self, sid: str, name: str, d: dict, path: tuple
              ) -> model.Alert | model.DatadogOnlyAlert | None:
        if d.get("kind") == "datadog-only":
            return self.datadog_only(sid, name, d, path)
        expr = self.expression(d["expr"], *path, "expr")
        for_ms = self.duration(d.get("for", "0s"), *path, "for")
        keep = self.duration(d.get("keep_firing_for"), *path, "keep_firing_for")
        examples = []
        pending = d.get("examples") == "pending"
        for kind in ("fires", "quiet"):
            raw = None if pending else d.get("examples", {}).get(kind)
            if raw is None:
                continue
            items = raw if isinstance(raw, list) else [raw]
            for i, ex in enumerate(items):
                epath = (*path, "examples", kind) + ((i,) if isinstance(raw, list) else ())
                examples.append(model.Example(
                    fires=kind == "fires",
                    series=tuple(ex["series"].items()),
                    loc=self.loc(*epath),
                    interval_ms=self.duration(ex.get("interval"), *epath, "interval"),
                    at_ms=None if time_intervals.is_wall_clock(ex.get("at"))
                    else self.duration(ex.get("at"), *epath, "at"),
                    at_time=ex["at"] if time_intervals.is_wall_clock(ex.get("at")) else "",
                    starts_ms=self.duration(ex.get("starts"), *epath, "starts"),
                    queries=tuple((q, _query_result(r)) for q, r in sorted(ex.get("queries", {}).items())),
                    labels=tuple(sorted(ex.get("labels", {}).items())),
                    value=ex.get("value"),
                    comment=ex.get("comment", ""),
                    series_locs=tuple((self.loc(*epath, "series", k, key=True),
                                       self.loc(*epath, "series", k)) for k in ex["series"]),
                    datadog_differs=ex.get("datadog_differs", False),
                    differs_loc=self.loc(*epath, "datadog_differs") if "datadog_differs" in ex else None,
                ))
        if expr is None or for_ms is None:
            return None
        locs = {f: self.loc(*path, f) for f in d}
        locs["name"] = self.loc(*path, key=True)
        for f in ("query", "reason", "warning", "differs"):
            if f in d.get("datadog", {}):
                locs[f"datadog.{f}"] = self.loc(*path, "datadog", f)
        for f in ("notify",):
            for i, _ in enumerate(d.get(f, ())):
                locs[f"{f}.{i}"] = self.loc(*path, f, i)
        return model.Alert(
            service=sid, name=name, expr=expr, severity=d["severity"], summary=d["summary"],
            loc=self.loc(*path, key=True), for_ms=for_ms, keep_firing_for_ms=keep,
            notify=tuple(d.get("notify", ())), description=d.get("description", ""),
            condition=d.get("condition", ""), procedure=d.get("procedure", ""),
            dashboard=d.get("dashboard", ""), labels=tuple(sorted(d.get("labels", {}).items())),
            examples=tuple(examples), field_locs=locs, targets=tuple(d.get("targets", ())),
            datadog=_datadog_alert(d["datadog"]) if "datadog" in d else None,
            active_during=tuple(d.get("active_during", ())), muted_during=tuple(d.get("muted_during", ())),
            suppressed_by=self.suppressions(sid, d.get("suppressed_by"), (*path, "suppressed_by")),
            notifies="notify" not in d or bool(d["notify"]),
            locate_text=_FieldAt(self.doc, path),
            alertname=d.get("alertname", ""), runbook_url=d.get("runbook_url", ""),
            annotations=tuple(sorted(d.get("annotations", {}).items())), examples_pending=pending,
            imported=d.get("imported", False),
        )

    def datadog_only(self, sid: str, name: str, d: dict, path: tuple) -> model.DatadogOnlyAlert:
        dd = d["datadog"]
        locs = {f: self.loc(*path, f) for f in d}
        locs["name"] = self.loc(*path, key=True)
        for i, _ in enumerate(d.get("notify", ())):
            locs[f"notify.{i}"] = self.loc(*path, "notify", i)
        return model.DatadogOnlyAlert(
            service=sid, name=name, type=dd["type"], query=dd["query"], severity=d["severity"],
            summary=d["summary"], loc=self.loc(*path, key=True), message=dd.get("message", ""),
            thresholds=tuple(sorted((k, float(v)) for k, v in dd.get("thresholds", {}).items())),
            options=dict(dd.get("options", {})), tags=tuple(dd.get("tags", ())),
            notify=tuple(d.get("notify", ())), description=d.get("description", ""),
            procedure=d.get("procedure", ""), runbook_url=d.get("runbook_url", ""), field_locs=locs,
        )

    def suppressions(self, sid: str, value: Any, path: tuple) -> tuple[model.Suppression, ...]:
        if not value:
            return ()
        items = value if isinstance(value, list) else [value]
        return tuple(model.Suppression(s["alert"] if "/" in s["alert"] else f"{sid}/{s['alert']}",
                                       self.loc(*path, *((i,) if isinstance(value, list) else ()), "alert"),
                                       tuple(s.get("equal", ())))
                     for i, s in enumerate(items))

    def procedure(self, sid: str, pid: str, d: dict, path: tuple) -> model.Procedure:
        return model.Procedure(
            service=sid, id=pid, title=d["title"], loc=self.loc(*path, key=True),
            summary=d.get("summary", ""), trigger=d.get("trigger", ""),
            notify=tuple(d.get("notify", ())),
            notify_locs=tuple(self.loc(*path, "notify", i) for i in range(len(d.get("notify", ())))),
            detection=_steps(d.get("detection", [])), mitigation=_steps(d.get("mitigation", [])),
            recovery=_steps(d.get("recovery", [])), verification=_steps(d.get("verification", [])),
            escalation=_steps(d.get("escalation", [])),
            queries=tuple(model.Code(q["code"], q.get("title", ""), q.get("language", ""))
                          for q in d.get("queries", [])),
            links=tuple(model.Link(x["title"], x["url"]) for x in d.get("links", [])),
        )

    def checklist(self, sid: str, cid: str, d: dict, path: tuple) -> model.Checklist:
        return model.Checklist(sid, cid, d["title"], tuple(d["items"]), self.loc(*path, key=True),
                               d.get("when", ""))

    def dashboard(self, sid: str, did: str, d: dict, path: tuple) -> model.Dashboard | None:
        rows = []
        ok = True
        for r, row in enumerate(d["rows"]):
            panels = []
            for p, panel in enumerate(row["panels"]):
                ppath = (*path, "rows", r, "panels", p)
                queries = []
                for q, query in enumerate(panel["queries"]):
                    expr = self.expression(query["expr"], *ppath, "queries", q, "expr", variables=True)
                    if expr is None:
                        ok = False
                        continue
                    queries.append(model.Query(expr, query.get("legend", "")))
                panels.append(model.Panel(
                    title=panel["title"], type=panel.get("type", "timeseries"), queries=tuple(queries),
                    loc=self.loc(*ppath), unit=panel.get("unit", ""),
                    description=panel.get("description", ""), alerts=tuple(panel.get("alerts", ())),
                    alert_locs=tuple(self.loc(*ppath, "alerts", i) for i in range(len(panel.get("alerts", ())))),
                    unit_loc=self.loc(*ppath, "unit") if "unit" in panel else None,
                ))
            rows.append(model.Row(row["title"], tuple(panels)))
        if not ok:
            return None
        return model.Dashboard(sid, did, d["title"], tuple(rows), self.loc(*path, key=True),
                               d.get("description", ""), tuple(d.get("tags", ())), d.get("time", ""))


def _alertmanager(am: dict) -> model.AlertmanagerSettings:
    smtp = am.get("smtp", {})
    default = model.AlertmanagerSettings()
    return model.AlertmanagerSettings(
        secrets_dir=am.get("secrets_dir", default.secrets_dir).rstrip("/") or "/",
        url=am.get("url", "").rstrip("/"),
        smtp_smarthost=smtp.get("smarthost", default.smtp_smarthost),
        smtp_from=smtp.get("from", default.smtp_from),
        smtp_auth_username=smtp.get("auth_username", ""),
        smtp_require_tls=smtp.get("require_tls"),
    )


def _datadog_alert(d: dict) -> model.DatadogAlert:
    warning = d.get("warning")
    return model.DatadogAlert(query=d.get("query", ""), reason=d.get("reason", ""),
                              warning=None if warning is None else float(warning),
                              differs=d.get("differs", ""))


def _grafana(gf: dict) -> model.GrafanaSettings:
    default = model.GrafanaSettings()
    return model.GrafanaSettings(
        url=gf.get("url", default.url).rstrip("/"),
        datasource_uid=gf.get("datasource_uid", default.datasource_uid),
        dashboards_path=gf.get("dashboards_path", default.dashboards_path).rstrip("/") or "/",
    )


def _outputs(value: list | None) -> tuple[str, ...] | None:
    """targets.outputs, with `grafana` standing for both of its outputs."""
    if value is None:
        return None
    out = set(value)
    if "grafana" in out:
        out |= {"grafana-dashboards", "grafana-alerting"}
    return tuple(sorted(out - {"grafana"}))


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _steps(items: list) -> tuple[model.Step, ...]:
    return tuple(model.Step(s) if isinstance(s, str) else
                 model.Step(s["text"], s.get("language", ""), s.get("code", "")) for s in items)


def _query_result(raw: Any) -> tuple:
    """An example's stated query result: a number (one sample without labels) or samples."""
    if isinstance(raw, (int, float)):
        return (((), float(raw)),)
    return tuple((tuple(sorted(s.get("labels", {}).items())), float(s["value"])) for s in raw)
