"""Diff stage: what changed between two compiled outputs, per object, in words fit for a PR."""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from compiler.dialects.base import number
from compiler.dialects.promql import to_promql
from compiler.expr.parse import ParseError, parse
from compiler.expr.thresholds import threshold
from compiler.limits import MAX_NESTING
from compiler.manifest import MANIFEST
from compiler.yaml_source import plain_data

Files = dict[str, bytes]


@dataclass(frozen=True)
class Change:
    """One object added, removed or changed; `fields` says what changed, old -> new."""

    kind: str    # alert, record, file
    id: str
    status: str  # added | removed | changed
    fields: tuple[str, ...] = ()

    def line(self) -> str:
        if self.status != "changed":
            return f"{self.kind} {self.id}: {self.status}"
        return f"{self.kind} {self.id}: {', '.join(self.fields)}"


def _rules(files: Files) -> tuple[dict[tuple[str, str], dict], set[str]]:
    """Every Prometheus rule by (kind, service/name), and the rule files that do not have the
    shape moncat writes (an output directory is read back as found: anything may be in it)."""
    out: dict[tuple[str, str], dict] = {}
    unreadable: set[str] = set()
    for path, data in files.items():
        if not (path.startswith("prometheus/") and path.endswith(".rules.yaml")):
            continue
        doc = _parse(path, data)
        service = _service_of(path.split("/")[-1].removesuffix(".rules.yaml"), doc)
        rules = _rule_list(doc)
        if rules is None:
            unreadable.add(path)
            continue
        for rule in rules:
            kind = "alert" if "alert" in rule else "record"
            out[(kind, f"{service}/{rule[kind]}")] = rule
    return out, unreadable


def _service_of(stem: str, doc: Any) -> str:
    """The service of a rule file: its name, but for an SLO's file, `<service>.slo-<slo>`, whose
    one group is `<service>.slo.<slo>` (its rules are the service's, as the manifest says)."""
    for group in (doc.get("groups") if isinstance(doc, dict) else None) or []:
        name = group.get("name") if isinstance(group, dict) else None
        if isinstance(name, str):
            for service, _, slo in (name.partition(".slo."), name.rpartition(".slo.")):
                if slo and stem == f"{service}.slo-{slo}":
                    return service
    return stem


