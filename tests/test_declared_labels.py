"""MC417: a label matcher naming a label its metric does not declare, in a query or in an
example's series, is a warning at the label with the declared name it is closest to. A slip there
matches nothing: promtool only says the alert "does not fire"."""
from __future__ import annotations

from pathlib import Path

import pytest

from compiler import pipeline
from conftest import CATALOG
from test_bad_input import SERVICE, _write_clean, expr, replace


def _warnings(root: Path) -> list[str]:
    return [f"{d.loc}: {d.message} | {d.hint}" for d in pipeline.analyse(root).report.sorted() if d.code == "MC417"]


@pytest.mark.parametrize("edit, where, says", [
    # "    expr: sum by (instance) (rate(http_requests_total{" is 54 characters: `cod` at 55.
    (expr('sum by (instance) (rate(http_requests_total{cod="500"}[5m])) > 1'), "svc/service.yaml:10:55",
     "label 'cod' is not declared on http_requests_total"),
    # The fires example's selector, line 19, column 11 ("          '" is 11 characters).
    (replace(SERVICE, "'http_requests_total{code=\"500\", instance=\"a\"}': '0+120x30'",
             "'http_requests_total{cod=\"500\", instance=\"a\"}': '0+120x30'"), "svc/service.yaml:19:11",
     "example series 'http_requests_total{cod=\"500\", instance=\"a\"}' has label 'cod'"),
], ids=["in-the-expression", "in-an-example-series"])
def test_a_label_the_metric_does_not_declare_is_a_warning_with_the_declared_name(
        tmp_path: Path, edit, where: str, says: str) -> None:
    _write_clean(tmp_path)
    edit(tmp_path)
    found = _warnings(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{where}: {says}"), found
    assert "did you mean 'code'? http_requests_total declares code, instance" in found[0]


def test_job_added_at_scrape_time_is_never_declared_and_never_warned(tmp_path: Path) -> None:
    _write_clean(tmp_path)
    expr('sum by (instance) (rate(http_requests_total{code="500", job="web"}[5m])) > 1')(tmp_path)
    assert _warnings(tmp_path) == []


def test_the_seed_catalog_names_only_declared_labels() -> None:
    assert _warnings(CATALOG) == []
