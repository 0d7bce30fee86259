"""Benchmark input: synthetic catalogs that exercise every target, as real catalogs do.

`write_catalog(root, alerts=N)` writes services of 50 alerts, 5 dashboards of 10 panels each
(every panel plots one alert's query and names it, so thresholds are drawn), Datadog and Grafana
enabled. `write_mixin_sized(root)` writes one catalog the size of kubernetes-mixin (65 alerts,
71 recording rules, 23 dashboards with 254 panels). Both are deterministic.
"""
from __future__ import annotations

import json
from pathlib import Path

ALERTS_PER_SERVICE = 50
DASHBOARDS_PER_SERVICE = 5

SETTINGS = """version: 1
runbooks: {base_url: https://runbooks.example.com}
targets:
  prometheus: {version: "2.42", evaluation_interval: 1m}
  alertmanager: {version: "0.25"}
  grafana: {url: https://grafana.example.com}
  datadog: {renotify_interval: 1h}
severities:
  P1: {priority: 2, meaning: Failing, respond_within: 30m, page: true}
  P2: {priority: 3, meaning: Degraded, respond_within: 4h}
contacts:
  oncall: {name: On-call, email: oncall@example.com, slack: "#oncall"}
"""


def _alert(svc: str, a: int) -> tuple[list[str], str, str]:
    """The catalog lines of alert `a` of service `svc`, and its panel query and unit. Every
    three alerts share a metric family (a ratio, a per-route rate and a gauge), as in a real
    service where a few alerts watch each exporter."""
    kind = a % 3
    s = f"{svc}_g{a // 3}"
    if kind == 0:
        expr = (f'sum(rate({s}_requests_total{{code="500"}}[5m])) / '
                f"sum(rate({s}_requests_total[5m])) > 0.0{1 + a % 9}")
        panel = (f'sum(rate({s}_requests_total{{code="500"}}[$__rate_interval])) / '
                 f"sum(rate({s}_requests_total[$__rate_interval]))")
        fires = {f'{s}_requests_total{{code="500",route="/"}}': "0+10x30",
                 f'{s}_requests_total{{code="200",route="/"}}': "0+90x30"}
        quiet = {f'{s}_requests_total{{code="500",route="/"}}': "0+0x30",
                 f'{s}_requests_total{{code="200",route="/"}}': "0+90x30"}
        extra, unit, for_ = [], "percentunit", ""
    elif kind == 1:
        expr = f'sum by (route) (rate({s}_requests_total{{code="500"}}[5m])) > {a}'
        panel = f'sum by (route) (rate({s}_requests_total{{code="500"}}[$__rate_interval]))'
        fires = {f'{s}_requests_total{{code="500",route="/r{a}"}}': f"0+{(a + 1) * 120}x30"}
        quiet = {f'{s}_requests_total{{code="500",route="/r{a}"}}': "0+0x30"}
        extra, unit, for_ = [f"        labels: {{route: /r{a}}}"], "reqps", ""
    else:
        expr = f"max by (queue) ({s}_queue_depth) > {a * 10}"
        panel = f"max by (queue) ({s}_queue_depth)"
        fires = {f'{s}_queue_depth{{queue="q{a}"}}': f"{a * 10 + 5}x30"}
        quiet = {f'{s}_queue_depth{{queue="q{a}"}}': "0x30"}
        extra, unit, for_ = [f"        labels: {{queue: q{a}}}"], "short", f"    for: {5 + a % 10}m"
    lines = [f"  Alert{a:03d}:", f"    expr: '{expr}'"]
    lines += [for_] if for_ else []
    lines += [f"    severity: P{1 + a % 2}",
              f"    summary: Alert {a} of service {svc} is firing",
              f"    description: Synthetic alert number {a}.",
              "    procedure: respond",
              f"    dashboard: {svc}-d{a // (ALERTS_PER_SERVICE // DASHBOARDS_PER_SERVICE)}",
              "    examples:",
              "      fires:",
              "        series: " + json.dumps(fires), *extra,
              "      quiet:",
              "        series: " + json.dumps(quiet)]
    return lines, panel, unit


