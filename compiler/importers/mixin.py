"""Import stage, reading a Jsonnet monitoring mixin: `mixin.libsonnet` evaluated with the Jsonnet
binding (libraries from `-J` or `<dir>/vendor`), then its prometheusAlerts, prometheusRules and
grafanaDashboards read as rule files and dashboards. Jsonnet output has no positions, so each
object's comment names the line of the mixin's own source that spells its name."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from compiler.diagnostics import Loc, error
from compiler.importers import grafana, rules
from compiler.importers.files import Input, service_id
from compiler.importers.source import ImportSet, Origin

SNIPPET = ("local m = import 'mixin.libsonnet';\n"
           "{ alerts: std.get(m, 'prometheusAlerts', {}), rules: std.get(m, 'prometheusRules', {}),"
           " dashboards: std.get(m, 'grafanaDashboards', {}) }")


def evaluate(directory: Path, jpath: list[Path]) -> str:
    """The mixin's three fields as JSON text (go-jsonnet, the reference implementation's
    binding: grafonnet-based mixins evaluate several times faster than with the C++ one)."""
    import _gojsonnet

    paths = [str(p) for p in (jpath or [directory / "vendor"])] + [str(directory)]
    return _gojsonnet.evaluate_snippet(str(directory / "_moncat_import.jsonnet"), SNIPPET,
                                       jpathdir=paths)


class _Locator:
    """Finds where the mixin's own sources (not its vendored libraries) spell a name."""

    def __init__(self, directory: Path, shown: str):
        self.texts: list[tuple[str, list[str]]] = []
        for p in sorted(directory.rglob("*sonnet")):
            rel = p.relative_to(directory)
            if rel.parts[0] in ("vendor", ".git") or not p.is_file():
                continue
            self.texts.append((f"{shown}/{rel.as_posix()}", p.read_text("utf-8", "replace").splitlines()))

    def find(self, name: str) -> Origin | None:
        pattern = re.compile(r"['\"]" + re.escape(name) + r"['\"]")
        for file, lines in self.texts:
            for n, line in enumerate(lines, 1):
                if pattern.search(line):
                    return Origin(file, n)
        return None


def read(directory: Path, jpath: list[Path], service: str | None) -> ImportSet:
    out = ImportSet()
    if not (directory / "mixin.libsonnet").is_file():
        out.diagnostics.append(error("MC812", f"{directory} holds no mixin.libsonnet", Loc(str(directory)),
                                     "name the mixin's directory (the one with mixin.libsonnet)"))
        return out
    try:
        data = json.loads(evaluate(directory, jpath))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation failed"
        out.diagnostics.append(error("MC812", f"the mixin does not evaluate: {first}",
                                     Loc(str(directory / "mixin.libsonnet")),
                                     "check -J (its vendored libraries: `jb install` fetches them)"))
        return out
    shown = directory.as_posix()
    sid = service or service_id(directory.resolve().name.removesuffix("-mixin"))
    locator = _Locator(directory, shown)
    grouping = rules.Grouping(sid)
    for field in ("alerts", "rules"):
        item = Input(directory / "mixin.libsonnet", f"{shown}/mixin.libsonnet", "mixin.libsonnet")
        found = rules.read_text_rules(item, json.dumps(data[field], indent=1), grouping)
        found.rules = [_relocated(r, locator) for r in found.rules]
        out.extend(found)
    for name, board in sorted(data["dashboards"].items()):
        origin = locator.find(name) or Origin(f"{shown}/mixin.libsonnet", 1)
        out.extend(grafana.read_board(board, origin, sid, name))
    return out


def _relocated(rule: rules.Rule, locator: _Locator) -> rules.Rule:
    found = locator.find(rule.name)
    return replace(rule, origin=found) if found else rule
