"""Import stage, catalog documents: the source model as catalog service documents (plain data
with source comments), and the root settings document a fresh catalog needs."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.durations import DurationError, parse_ms
from compiler.expr.parse import ParseError, parse
from compiler.importers.emit import Noted
from compiler.importers.metrics import Inference
from compiler.importers.source import ImportSet, Rule

ALERT_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SEVERITY_ID = re.compile(r"[A-Za-z0-9_-]+")
OWN_ANNOTATIONS = ("summary", "description", "runbook_url")
# Labels moncat writes on every alert itself (from the service and the severity).
ROUTING = ("service", "severity")
PRIORITIES = {"critical": 1, "page": 1, "error": 2, "high": 2, "warning": 3, "medium": 3,
              "info": 4, "low": 4, "none": 5}


@dataclass
class Existing:
    """What the catalog being merged into already has (empty for a fresh catalog)."""

    metrics: set[str] = field(default_factory=set)
    severities: set[str] = field(default_factory=set)
    contacts: set[str] = field(default_factory=set)
    # service -> section -> id -> where the catalog defines it
    names: dict[str, dict[str, dict[str, Loc]]] = field(default_factory=dict)
    dashboard_uids: dict[str, tuple[str, Loc]] = field(default_factory=dict)  # uid -> service/id, where
    fresh: bool = True
    distributions: bool = False  # targets.datadog.histogram_buckets_as_distributions


@dataclass
class Options:
    owner: str = "oncall"
    default_severity: str = "warning"
    interval_ms: int = 60_000


@dataclass
class PendingAlert:
    """An alert document awaiting its examples."""

    service: str
    key: str
    rule: Rule
    body: dict


@dataclass
class Documents:
    services: dict[str, dict] = field(default_factory=dict)
    alerts: list[PendingAlert] = field(default_factory=list)
    severities: dict[str, Noted] = field(default_factory=dict)
    sources: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _where(origin) -> str:
    return f"from {origin}"


def _duration(rule: Rule, text: str, what: str, diags: list[Diagnostic]) -> str | None:
    if not text:
        return None
    try:
        return None if parse_ms(text) == 0 else text
    except DurationError as exc:
        diags.append(error("MC805", f"{rule.name}: `{what}: {text}` is not a duration ({exc})",
                           Loc(rule.origin.file, rule.origin.line), "fix the source rule"))
        return None


def _keys(rules: list[Rule]) -> dict[int, tuple[str, str]]:
    """Catalog key and Prometheus name of each alert rule (by index). A name several rules share
    gets the values of the labels that tell them apart (`KubeAPIErrorBudgetBurn_critical_1h`),
    and the shared name as `alertname`."""
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rules):
        by_name[r.name].append(i)
    out: dict[int, tuple[str, str]] = {}
    taken = {n for n, idx in by_name.items() if len(idx) == 1 and ALERT_KEY.fullmatch(n)}
    for name, idx in by_name.items():
        base = re.sub(r"[^A-Za-z0-9_]", "_", name)
        base = base if ALERT_KEY.fullmatch(base) else "_" + base
        if len(idx) == 1 and base == name:
            out[idx[0]] = (name, "")
            continue
        label_sets = [dict(rules[i].labels) for i in idx]
        differ = sorted({k for ls in label_sets for k in ls if len({x.get(k) for x in label_sets}) > 1})
        for n, i in enumerate(idx):
            words = [re.sub(r"[^A-Za-z0-9]", "", label_sets[n].get(k, "")) for k in differ]
            key = "_".join([base] + [w for w in words if w]) if len(idx) > 1 else base
            while key in taken:
                key = f"{key}_{n + 1}"
            taken.add(key)
            out[i] = (key, name)
    return out


def build(imported: ImportSet, existing: Existing, opts: Options, inference: Inference) -> Documents:
    docs = Documents()
    alerts = [r for r in imported.rules if r.kind == "alert"]
    records = [r for r in imported.rules if r.kind == "record"]
    for r in records:
        inference.record(r.name)
    for r in imported.rules:
        try:
            tree = parse(r.expr)
        except ParseError as exc:
            docs.diagnostics.append(error("MC806", f"{r.name}: PromQL syntax error: {exc.message}",
                                          Loc(r.origin.file, r.origin.line), "fix the source rule"))
            continue
        texts = tuple(v for k, v in r.annotations)
        inference.read(tree, r.origin, r.service, texts)
    by_service: dict[str, list[Rule]] = defaultdict(list)
    for r in alerts:
        by_service[r.service].append(r)
    for sid in sorted(by_service):
        group = by_service[sid]
        keys = _keys(group)
        for i, rule in enumerate(group):
            key, alertname = keys[i]
            body = _alert(rule, alertname, opts, existing, docs)
            if body is None:
                continue
            docs.alerts.append(PendingAlert(sid, key, rule, body))
            docs.sources[sid].add(rule.origin.file)
    recorded: dict[tuple[str, str], list[Rule]] = defaultdict(list)
    for r in records:
        recorded[(r.service, r.name)].append(r)
        docs.sources[r.service].add(r.origin.file)
    for (sid, name), defs in sorted(recorded.items()):
        section = docs.services.setdefault(sid, {}).setdefault("recording_rules", {})
        section[name] = _record(name, defs)
    return docs


def _alert(rule: Rule, alertname: str, opts: Options, existing: Existing, docs: Documents) -> dict | None:
    labels = dict(rule.labels)
    annotations = dict(rule.annotations)
    severity = labels.pop("severity", "") or opts.default_severity
    if not SEVERITY_ID.fullmatch(severity):
        docs.diagnostics.append(error("MC807", f"{rule.name}: severity {severity!r} is not a catalog "
                                      "severity id", Loc(rule.origin.file, rule.origin.line),
                                      "use letters, digits, '_' and '-' in the severity label"))
        return None
    if severity not in existing.severities and severity not in docs.severities:
        docs.severities[severity] = Noted({
            "priority": PRIORITIES.get(severity.lower(), 3),
            "meaning": f"Imported: the `severity: {severity}` of the source rules",
            **({"page": True} if PRIORITIES.get(severity.lower()) == 1 else {}),
        }, f"first used {_where(rule.origin)}")
    labels.pop("service", None)  # the alert's service is that label's value (rules.Grouping)
    body: dict = {"expr": rule.expr}
    if alertname:
        body["alertname"] = alertname
    for key, text in (("for", rule.for_), ("keep_firing_for", rule.keep_firing_for)):
        value = _duration(rule, text, key, docs.diagnostics)
        if value:
            body[key] = value
    body["severity"] = severity
    body["summary"] = annotations.pop("summary", "") or rule.name
    if annotations.get("description"):
        body["description"] = annotations.pop("description")
    annotations.pop("description", None)
    runbook = annotations.pop("runbook_url", "")
    if runbook:
        body["runbook_url"] = runbook
    else:
        body["procedure"] = "pending"
    if labels:
        body["labels"] = dict(sorted(labels.items()))
    if annotations:
        body["annotations"] = dict(sorted(annotations.items()))
    body["imported"] = True
    return body


def _record(name: str, defs: list[Rule]) -> Noted:
    where = ", ".join(str(d.origin) for d in defs)
    body: dict = {"help": f"Recorded by group {defs[0].group!r} (imported)."}
    if len(defs) == 1:
        body["expr"] = defs[0].expr
        if defs[0].labels:
            body["labels"] = dict(defs[0].labels)
    else:
        body["rules"] = [{"expr": d.expr, **({"labels": dict(d.labels)} if d.labels else {})} for d in defs]
    return Noted(body, f"from {where}")
