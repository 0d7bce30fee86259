"""Writes tests/fixtures/kubernetes-mixin from a kubernetes-mixin checkout with its vendor/
directory: the evaluated alerts and rules as YAML, each dashboard as JSON (what
`moncat import mixin` evaluates, kept so the tests need no Jsonnet libraries).

Run: .venv/bin/python tests/benchmarks/make_kubernetes_fixture.py /path/to/kubernetes-mixin
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from compiler.importers.mixin import evaluate  # noqa: E402
from compiler.render import to_yaml  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "kubernetes-mixin"


def main(checkout: Path) -> None:
    data = json.loads(evaluate(checkout, []))
    head = "# kubernetes-mixin, evaluated; Apache-2.0, see LICENSE.\n"
    (OUT / "prometheus_alerts.yaml").write_text(head + to_yaml(data["alerts"]))
    (OUT / "prometheus_rules.yaml").write_text(head + to_yaml(data["rules"]))
    (OUT / "dashboards").mkdir(parents=True, exist_ok=True)
    for name, board in sorted(data["dashboards"].items()):
        (OUT / "dashboards" / name).write_text(json.dumps(board, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
