"""Check after generation: every Datadog monitor moncat wrote reads as Datadog's documented
monitor query grammar, with `options.thresholds.critical` equal to its query's threshold; every
composite names component monitors moncat wrote.

It parses the written payloads with querycheck, independently of the dialect that wrote them.
"""
from __future__ import annotations

from typing import Iterator

from compiler.artifacts import Artifact
from compiler.diagnostics import Diagnostic, error
from compiler.model import Catalog
from compiler.targets.datadog.querycheck import check_monitor
from compiler.targets.datadog.slos import check_burn_monitor
from compiler.targets.datadog.verbatim import KIND as KEPT

INVALID = "MC710"
MONITORS = "datadog/monitors/"  # the files the check reads


def reads(art: Artifact) -> bool:
    """Whether the check reads this artifact (a monitor's file)."""
    return art.path.startswith(MONITORS)


def check(catalog: Catalog, artifacts: list[Artifact]) -> Iterator[Diagnostic]:
    monitors = [a for a in artifacts if reads(a)]
    ids = {a.objects[0].id.lower() for a in monitors}  # references are written as tags are
    for art in monitors:
        if art.objects[0].kind == KEPT:
            continue  # a datadog-only monitor is the user's query, kept verbatim
        found = (check_burn_monitor(art.data) if art.data.get("type") == "slo alert"
                 else check_monitor(art.data, ids))
        for problem in found:
            obj = art.objects[0]
            yield error(INVALID, f"Datadog monitor {obj.id}: {problem}", obj.source,
                        "a moncat bug if the query was translated; else fix datadog.query")
