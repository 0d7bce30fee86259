"""Grafana target, provisioning: the dashboard provider file, one provider (and folder) per
service, reading the service's directory of generated dashboards."""
from __future__ import annotations

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

