"""Import stage, reading Prometheus rules: rule files, PrometheusRule CRDs and Mimir/Cortex ruler
exports (`namespace: [groups]`, as the ruler's `GET /api/v1/rules` answers) into the source model."""
from __future__ import annotations

from typing import Any

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.importers.files import SERVICE_ID, Input, inputs, read_text, service_id
from compiler.importers.source import ImportSet, Origin, Rule
from compiler.loader import RawDocument, load_yaml

SUFFIXES = (".yml", ".yaml", ".json")


class Grouping:
    """Which catalog service each rule goes to: `--service`, else its `service` label, else its
    file (`file`), its group (`group`) or the value of `--service-label`."""

    def __init__(self, service: str | None = None, by: str = "file", label: str | None = None):
        self.service = service
        self.by = by
        self.label = label

    def of(self, item: Input, group: str, labels: dict[str, str], namespace: str | None) -> str:
        if self.service:
            return self.service
        # moncat writes the `service` label itself: a rule that has one belongs to that service.
        for key in ([self.label] if self.label else []) + ["service"]:
            if labels.get(key):
                return service_id(labels[key])
        if self.by == "group":
            return service_id(group)
        if namespace:
            return service_id(namespace)
        return service_id(item.relative.rsplit(".", 1)[0])


def _groups(doc: RawDocument) -> list[tuple[tuple, str | None]]:
    """(path of a `groups` list, ruler namespace) for each rule-group list in the document."""
    data = doc.data
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("groups"), list):
        return [(("groups",), data.get("namespace") if isinstance(data.get("namespace"), str) else None)]
    if data.get("kind") == "PrometheusRule" and isinstance(data.get("spec"), dict):
        return [(("spec", "groups"), None)]
    if data.get("kind") == "List" and isinstance(data.get("items"), list):
        return [(("items", i, "spec", "groups"), None) for i, item in enumerate(data["items"])
                if isinstance(item, dict) and item.get("kind") == "PrometheusRule"]
    if data and all(isinstance(k, str) and isinstance(v, list) for k, v in data.items()):
        return [((ns,), ns) for ns in data]  # a ruler export: namespace -> groups
    return []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple((str(k), _text(v)) for k, v in value.items())


def read_document(doc: RawDocument, item: Input, grouping: Grouping, out: ImportSet) -> int:
    """Rules of one YAML document into `out`; the number of rules found."""
    count = 0
    for gpath, namespace in _groups(doc):
        groups = doc.data_at(gpath)
        for g, group in enumerate(groups or []):
            if not isinstance(group, dict) or not isinstance(group.get("rules") or [], list):
                out.diagnostics.append(_bad(doc, (*gpath, g), "a rule group is a mapping with "
                                            "`name` and a list of `rules`"))
                continue
            name = _text(group.get("name"))
            for r, body in enumerate(group.get("rules") or []):
                path = (*gpath, g, "rules", r)
                rule = _rule(doc, path, body, item, name, grouping, namespace, out.diagnostics)
                if rule is not None:
                    out.rules.append(rule)
                    count += 1
    return count


def _rule(doc: RawDocument, path: tuple, body: Any, item: Input, group: str, grouping: Grouping,
          namespace: str | None, diags: list[Diagnostic]) -> Rule | None:
    if not isinstance(body, dict) or ("alert" in body) == ("record" in body) or "expr" not in body:
        diags.append(_bad(doc, path, "a rule has `alert:` or `record:`, and `expr:`"))
        return None
    kind = "alert" if "alert" in body else "record"
    loc = doc.loc(path)
    labels = _pairs(body.get("labels"))
    service = grouping.of(item, group, dict(labels), namespace)
    if not SERVICE_ID.fullmatch(service):
        diags.append(error("MC804", f"service id {service!r} (from the rule's labels) is not a "
                           "catalog id", Loc(item.shown, loc.line, loc.column),
                           "pass --service ID"))
        return None
    return Rule(
        kind=kind, name=_text(body[kind]), expr=_text(body["expr"]).strip(),
        origin=Origin(item.shown, loc.line), group=group, service=service,
        for_=_text(body.get("for")), keep_firing_for=_text(body.get("keep_firing_for")),
        labels=labels, annotations=_pairs(body.get("annotations")),
    )


def _bad(doc: RawDocument, path: tuple, what: str) -> Diagnostic:
    return error("MC803", f"not a Prometheus rule: {what}", doc.loc(path), "fix the source file")


def read(args: list, grouping: Grouping) -> ImportSet:
    """Every rule of the files and directories in `args`."""
    out = ImportSet()
    items, diags = inputs(args, SUFFIXES)
    out.diagnostics += diags
    for item in items:
        text, problem = read_text(item)
        if problem:
            out.diagnostics.append(problem)
            continue
        out.extend(read_text_rules(item, text or "", grouping))
    return out


def read_text_rules(item: Input, text: str, grouping: Grouping) -> ImportSet:
    """The rules of one file's text (also used for a mixin's evaluated output)."""
    out = ImportSet()
    docs, diags = load_yaml(item.shown, text)
    out.diagnostics += diags
    found = sum(read_document(doc, item, grouping, out) for doc in docs)
    if docs and not found and not out.diagnostics:
        out.notes.append(f"{item.shown}: no rules (skipped)")
    return out