def _rule_list(doc: Any) -> list[dict] | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        return None
    rules = []
    for group in doc["groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("rules", []), list):
            return None
        for rule in group.get("rules", []):
            names = [rule.get(k) for k in ("alert", "record")] if isinstance(rule, dict) else []
            if sum(isinstance(n, str) for n in names) != 1:
                return None
            rules.append(rule)
    return rules


def _threshold_and_shape(expr: Any) -> tuple[str | None, str]:
    if not isinstance(expr, str):
        return None, _show(expr)
    try:
        tree = parse(expr)
    except ParseError:
        return None, expr
    found = threshold(tree)
    if found is None:
        return None, expr
    return number(found.value), f"{to_promql(found.query)} {found.op} <threshold>"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _rule_fields(old: dict, new: dict) -> tuple[str, ...]:
    fields: list[str] = []
    if old.get("expr") != new.get("expr"):
        t_old, shape_old = _threshold_and_shape(old.get("expr", ""))
        t_new, shape_new = _threshold_and_shape(new.get("expr", ""))
        if shape_old == shape_new and t_old != t_new:
            fields.append(f"threshold {t_old} -> {t_new}")
        else:
            fields.append(f"expr {_show(old.get('expr'))} -> {_show(new.get('expr'))}")
    for key in ("for", "keep_firing_for"):
        if old.get(key) != new.get(key):
            fields.append(f"{key} {old.get(key) or '0s'} -> {new.get(key) or '0s'}")
    for section in ("labels", "annotations"):
        a, b = old.get(section) or {}, new.get(section) or {}
        if not (isinstance(a, dict) and isinstance(b, dict)):
            if a != b:
                fields.append(f"{section} {_show(a)} -> {_show(b)}")
            continue
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                fields.append(f"{section[:-1]} {k} {_show(a.get(k))} -> {_show(b.get(k))}")
    return tuple(fields)


def leaf_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += leaf_paths(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += leaf_paths(x, y, f"{prefix}[{i}]")
        return out
    return [] if a == b else [prefix or "(whole file)"]


def _parse(path: str, data: bytes) -> Any:
    """A generated file's data, or None when it does not parse: YAML through the loader's
    limits (an output directory may hold an alias bomb), JSON no deeper than they allow."""
    try:
        text = data.decode("utf-8")
        if path.endswith(".json"):
            value = json.loads(text)
            return value if within_nesting(value) else None
        if path.endswith((".yaml", ".yml")):
            return plain_data(text)
    except (ValueError, RecursionError):
        pass
    return None


def within_nesting(value: Any, limit: int = MAX_NESTING) -> bool:
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def _alertmanager(files: Files) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Each alert's receivers (from the generated routing tests) and each receiver's config."""
    tests = _parse("t.yaml", files.get("alertmanager/routes.tests.yaml", b""))
    config = _parse("c.yaml", files.get("alertmanager/alertmanager.yaml", b""))
    return (_named(tests, "tests", lambda t: isinstance(t.get("receivers"), list), "receivers"),
            _named(config, "receivers", lambda r: True, None))


def _named(doc: Any, section: str, fits: Any, field: str | None) -> dict[str, Any]:
    """`{item["name"]: item[field] or the item}` for the well-formed items of doc[section]."""
    items = doc.get(section) if isinstance(doc, dict) else None
    out: dict[str, Any] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("name"), str) and fits(item):
            out[item["name"]] = item[field] if field else item
    return out


def _routing_changes(old: Files, new: Files) -> list[Change]:
    """Who an alert reaches, and what each receiver sends to: Alertmanager's configuration in
    the words of the catalog (an added or removed alert is already said above)."""
    out: list[Change] = []
    (old_routes, old_receivers), (new_routes, new_receivers) = _alertmanager(old), _alertmanager(new)
    for name in sorted(set(old_routes) & set(new_routes)):
        if old_routes[name] != new_routes[name]:
            out.append(Change("route", name, "changed", (
                f"receivers {', '.join(map(str, old_routes[name]))} -> "
                f"{', '.join(map(str, new_routes[name]))}",)))
    for name in sorted(set(old_receivers) | set(new_receivers)):
        if name not in old_receivers:
            out.append(Change("receiver", name, "added"))
        elif name not in new_receivers:
            out.append(Change("receiver", name, "removed"))
        elif old_receivers[name] != new_receivers[name]:
            out.append(Change("receiver", name, "changed",
                              tuple(leaf_paths(old_receivers[name], new_receivers[name]))))
    return out


def changes(old: Files, new: Files) -> list[Change]:
    """Semantic changes from `old` to `new`: rules by name and field, other files by path."""
    out: list[Change] = []
    (old_rules, old_bad), (new_rules, new_bad) = _rules(old), _rules(new)
    for path in sorted(old_bad | new_bad):
        if old.get(path) != new.get(path):
            out.append(Change("file", path, "changed", ("not a rule file as moncat writes it",)))
    for key in sorted(set(old_rules) | set(new_rules)):
        kind, rid = key
        if key not in old_rules:
            out.append(Change(kind, rid, "added"))
        elif key not in new_rules:
            out.append(Change(kind, rid, "removed"))
        elif old_rules[key] != new_rules[key]:
            out.append(Change(kind, rid, "changed", _rule_fields(old_rules[key], new_rules[key])))
    out += _routing_changes(old, new)
    for path in sorted(set(old) | set(new)):
        # Alertmanager's files are described route by route and receiver by receiver above;
        # runbook pages and the site render the catalog's own text, whose diff the PR shows.
        if path.startswith(("alertmanager/", "runbooks/", "site/")):
            continue
        # Rule files are described rule by rule above; generated tests and the manifest follow
        # from the catalog and would only repeat it.
        if path == MANIFEST or path.startswith("prometheus/") or path.startswith("kubernetes/"):
            continue
        # Grafana's rule groups hold the same alerts (the compile checks that they agree); its
        # contact points and policy tree follow the contacts and severities, whose effect the
        # Alertmanager routing lines above already describe.
        if path.startswith("grafana/alerting/"):
            continue
        if path not in old:
            out.append(Change("file", path, "added"))
        elif path not in new:
            out.append(Change("file", path, "removed"))
        elif old[path] != new[path]:
            paths = leaf_paths(_parse(path, old[path]), _parse(path, new[path]))
            # Threshold lines (Grafana) and markers (Datadog) follow the alerts' thresholds,
            # described with the alerts.
            drawn = {"grafana/dashboards/": ".thresholds.steps[", "datadog/dashboards/": ".markers["}
            follows = next((mark for prefix, mark in drawn.items() if path.startswith(prefix)), None)
            if follows:
                paths = [p for p in paths if follows not in p]
                if not paths:
                    continue
            shown = tuple(paths[:5]) + ((f"and {len(paths) - 5} more",) if len(paths) > 5 else ())
            out.append(Change("file", path, "changed", shown or ("content",)))
    return out


def render_text(found: list[Change]) -> str:
    if not found:
        return "no changes\n"
    return "".join(c.line() + "\n" for c in found)


def render_markdown(found: list[Change], title: str) -> str:
    if not found:
        return f"### {title}\n\nNo changes to generated monitoring configuration.\n"
    rows = [f"### {title}", "", f"{len(found)} object(s) changed.", "", "| object | change |", "|---|---|"]
    for c in found:
        what = c.status if c.status != "changed" else "; ".join(c.fields)
        rows.append(f"| {c.kind} `{c.id}` | {what.replace('|', chr(92) + '|')} |")
    return "\n".join(rows) + "\n"


def unified(old: Files, new: Files, old_label: str, new_label: str) -> str:
    out: list[str] = []
    for path in sorted(set(old) | set(new)):
        a = old.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        b = new.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        if a != b:
            out.extend(difflib.unified_diff(a, b, f"{old_label}/{path}", f"{new_label}/{path}"))
    return "".join(out)
