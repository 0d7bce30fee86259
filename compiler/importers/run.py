"""Import pipeline: the only module that knows the import's stage order. Sources read into the
source model, then catalog documents, examples synthesised and proven, and the files written:
a fresh catalog (--out) or new files merged into an existing one (--into)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from compiler import pipeline, writer
from compiler.diagnostics import Diagnostic, Loc, Report, Severity, error
from compiler.durations import parse_ms
from compiler.example_labels import present_names, series_labels
from compiler.expr.metric_names import result_names
from compiler.expr.parse import ParseError, parse
from compiler.expr.timing import lookback_ms
from compiler.expr.gotemplate import uses_value
from compiler.importers import dashboards as dash_docs
from compiler.importers import datadog_boards
from compiler.importers import monitors as monitor_docs
from compiler.importers.catalog import Documents, Existing, Options, build
from compiler.importers.emit import Noted, to_yaml
from compiler.importers.metrics import Inference
from compiler.importers.proof import Probe, prove
from compiler.importers.source import ImportSet
from compiler.importers.synthesis import inline, plan
from compiler.targets import links
from compiler.targets.datadog.conditions import NO_FORM

HEADER = "Imported by `moncat import`"
# A template that reads the metric name: `$labels` or `.Labels` whole, or `__name__`.
_READS_NAME = re.compile(r"\$labels\b(?!\.)|\.Labels\b(?!\.)|__name__")
SECTIONS = ("metrics", "recording_rules", "alerts", "dashboards")


@dataclass
class Stats:
    alerts: int = 0
    records: int = 0
    metrics: int = 0
    dashboards: int = 0
    datadog_only: int = 0
    synthesised: int = 0
    proven: int = 0
    pending: int = 0

    def line(self) -> str:
        return (f"{self.alerts} alerts ({self.datadog_only} datadog-only), {self.records} recording "
                f"rules, {self.metrics} metrics, {self.dashboards} dashboards; examples: "
                f"{self.synthesised} synthesised, {self.proven} proven by promtool, "
                f"{self.pending} pending")


@dataclass
class Outcome:
    files: dict[str, bytes] = field(default_factory=dict)
    # path -> (service, its document, header): to write a file again after a change.
    documents: dict[str, tuple[str, dict, str]] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    stats: Stats = field(default_factory=Stats)
    notes: list[str] = field(default_factory=list)


def existing_catalog(root: Path) -> tuple[Existing | None, list[Diagnostic]]:
    """The names an existing catalog defines; refused when it does not validate."""
    result = pipeline.analyse(root)
    if result.report.has_errors() or result.catalog is None:
        return None, result.report.sorted()
    cat = result.catalog
    ex = Existing(fresh=False, severities=set(cat.severities), contacts=set(cat.contacts),
                  distributions=cat.settings.datadog.histogram_buckets_as_distributions)
    for svc in cat.services:
        ex.metrics |= set(svc.metrics)
        ex.severities |= set(svc.severities)
        ex.names[svc.id] = {"alerts": {k: v.loc for k, v in (svc.alerts | svc.datadog_only).items()},
                            "recording_rules": {k: v.loc for k, v in svc.recording_rules.items()},
                            "dashboards": {k: v.loc for k, v in svc.dashboards.items()},
                            "metrics": {k: v.loc for k, v in svc.metrics.items()},
                            "files": {svc.loc.file: svc.loc}}
        for d in svc.dashboards.values():
            ex.dashboard_uids[links.dashboard_uid(d)] = (f"{svc.id}/{d.id}", d.loc)
    return ex, []


def convert(imported: ImportSet, existing: Existing, opts: Options, examples: bool = True) -> Outcome:
    """The catalog files for `imported` (paths relative to the catalog root)."""
    out = Outcome(notes=list(imported.notes))
    out.report.extend(imported.diagnostics)
    inference = Inference()
    docs = build(imported, existing, opts, inference)
    boards, distributions = datadog_boards.add(imported.datadog_boards, docs, inference, existing)
    dash_docs.add(imported.dashboards + boards, docs, inference)
    monitor_docs.add(imported, docs, inference, existing, opts)
    out.report.extend(docs.diagnostics)
    if out.report.has_errors():
        return out
    _examples(docs, opts, out.stats, examples)
    metrics = inference.metrics(existing.metrics)
    for m in metrics.values():
        for sid in m.services:
            body = {"type": m.type, "help": m.help, "inferred": True}
            if m.labels:
                body["labels"] = list(m.labels)
            docs.services.setdefault(sid, {}).setdefault("metrics", {})[m.name] = \
                Noted(body, f"first read at {m.origin}")
    for pending in docs.alerts:
        docs.services.setdefault(pending.service, {}).setdefault("alerts", {})[pending.key] = \
            Noted(pending.body, f"from {pending.rule.origin}")
    out.stats.alerts += len(docs.alerts)
    out.stats.records = sum(len(s.get("recording_rules", {})) for s in docs.services.values())
    out.stats.metrics = sum(len(s.get("metrics", {})) for s in docs.services.values())
    out.stats.dashboards = sum(len(s.get("dashboards", {})) for s in docs.services.values())
    out.stats.datadog_only = sum(1 for s in docs.services.values()
                                 for a in s.get("alerts", {}).values()
                                 if isinstance(a, Noted) and a.value.get("kind") == "datadog-only")
    out.stats.alerts += out.stats.datadog_only
    collisions = _collisions(docs, existing)
    if collisions:
        out.report.extend(collisions)
        return out
    for sid in sorted(docs.services):
        path = _service_path(sid, existing)
        data, header = _service_file(sid, docs, existing, opts)
        out.documents[path] = (sid, data, header)
        out.files[path] = to_yaml(data, header).encode()
    if existing.fresh:
        datadog = {"histogram_buckets_as_distributions": True} if distributions else \
            {} if imported.monitors or imported.datadog_boards else None
        out.files["moncat.yaml"] = _settings(docs, opts, datadog,
                                             bool(docs.alerts) or out.stats.datadog_only > 0).encode()
    return out


def _siblings(docs: Documents) -> dict[int, list[int]]:
    """For each alert (by index), the other alerts of its service with the same rule name."""
    names: dict[tuple[str, str], list[int]] = {}
    for n, pending in enumerate(docs.alerts):
        name = pending.body.get("alertname") or pending.key
        names.setdefault((pending.service, name), []).append(n)
    return {n: [m for m in group if m != n] for group in names.values() for n in group}


def _examples(docs: Documents, opts: Options, stats: Stats, enabled: bool) -> None:
    probes: list[tuple[int, Probe]] = []
    siblings = _siblings(docs)
    trees: dict[int, object] = {}
    for n, pending in enumerate(docs.alerts):
        try:
            trees[n] = parse(pending.body["expr"])
        except ParseError:  # reported when the catalog is validated
            pass
    recorded: dict = {}
    single: dict = {}  # names one rule records, without labels: inlined for the search
    for rule in _record_rules(docs):
        try:
            tree = parse(rule["expr"])
        except ParseError:
            continue
        single[rule["record"]] = None if rule["record"] in recorded or rule.get("labels") else tree
        recorded.setdefault(rule["record"], tree)
    single = {k: v for k, v in single.items() if v is not None}
    trees = {n: inline(t, single) for n, t in trees.items()}
    for n, pending in enumerate(docs.alerts):
        body = pending.body
        found = None
        others = siblings.get(n, [])
        tree = trees.get(n)
        if enabled and tree is not None and all(m in trees for m in others):
            found = plan(tree, _for_ms(body), opts.interval_ms, tuple(trees[m] for m in others),
                         lookback_ms(tree, recorded.get))
        if found is None:
            body["examples"] = "pending"
            continue
        probes.append((n, Probe(body["expr"], _for_ms(body), _rule_labels(pending), found.fires,
                                found.quiet, tuple((docs.alerts[m].body["expr"], _for_ms(docs.alerts[m].body),
                                                    _rule_labels(docs.alerts[m])) for m in others))))
    stats.synthesised += len(probes)
    proven = prove([p for _, p in probes], _record_rules(docs), opts.interval_ms) if probes else {}
    for i, (n, probe) in enumerate(probes):
        body = docs.alerts[n].body
        result = proven.get(i)
        if result is None:
            body["examples"] = "pending"
            continue
        stats.proven += 1
        fires: dict = {"series": dict(probe.fires.series)}
        labels = dict(result.labels)
        texts = (body.get("summary", ""), body.get("description", ""), *body.get("annotations", {}).values())
        if any(_READS_NAME.search(t) for t in texts) and \
                _name_left_open(body["expr"], probe.fires.series, recorded, result.name):
            labels["__name__"] = result.name  # what `$labels` holds, for the generated test
        if labels:
            fires["labels"] = labels
        if any(uses_value(t) for t in (body.get("summary", ""), body.get("description", ""),
                                       *body.get("annotations", {}).values())):
            fires["value"] = result.value
        body["examples"] = {"fires": fires, "quiet": {"series": dict(probe.quiet.series)}}
    stats.pending = len(docs.alerts) - stats.proven


def _name_left_open(expr: str, series, recorded: dict, seen: str) -> bool:
    """Whether the example's series leave open the metric name the alert's result keeps (as the
    test generator reads them), so that the example must state the one promtool saw."""
    present = [series_labels(s) for s, _ in series]
    names = result_names(parse(expr), lambda sel: present_names(sel, present, recorded.get))
    return names != frozenset({seen})


def _rule_labels(pending) -> tuple[tuple[str, str], ...]:
    """The labels the compiled rule carries besides moncat's service and team."""
    labels = dict(pending.body.get("labels", {}))
    labels["severity"] = pending.body["severity"]
    return tuple(sorted(labels.items()))


