"""Check after generation: every Datadog monitor moncat wrote reads as Datadog's documented
monitor query grammar, with `options.thresholds.critical` equal to its query's threshold.

It parses the written payloads with querycheck, independently of the dialect that wrote them.
"""
from __future__ import annotations

from typing import Iterator

from compiler.artifacts import Artifact
from compiler.diagnostics import Diagnostic, error
from compiler.model import Catalog
from compiler.targets.datadog.querycheck import check_monitor
from compiler.targets.datadog.verbatim import KIND as KEPT

INVALID = "MC710"


def check(catalog: Catalog, artifacts: list[Artifact]) -> Iterator[Diagnostic]:
    for art in artifacts:
        if not art.path.startswith("datadog/monitors/") or art.objects[0].kind == KEPT:
            continue  # a datadog-only monitor is the user's query, kept verbatim
        for problem in check_monitor(art.data):
            obj = art.objects[0]
            yield error(INVALID, f"Datadog monitor {obj.id}: {problem}", obj.source,
                        "a moncat bug if the query was translated; else fix datadog.query")
