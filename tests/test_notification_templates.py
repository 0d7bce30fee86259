"""Notification content: the Alertmanager template file and Grafana's notification templates are
generated from the catalog (summary, severity, the labels that tell instances apart, runbook and
dashboard links, the service's language), every receiver field uses them, and Alertmanager's own
template engine (`amtool template render`) renders them."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from compiler import pipeline
from conftest import CATALOG, ROOT, compile_into
from grafana_schemas import errors

DISPATCH = ROOT / "tests" / "dispatch" / "catalog"


@pytest.fixture(scope="module")
def dispatch(tmp_path_factory) -> Path:
    return compile_into(DISPATCH, tmp_path_factory.mktemp("templates") / "out")


def _render(out: Path, template: str, alerts: list[dict], tmp_path: Path) -> str:
    common = {k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)}
    data = {"receiver": "x", "status": "firing", "alerts": alerts, "groupLabels": {},
            "commonLabels": common, "commonAnnotations": {}, "externalURL": "http://am.example.test"}
    (tmp_path / "data.json").write_text(json.dumps(data))
    proc = subprocess.run(["amtool", "template", "render", f"--template.glob={out / 'alertmanager' / 'moncat.tmpl'}",
                           f"--template.text={template}", f"--template.data={tmp_path / 'data.json'}"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _alert(name: str, city: str, summary: str, service: str = "dispatch") -> dict:
    return {"status": "firing", "labels": {"alertname": name, "service": service, "team": service,
                                           "severity": "P1", "city": city},
            "annotations": {"summary": summary,
                            "runbook_url": f"https://runbooks.example.test/{service}/alerts/{name}.html",
                            "dashboard_url": "https://grafana.example.test/d/x"},
            "startsAt": "2024-01-08T05:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
            "fingerprint": city}


def test_the_templates_render_what_the_catalog_says_in_the_services_language(dispatch, tmp_path) -> None:
    alerts = [_alert("NoCourier", "jakarta", "Tidak ada kurir di jakarta"),
              _alert("NoCourier", "bandung", "Tidak ada kurir di bandung")]
    title = _render(dispatch, '{{ template "moncat.title" . }}', alerts, tmp_path)
    assert title.strip() == "[MENYALA 2 alert] P1 NoCourier: Tidak ada kurir di jakarta"
    text = _render(dispatch, '{{ template "moncat.text" . }}', alerts, tmp_path)
    assert "- Tidak ada kurir di bandung (severity P1) city=bandung" in text
    assert "Runbook: https://runbooks.example.test/dispatch/alerts/NoCourier.html" in text
    assert "Dashboard: https://grafana.example.test/d/x" in text
    assert "alertname=" not in text and "service=" not in text
    english = _render(dispatch, '{{ template "moncat.title" . }}',
                      [_alert("Down", "x", "It is down", service="other")], tmp_path)
    assert english.strip() == "[FIRING] P1 Down: It is down"


def test_every_receiver_field_uses_the_templates_and_amtool_accepts_them(dispatch) -> None:
    config = yaml.safe_load((dispatch / "alertmanager" / "alertmanager.yaml").read_text())
    assert config["templates"] == ["moncat.tmpl"]
    oncall = next(r for r in config["receivers"] if r["name"] == "dispatch-oncall")
    assert oncall["email_configs"][0]["headers"]["Subject"] == '{{ template "moncat.subject" . }}'
    proc = subprocess.run(["amtool", "check-config", "alertmanager.yaml"], cwd=dispatch / "alertmanager",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "1 templates" in proc.stdout, proc.stdout + proc.stderr


def test_the_seed_receivers_use_the_templates(tmp_path) -> None:
    result = pipeline.compile_catalog(CATALOG)
    config = yaml.safe_load(result.files["alertmanager/alertmanager.yaml"])
    kinds = {"slack_configs": ("title", "text"), "pagerduty_configs": ("description",),
             "opsgenie_configs": ("message", "description")}
    seen = set()
    for receiver in config["receivers"]:
        for kind, fields in kinds.items():
            for entry in receiver.get(kind, []):
                for field in fields:
                    assert entry[field].startswith('{{ template "moncat.'), (receiver["name"], field)
                    seen.add(kind)
    assert seen == set(kinds)


def test_grafana_gets_the_same_templates_and_its_contact_points_use_them(dispatch) -> None:
    doc = yaml.safe_load((dispatch / "grafana" / "alerting" / "_templates.yaml").read_text())
    template = doc["templates"][0]
    assert template["template"] == (dispatch / "alertmanager" / "moncat.tmpl").read_text()
    assert errors("template", "alerting", "NotificationTemplate",
                  {"name": template["name"], "template": template["template"]}) == []
    points = yaml.safe_load((dispatch / "grafana" / "alerting" / "_contact-points.yaml").read_text())
    email = next(r for p in points["contactPoints"] for r in p["receivers"] if r["type"] == "email")
    assert email["settings"]["subject"] == '{{ template "moncat.subject" . }}'
