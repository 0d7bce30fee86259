"""Load stage, Jsonnet: evaluation confined to the catalog, in a child process with time and
memory limits, its output held to the same nesting and size limits as YAML."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from compiler import limits, sandbox
from compiler.diagnostics import Diagnostic, Loc, error
from compiler.documents import RawDocument, offset_to_loc
from compiler.yaml_source import Budget, too_deep, too_many_nodes

_JSONNET_POS = re.compile(r"([^\s:]+\.(?:jsonnet|libsonnet)):(\d+):(\d+)")


def _evaluate(path: str, root: str) -> tuple[bool, str, list[str]]:
    """In the child: (True, JSON text, []) or (False, Jsonnet's message, imports refused)."""
    import _jsonnet  # the jsonnet package's binding

    root_resolved = Path(root)
    escapes: list[str] = []

    def confined_import(base: str, rel: str) -> tuple[str, bytes]:
        # Jsonnet may import only files inside the catalog: a catalog is reviewed as a unit, and
        # a compile must not read secrets or other repositories through `import`.
        target = (Path(base) / rel).resolve()
        if Path(rel).is_absolute() or not target.is_relative_to(root_resolved):
            escapes.append(rel)
            raise RuntimeError(f"import {rel!r} is outside the catalog directory")
        if not target.is_file():
            raise RuntimeError(f"import {rel!r}: no such file in the catalog")
        return str(target), target.read_bytes()

    try:
        return True, _jsonnet.evaluate_file(path, import_callback=confined_import,
                                            max_stack=limits.JSONNET_MAX_STACK), []
    except RuntimeError as exc:
        return False, str(exc), escapes


def _nodes_and_depth(data: Any, file: str, budget: Budget) -> Diagnostic | None:
    """The YAML limits, on Jsonnet's output (walked without recursion)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        exhausted = budget.spend()
        if exhausted:
            return too_many_nodes(exhausted, Loc(file))
        if depth > limits.MAX_NESTING:
            return too_deep(Loc(file), aliases=False)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


def _error_loc(message: str, file: str, root: Path) -> Loc:
    m = _JSONNET_POS.search(message)
    if not m:
        return Loc(file)
    loc_file = file
    try:
        loc_file = Path(m.group(1)).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        pass
    return Loc(loc_file, int(m.group(2)), int(m.group(3)))


def load_jsonnet(root: Path, path: Path, file: str, text: str | None = None,
                 budget: Budget | None = None) -> tuple[list[RawDocument], list[Diagnostic]]:
    if text is None:
        text = path.read_text(encoding="utf-8")
    budget = budget or Budget()
    budget.start_file()
    timeout, memory = limits.jsonnet_timeout_s(), limits.jsonnet_memory_mb()
    try:
        outcome = sandbox.run(_evaluate, (str(path), str(root.resolve())), timeout, memory)
    except sandbox.ChildError as exc:
        return [], [error("MC003", f"Jsonnet evaluation failed: {exc}", Loc(file),
                          "simplify the Jsonnet file")]
    if outcome.timed_out:
        return [], [error("MC019", f"Jsonnet evaluation did not finish within {timeout:g} s",
                          Loc(file), "look for a recursion that never ends; a slow machine may "
                          "raise the limit with MONCAT_JSONNET_TIMEOUT (seconds)")]
    if outcome.died:
        return [], [error("MC020", f"Jsonnet evaluation used more than {memory:g} MiB of memory",
                          Loc(file), "look for strings or arrays that grow without bound; "
                          "MONCAT_JSONNET_MEMORY_MB raises the limit")]
    ok, out, escapes = outcome.value
    if not ok:
        if escapes:
            idx = text.find(escapes[0])
            loc = offset_to_loc(file, text, idx) if idx >= 0 else Loc(file)
            return [], [error("MC004", f"Jsonnet import {escapes[0]!r} reaches outside the catalog",
                              loc, "keep imported files inside the catalog directory")]
        first = out.strip().splitlines()[0] if out.strip() else "evaluation failed"
        first = re.sub(r"^(STATIC|RUNTIME) ERROR:\s*", "", first)
        first = _JSONNET_POS.sub("", first).strip(" :")
        return [], [error("MC003", f"Jsonnet error: {first}", _error_loc(out, file, root),
                          "fix the Jsonnet expression")]
    try:
        data = json.loads(out)
    except RecursionError:
        return [], [too_deep(Loc(file), aliases=False)]
    problem = _nodes_and_depth(data, file, budget)
    if problem:
        return [], [problem]
    items = data if isinstance(data, list) else [data]
    return [RawDocument(file, d, text, from_jsonnet=True) for d in items], []