def _for_ms(body: dict) -> int:
    return parse_ms(body["for"]) if "for" in body else 0


def _record_rules(docs: Documents) -> list[dict]:
    out = []
    for service in docs.services.values():
        for name, noted in service.get("recording_rules", {}).items():
            body = noted.value if isinstance(noted, Noted) else noted
            for d in body.get("rules", [body]):
                rule = {"record": name, "expr": d["expr"]}
                if d.get("labels"):
                    rule["labels"] = d["labels"]
                out.append(rule)
    return out


def _collisions(docs: Documents, existing: Existing) -> list[Diagnostic]:
    """Names the catalog already has, located where the catalog defines them."""
    out = []
    for sid, sections in sorted(docs.services.items()):
        have = existing.names.get(sid, {})
        for section in ("alerts", "recording_rules", "dashboards"):
            for name, noted in sections.get(section, {}).items():
                if name in have.get(section, {}):
                    where = noted.comment if isinstance(noted, Noted) else ""
                    out.append(error("MC810", f"{section[:-1].replace('_', ' ')} {sid}/{name} "
                                     f"(imported {where}) is already in the catalog, defined here",
                                     have[section][name],
                                     "rename or remove one of them, or import into another "
                                     "service with --service"))
        for name, noted in sections.get("dashboards", {}).items():
            uid = links.uid_of_dashboard(sid, name)
            owner, loc = existing.dashboard_uids.get(uid, (f"{sid}/{name}", None))
            if loc is not None and owner != f"{sid}/{name}":
                where = noted.comment if isinstance(noted, Noted) else ""
                out.append(error("MC810", f"dashboard {sid}/{name} (imported {where}) would get the "
                                 f"Grafana uid {uid!r} of {owner}, defined here", loc,
                                 "import into another service with --service, or rename one of them"))
    return out


