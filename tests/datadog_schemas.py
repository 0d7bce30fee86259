"""Test helpers: Datadog's official OpenAPI document (../shared/schemas/datadog) and request-body
validators for its component schemas."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml
from openapi_schema_validator import OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from conftest import SHARED

OPENAPI = SHARED / "schemas" / "datadog" / "openapi-v1.yaml"


@lru_cache(maxsize=1)
def _registry() -> Registry:
    doc = yaml.safe_load(OPENAPI.read_text())
    return Registry().with_resource("urn:datadog", Resource.from_contents(doc, DRAFT4))


def write_validators(*names: str) -> dict[str, Any]:
    """OpenAPI 3.0 request-body validators, by schema name (Monitor, Dashboard, Downtime...)."""
    return {name: OAS30WriteValidator({"$ref": f"urn:datadog#/components/schemas/{name}"},
                                      registry=_registry())
            for name in names}
