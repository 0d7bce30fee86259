"""Grafana target, provisioning: the dashboard provider file, one provider (and folder) per
service, reading the service's directory of generated dashboards."""
from __future__ import annotations

import re

from typing import Any

from compiler.model import Catalog, Service
from compiler.targets.grafana.alerting import ORG_ID, folder_title


def provider(catalog: Catalog, service: Service) -> dict[str, Any]:
    return {
        "name": f"moncat-{service.id}",
        "orgId": ORG_ID,
        "type": "file",
        # The folder is found by title: the alert rules' folder is the same one.
        "folder": folder_title(service),
        "disableDeletion": True,
        "allowUiUpdates": False,
        "updateIntervalSeconds": 30,
        "options": {"path": f"{catalog.settings.grafana.dashboards_path}/{service.id}",
                    "foldersFromFilesStructure": False},
    }


def dashboards_file(catalog: Catalog) -> dict[str, Any] | None:
    providers = [provider(catalog, s) for s in catalog.services if s.dashboards]
    return {"apiVersion": 1, "providers": providers} if providers else None


_OUR_PLACEHOLDER = re.compile(r"\$\{MONCAT_[A-Z0-9_]+\}")


def escape_env(data: Any) -> Any:
    """Grafana expands `$NAME` and `${NAME}` from its environment in every provisioning file;
    `$$` is a literal `$`. Every `$` we write is literal (`{{ $labels.x }}`, a Mongo `$lt`) except
    our own `${MONCAT_...}` secret placeholders, which Grafana is meant to expand."""
    if isinstance(data, str):
        parts = _OUR_PLACEHOLDER.split(data)
        found = _OUR_PLACEHOLDER.findall(data)
        out = parts[0].replace("$", "$$")
        for placeholder, rest in zip(found, parts[1:]):
            out += placeholder + rest.replace("$", "$$")
        return out
    if isinstance(data, dict):
        return {k: escape_env(v) for k, v in data.items()}
    if isinstance(data, list):
        return [escape_env(v) for v in data]
    return data


def unescape_env(data: Any) -> Any:
    """The inverse of `escape_env` for code that sends a file's content through the API, where
    no environment expansion happens."""
    if isinstance(data, str):
        return data.replace("$$", "$")
    if isinstance(data, dict):
        return {k: unescape_env(v) for k, v in data.items()}
    if isinstance(data, list):
        return [unescape_env(v) for v in data]
    return data
