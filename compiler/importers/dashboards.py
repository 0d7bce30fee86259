"""Import stage, dashboards: imported Grafana dashboards as catalog dashboards."""
from __future__ import annotations

from compiler.importers.catalog import Documents
from compiler.importers.metrics import Inference
from compiler.importers.source import ImportSet


def add(imported: ImportSet, docs: Documents, inference: Inference) -> None:
    """Catalog dashboards for `imported.dashboards`, in their services."""