def _service_path(sid: str, existing: Existing) -> str:
    return f"{sid}/{sid}.yaml" if sid not in existing.names else f"{sid}/imported.yaml"


def _service_file(sid: str, docs: Documents, existing: Existing, opts: Options) -> tuple[dict, str]:
    sections = docs.services[sid]
    data: dict = {"service": sid}
    if sid not in existing.names:
        data["owner"] = opts.owner
    if not existing.fresh:
        extra = {k: v for k, v in docs.severities.items()}
        if extra:
            data["severities"] = dict(sorted(extra.items()))
    for section in SECTIONS:
        if sections.get(section):
            items = sections[section]
            data[section] = dict(sorted(items.items())) if section in ("metrics", "recording_rules") \
                else items
    for section, items in sections.items():
        if section not in SECTIONS and items:
            data[section] = items
    sources = sorted(docs.sources.get(sid, ()))
    header = (f"{HEADER} from {', '.join(sources)}.\n"
              "Each object names the source line it came from. Review `inferred: true` metrics, "
              "`procedure: pending`\nand `examples: pending` (listed by `moncat validate` as warnings).")
    return data, header


def _settings(docs: Documents, opts: Options, datadog: dict | None, alerts: bool) -> str:
    severities = dict(sorted(docs.severities.items())) or {
        opts.default_severity: {"priority": 3, "meaning": "Imported alerts"}}
    targets: dict = {"prometheus": {"version": "2.42", "evaluation_interval": "1m"}}
    if datadog is not None:
        targets["datadog"] = datadog
    data = {
        "version": 1,
        "runbooks": Noted({"base_url": "https://runbooks.example.com"},
                          "Where the generated runbook pages will be published: set yours."),
        "targets": targets,
        "severities": severities,
        "contacts": Noted({opts.owner: {"name": f"{opts.owner} (imported: set its real channels)",
                                        "email": f"{opts.owner}@example.com",
                                        **({} if alerts else {"receives_alerts": False})}},
                          "Every imported service notifies this contact (its `owner:`). Give it real "
                          "channels, or add contacts\nand name them in alerts' `notify:`."),
    }
    return to_yaml(data, f"{HEADER}: the catalog's root settings.")


