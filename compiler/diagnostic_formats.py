"""Report stage: diagnostics as GitHub workflow annotations and as SARIF 2.1.0 for code scanning."""
from __future__ import annotations

import json
from pathlib import Path

from compiler.diagnostics import Diagnostic, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_GITHUB_KIND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    # Property values end at ',' and '::', so both are escaped as well.
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _path(root: Path, d: Diagnostic) -> str:
    assert d.loc is not None
    return (root / d.loc.file).as_posix()


def render_github(diags: list[Diagnostic], root: Path) -> str:
    """One `::error file=,line=,col=,title=::` command per diagnostic, then a summary line: GitHub
    shows at most 10 annotations of a kind per step, so the summary carries the full count."""
    lines = []
    for d in diags:
        props = []
        if d.loc:
            props += [f"file={_gh_property(_path(root, d))}", f"line={d.loc.line}", f"col={d.loc.column}"]
        props.append(f"title={_gh_property(d.code)}")
        text = d.message + (f" (hint: {d.hint})" if d.hint else "")
        lines.append(f"::{_GITHUB_KIND[d.severity]} {','.join(props)}::{_gh_data(text)}")
    counts = {s: sum(d.severity is s for d in diags) for s in Severity}
    lines.append(f"moncat: {counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
                 f"{counts[Severity.INFO]} info in total")
    return "\n".join(lines) + "\n"


def render_sarif(diags: list[Diagnostic], root: Path) -> str:
    """A SARIF 2.1.0 log with one run; rules are the diagnostic codes that occurred."""
    codes = sorted({d.code for d in diags})
    first_message = {c: next(d.message for d in diags if d.code == c) for c in codes}
    results = []
    for d in diags:
        result: dict = {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message + (f" Hint: {d.hint}" if d.hint else "")},
        }
        if d.loc:
            result["locations"] = [{"physicalLocation": {
                "artifactLocation": {"uri": _path(root, d)},
                "region": {"startLine": d.loc.line, "startColumn": d.loc.column},
            }}]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "moncat",
                "rules": [{"id": c, "shortDescription": {"text": first_message[c]}} for c in codes],
            }},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"
