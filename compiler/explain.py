"""Report: one alert side by side on every target (`moncat explain`): the Prometheus rule, the
Grafana rule, the Datadog monitor, each example's verdict per target, who each target notifies,
and the detection delay. Built from a compile's artifacts and the Datadog evaluator; it prints
nothing itself."""
from __future__ import annotations

import difflib
import re
from typing import Any

import yaml

from compiler.checks.detection_delay import detection_delay
from compiler.checks.detection_delay import explain as explain_delay
from compiler.dialects.datadog_names import naming
from compiler.durations import format_ms
from compiler.examples import timing
from compiler.model import Alert, Catalog, Example
from compiler.pipeline import Result
from compiler.targets.datadog.conditions import condition
from compiler.targets.datadog.verdicts import verdicts
from compiler.targets.routing.delivery import hours as delivery_hours
from compiler.targets.runbooks.hours import describe


def find(catalog: Catalog, name: str) -> list[Alert]:
    """The alerts `name` designates: `service/Alert`, or an alert name in any service."""
    alerts = [a for s in catalog.services for a in s.alerts.values()]
    return [a for a in alerts if name in (a.id, a.name)]


def not_found(catalog: Catalog, name: str) -> str:
    """Why `name` designates no single alert, with the closest names when it designates none."""
    if find(catalog, name):
        return "several services have it: write service/Alert"
    # Suggested in the form asked: `service/Alert` or the bare name.
    names = sorted({a.id if "/" in name else a.name for s in catalog.services for a in s.alerts.values()})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return "no such alert" + (f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "")


def _objects(result: Result, alert: Alert) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for art in result.artifacts:
        for obj in art.objects:
            if obj.id == alert.id or obj.id.startswith(alert.id + "."):
                out.setdefault(f"{obj.target}/{obj.kind}", []).append(obj.content)
    return out


def _matches(matchers: list, labels: dict[str, str]) -> bool:
    ops = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b,
           "=~": lambda a, b: re.fullmatch(b, a) is not None,
           "!~": lambda a, b: re.fullmatch(b, a) is None}
    return all(ops[op](labels.get(k, ""), v) for k, op, v in matchers)


def _route(node: dict, labels: dict[str, str], receiver: str) -> list[str]:
    """The receivers an Alertmanager-style policy tree (Grafana's) picks for these labels."""
    receiver = node.get("receiver") or receiver
    found: list[str] = []
    for child in node.get("routes") or []:
        if _matches(child.get("object_matchers") or [], labels):
            found += _route(child, labels, receiver)
            if not child.get("continue"):
                break
    return found or [receiver]


def _grafana_receivers(result: Result, labels: dict[str, str]) -> list[str]:
    for path, body in result.files.items():
        if path.endswith("_policies.yaml"):
            doc = yaml.safe_load(body)
            policies = (doc or {}).get("policies") or []
            if policies:
                return list(dict.fromkeys(_route(policies[0], labels, policies[0].get("receiver", ""))))
    return []


def explain(result: Result, alert: Alert) -> str:
    """The alert on every target, as text."""
    catalog = result.catalog
    assert catalog is not None
    objects = _objects(result, alert)
    lines = [f"{alert.id}  ({alert.severity}: {alert.summary})", ""]
    rule = (objects.get("prometheus/alert") or [None])[0]
    lines += ["Prometheus rule:", _block(yaml.safe_dump(rule, sort_keys=False, allow_unicode=True)
                                         if rule else "not compiled for Prometheus")]
    lines += ["Grafana rule:", _block(_grafana(objects.get("grafana/alert_rule") or []))]
    lines += ["Datadog monitor:", _block(_datadog(objects.get("datadog/monitor") or [], alert))]
    lines += ["Examples (verdict per target):"]
    lines += ["  " + line for line in _examples(catalog, alert, bool(objects.get("grafana/alert_rule")))]
    lines += ["", "Routing:"]
    route = (objects.get("amtool/route_test") or [{}])[0]
    labels = route.get("labels", {})
    lines.append(f"  Alertmanager: {', '.join(route.get('receivers', [])) or '-'}")
    lines.append(f"  Grafana:      {', '.join(_grafana_receivers(result, labels)) or '-'}")
    handles = sorted({h for m in objects.get("datadog/monitor") or []
                      for h in re.findall(r"(?<!\S)@\S+", m.get("message", ""))})
    lines.append(f"  Datadog:      {' '.join(handles) or '-'}")
    # The receivers above are told only inside the alert's hours (a route's active or mute
    # intervals, a Datadog downtime): said here, or the routing reads as round the clock.
    active, muted = delivery_hours(catalog.service(alert.service), alert)
    for when, names in (("only during", active), ("nobody during", muted)):
        lines += [f"  Notifies {when} {name}: {describe(catalog.time_intervals[name], 'en')}"
                  for name in names if name in catalog.time_intervals]
    delay = detection_delay(catalog, alert)
    stated = f"; its condition states {format_ms(delay.stated.total_ms)}" if delay.stated else ""
    lines += ["", f"Detection delay: up to {format_ms(delay.total_ms)} ({explain_delay(delay)}){stated}"]
    return "\n".join(lines) + "\n"