def write_out(out_dir: Path, files: dict[str, bytes]) -> Diagnostic | None:
    """Replace `out_dir` with a fresh imported catalog; refuses a directory it did not write."""
    settings = out_dir / "moncat.yaml"
    if out_dir.is_dir() and any(out_dir.iterdir()):
        ours = settings.is_file() and settings.read_text("utf-8", "replace").startswith(f"# {HEADER}")
        if not ours:
            return error("MC811", f"{out_dir} is not empty and holds no catalog `moncat import` "
                         "wrote", None, "choose an empty --out, or merge with --into CATALOG")
    writer.write(out_dir, files)
    return None


def write_into(root: Path, outcome: Outcome) -> list[Diagnostic]:
    """Add the imported files to an existing catalog; nothing stays written if the merged
    catalog does not validate. A catalog that compiles for Datadog refuses alerts without an
    exact Datadog form (MC701): imported alerts that have none are compiled for Prometheus and
    Grafana only (`targets:`), as a note says."""
    files = outcome.files
    taken = [p for p in files if (root / p).exists()]
    if taken:
        return [error("MC810", f"{root / p} already exists", Loc(p),
                      "move it away or import into another service with --service") for p in taken]
    with writer.provisional(root, files) as written:
        # As `moncat validate` checks it: every target generated and every example's generated
        # test passed by promtool (the imported ones, their annotations rendered, included).
        result = pipeline.validate_catalog(root)
        no_form = [d for d in result.report.sorted() if d.code == NO_FORM and d.loc and d.loc.file in files]
        if no_form and _exclude_datadog(outcome, no_form):
            written.write()  # the same paths, those alerts marked
            result = pipeline.validate_catalog(root)
        if result.report.has_errors():
            written.remove()
            # Only what refuses the merge: the catalog's own warnings and notes are not news here.
            return [d for d in result.report.sorted() if d.severity is Severity.ERROR]
    return []


def _exclude_datadog(outcome: Outcome, diags: list[Diagnostic]) -> bool:
    """Marks the alerts the diagnostics point into `targets: [prometheus, grafana]`."""
    from compiler.loader import load_yaml

    changed = 0
    for path in sorted({d.loc.file for d in diags if d.loc}):
        sid, data, header = outcome.documents[path]
        docs, _ = load_yaml(path, outcome.files[path].decode())
        alerts = data.get("alerts", {})
        starts = sorted((docs[0].loc(("alerts", key), key=True).line, key) for key in alerts)
        for d in diags:
            if d.loc and d.loc.file == path:
                key = next((k for line, k in reversed(starts) if line <= d.loc.line), None)
                body = alerts[key].value if key and isinstance(alerts[key], Noted) else None
                if body is not None and "targets" not in body and "kind" not in body:
                    body["targets"] = ["prometheus", "grafana"]
                    changed += 1
        outcome.files[path] = to_yaml(data, header).encode()
    if changed:
        outcome.notes.append(f"{changed} imported alert(s) have no exact Datadog form: compiled for "
                             "Prometheus and Grafana only (`targets:`)")
    return changed > 0
