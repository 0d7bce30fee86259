"""Test helpers: Grafana's official JSON Schemas (../shared/schemas/grafana, from
grafana-foundation-sdk) and validation of generated Grafana files against them."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema
import yaml

from conftest import SHARED

SCHEMAS = SHARED / "schemas" / "grafana"


@lru_cache(maxsize=None)
def schema_file(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text())


@lru_cache(maxsize=None)
def validator(name: str, definition: str | None = None) -> jsonschema.Draft7Validator:
    """A validator for a schema file, or for one of its definitions (refs resolve in the file)."""
    schema = dict(schema_file(name))
    if definition is not None:
        schema["$ref"] = f"#/definitions/{definition}"
    return jsonschema.Draft7Validator(schema)


def has_definition(name: str, definition: str) -> bool:
    return (SCHEMAS / f"{name}.jsonschema.json").exists() and \
        definition in schema_file(name).get("definitions", {})


def errors(where: str, name: str, definition: str | None, data: Any) -> list[str]:
    return [f"{where}{e.json_path[1:]}: {e.message[:200]}"
            for e in validator(name, definition).iter_errors(data)]


def dashboard_errors(where: str, dashboard: dict[str, Any]) -> list[str]:
    """The dashboard against dashboard.jsonschema.json, and each panel's options and custom
    field config against its panel type's schema file (Options, FieldConfig)."""
    out = errors(where, "dashboard", None, dashboard)
    for panel in dashboard.get("panels", []):
        kind = panel["type"]
        if kind == "row":
            continue
        at = f"{where}/panel {panel['id']}"
        if not (SCHEMAS / f"{kind}.jsonschema.json").exists():
            out.append(f"{at}: no schema file for panel type {kind}")
            continue
        if has_definition(kind, "Options"):
            if "options" not in panel:
                out.append(f"{at}: no options")
            else:
                out += errors(f"{at}/options", kind, "Options", panel["options"])
        if has_definition(kind, "FieldConfig"):
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
            if custom is None:
                out.append(f"{at}: no fieldConfig.defaults.custom")
            else:
                out += errors(f"{at}/fieldConfig.defaults.custom", kind, "FieldConfig", custom)
        for target in panel.get("targets", []):
            out += errors(f"{at}/target {target.get('refId')}", "prometheus", None, target)
    return out


EXPR_TYPES = {"reduce": "TypeReduce", "threshold": "TypeThreshold", "math": "TypeMath"}


def rule_errors(where: str, rule: dict[str, Any]) -> list[str]:
    """A rule against alerting.jsonschema.json's Rule, and each query's model against its own
    schema: the PromQL query against prometheus.jsonschema.json, expressions against expr's."""
    out = errors(where, "alerting", "Rule", rule)
    for query in rule.get("data", []):
        model = query["model"]
        at = f"{where}/data {query['refId']}"
        if query["datasourceUid"] == "__expr__":
            out += errors(at, "expr", EXPR_TYPES.get(model.get("type"), "expr"), model)
        else:
            out += errors(at, "prometheus", None, model)
    return out


def alerting_file_errors(where: str, text: str) -> list[str]:
    """Every object of an alerting provisioning file: rules (Rule), contact point integrations
    (ContactPoint, with the contact point's name) and notification policies
    (NotificationPolicy). The file's envelopes (apiVersion, orgId, group name and folder) are
    Grafana's provisioning format, which the schema does not describe."""
    doc = yaml.safe_load(text)
    out: list[str] = []
    for group in doc.get("groups", []):
        for rule in group["rules"]:
            out += rule_errors(f"{where}/{rule['uid']}", rule)
    for point in doc.get("contactPoints", []):
        for receiver in point["receivers"]:
            out += errors(f"{where}/{point['name']}", "alerting", "ContactPoint",
                          {"name": point["name"], **receiver})
    for policy in doc.get("policies", []):
        out += errors(f"{where}/policy", "alerting", "NotificationPolicy", policy)
    return out


class Generated:
    """The Prometheus and Grafana targets' output for a catalog, rendered: what the Grafana
    tests read, independent of the other targets."""

    def __init__(self, root) -> None:
        from compiler import pipeline
        from compiler.checks import cross_target
        from compiler.render import render
        from compiler.targets import grafana, prometheus

        result = pipeline.analyse(root)
        # Other targets' checks are theirs to test: the catalog must link, nothing more.
        assert result.catalog is not None, [str(d) for d in result.report.sorted()]
        self.catalog = result.catalog
        self.artifacts = []
        diags = []
        for target in (prometheus.build, grafana.build):
            artifacts, found = target(self.catalog)
            self.artifacts += artifacts
            diags += found
        diags += cross_target.check(self.catalog, self.artifacts)
        assert diags == [], [str(d) for d in diags]
        self.files = {a.path: render(a) for a in self.artifacts}