def _block(text: str) -> str:
    return "\n".join("  " + line for line in text.rstrip().splitlines()) + "\n"


def _grafana(rules: list[dict]) -> str:
    if not rules:
        return "not compiled for Grafana"
    rule = rules[0]
    out = []
    for step in rule.get("data", []):
        model = step.get("model", {})
        if "expr" in model:
            out.append(f"{step['refId']}: {model['expr']}")
        elif model.get("type") == "reduce":
            out.append(f"{step['refId']}: {model.get('reducer')} of {model.get('expression')}")
        elif model.get("type") == "threshold":
            ev = model["conditions"][0]["evaluator"]
            out.append(f"{step['refId']}: {model.get('expression')} {ev['type']} "
                       f"{', '.join(str(p) for p in ev['params'])}")
        elif model.get("type") == "math":
            out.append(f"{step['refId']}: {model.get('expression')}")
    out.append(f"for: {rule.get('for', '0s')}, condition: {rule.get('condition')}")
    return "\n".join(out)


def _datadog(monitors: list[dict], alert: Alert) -> str:
    if not monitors:
        reason = alert.datadog.reason if alert.datadog and not alert.compiled_for("datadog") else ""
        return "not compiled for Datadog" + (f": {' '.join(reason.split())}" if reason else "")
    main = next(m for m in monitors if m["type"] != "query alert" or len(monitors) == 1)
    out = [f"{main['type']}: {main['query']}"]
    out += [f"  {m['name']}: {m['query']}" for m in monitors if m is not main]
    notes = re.findall(r"^Differs from Prometheus: (.*)$", main.get("message", ""), re.M)
    out += [f"differs from Prometheus: {n}" for n in notes]
    return "\n".join(out)


def _stated(example: Example) -> str:
    """How an example says its Datadog verdict differs (`datadog_differs`), if it does."""
    if isinstance(example.datadog_differs, str):
        return f" (stated: {' '.join(example.datadog_differs.split())})"
    return " (stated)" if example.datadog_differs else ""


def _examples(catalog: Catalog, alert: Alert, grafana: bool) -> list[str]:
    if not alert.examples:
        return ["(none)"]
    dd: dict[int, str] = {}
    if catalog.settings.datadog.enabled and alert.compiled_for("datadog"):
        names = naming(catalog, catalog.service(alert.service))
        cond, _ = condition(catalog, alert, names)
        if cond is not None:
            for i, v in enumerate(verdicts(catalog, alert, cond, names)):
                if v.datadog is None:
                    dd[i] = f"not evaluated ({v.problem})"
                else:
                    said = f"alerts ({', '.join(v.groups)})" if v.datadog else "quiet"
                    dd[i] = said + ("" if not v.differs else "  <- differs" + _stated(v.example))
    out = []
    for i, ex in enumerate(alert.examples):
        want = "fires" if ex.fires else "quiet"
        where = f"{ex.loc.file}:{ex.loc.line}"
        out.append(f"#{i + 1} {want:5s} at {format_ms(timing(catalog, alert, ex).eval_ms)}  ({where})")
        out.append(f"   Prometheus: {want} (promtool checks it: `moncat test`)")
        out.append(f"   Grafana:    {want} (same query, threshold and for: MC450)" if grafana
                   else "   Grafana:    not compiled for Grafana")
        out.append(f"   Datadog:    {dd.get(i, 'not compiled for Datadog')}")
    return out