def service_yaml(i: int, alerts: int = ALERTS_PER_SERVICE, dashboards: int = DASHBOARDS_PER_SERVICE) -> str:
    s = f"svc{i:04d}"
    lines = [f"service: {s}", f"team: team{i % 7}", "owner: oncall", "metrics:"]
    for g in range(-(-alerts // 3)):
        lines += [f"  {s}_g{g}_requests_total: {{type: counter, help: Requests., labels: [code, route]}}",
                  f"  {s}_g{g}_queue_depth: {{type: gauge, help: Queue depth., labels: [queue]}}"]
    lines.append("alerts:")
    panels: list[tuple[int, str, str]] = []
    for a in range(alerts):
        alert_lines, query, unit = _alert(s, a)
        lines += alert_lines
        panels.append((a, query, unit))
    lines += ["procedures:", "  respond:", "    title: Respond", "    recovery: [Fix it.]", "dashboards:"]
    per = max(1, alerts // dashboards)
    for d in range(dashboards):
        lines += [f"  {s}-d{d}:", f"    title: {s} board {d}", "    rows:", f"      - title: Row {d}",
                  "        panels:"]
        for a, query, unit in panels[d * per:(d + 1) * per]:
            lines += [f"          - title: Alert {a}", "            type: timeseries", f"            unit: {unit}",
                      f"            alerts: [Alert{a:03d}]", "            queries:",
                      f"              - expr: '{query}'"]
    return "\n".join(lines) + "\n"


def write_catalog(root: Path, alerts: int) -> None:
    """Services of 50 alerts and 5 dashboards each, every target enabled."""
    root.mkdir(parents=True)
    (root / "moncat.yaml").write_text(SETTINGS)
    for i in range(max(1, alerts // ALERTS_PER_SERVICE)):
        (root / f"svc{i:04d}.yaml").write_text(service_yaml(i))


def write_mixin_sized(root: Path) -> None:
    """One catalog the size of kubernetes-mixin: 65 alerts, 71 recording rules, 23 dashboards
    holding 254 panels (the mixin's own counts), spread over 5 services like its groups."""
    root.mkdir(parents=True)
    (root / "moncat.yaml").write_text(SETTINGS)
    alerts = [13, 13, 13, 13, 13]
    dashboards = [5, 5, 5, 4, 4]
    rules = [15, 14, 14, 14, 14]
    panels_total = 254
    panel_budget = [panels_total // 23] * 23
    for k in range(panels_total - sum(panel_budget)):
        panel_budget[k] += 1
    d_index = 0
    for i in range(5):
        text = service_yaml(i, alerts=alerts[i], dashboards=dashboards[i])
        head, _, tail = text.partition("alerts:\n")
        rec = ["recording_rules:"]
        for r in range(rules[i]):
            rec += [f"  svc{i:04d}:requests:rate{r + 1}m:",
                    f"    expr: sum by (code) (rate(svc{i:04d}_g{r % 4}_requests_total[{r + 1}m]))",
                    "    help: Request rate."]
        # Pad the dashboards with extra panels (plotting recording rules) up to the mixin's count.
        extra_lines: list[str] = []
        for d in range(dashboards[i]):
            have = max(1, alerts[i] // dashboards[i])
            extra = panel_budget[d_index] - have
            d_index += 1
            extra_lines.append((d, extra))
        body = tail
        for d, extra in extra_lines:
            marker = f"      - title: Row {d}\n        panels:\n"
            add = "".join(f"          - title: Rate {d}.{p}\n            type: timeseries\n"
                          f"            unit: reqps\n            queries:\n"
                          f"              - expr: 'svc{i:04d}:requests:rate{1 + p % rules[i]}m'\n"
                          for p in range(max(0, extra)))
            body = body.replace(marker, marker + add, 1)
        (root / f"svc{i:04d}.yaml").write_text(head + "\n".join(rec) + "\nalerts:\n" + body)
