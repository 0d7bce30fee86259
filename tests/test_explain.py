"""`moncat explain ALERT`: one alert on every target side by side, through the real CLI."""
from __future__ import annotations

import re

from conftest import CATALOG, ROOT, run_moncat


def test_explain_shows_every_target_the_verdicts_the_routing_and_the_delay() -> None:
    proc = run_moncat("explain", "shop/ShopCheckoutFailuresHigh", str(CATALOG))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for heading in ("Prometheus rule:", "Grafana rule:", "Datadog monitor:",
                    "Examples (verdict per target):", "Routing:", "Detection delay:"):
        assert heading in out
    # The `or` of two conditions is a composite of two monitors, each shown with its query.
    assert "composite: ${shop/shopcheckoutfailureshigh.a} || ${shop/shopcheckoutfailureshigh.b}" in out
    assert "(a): sum(last_10m):(sum:shop.checkout_failures.count{*}.as_count() / 600) * 60 > 5" in out
    # pending: drop is stated, and every example has a verdict per target.
    assert "differs from Prometheus: no pending period (targets.datadog.pending: drop)" in out
    assert out.count("   Prometheus: ") == out.count("   Datadog:    ") >= 3
    assert "Datadog:    alerts ((one group))" in out and "Datadog:    quiet" in out
    assert "  Alertmanager: shop-oncall" in out and "  Datadog:      @" in out
    # window 10m + for 10m + evaluation interval 1m
    assert "Detection delay: up to 21m" in out


def test_explain_says_why_an_alert_is_left_out_of_datadog_and_names_an_unknown_alert() -> None:
    proc = run_moncat("explain", "ShopRefundSpike", str(CATALOG))
    assert proc.returncode == 0 and "not compiled for Datadog: The alert compares" in proc.stdout
    missing = run_moncat("explain", "NoSuchAlert", str(CATALOG))
    assert missing.returncode == 1 and "no such alert" in missing.stderr and "Traceback" not in missing.stderr
    assert "did you mean" not in missing.stderr  # nothing close to it
    close = run_moncat("explain", "ShopRefundSpik", str(CATALOG))
    assert close.returncode == 1 and "no such alert; did you mean 'ShopRefundSpike'?" in close.stderr


def test_explain_marks_the_examples_whose_datadog_verdict_differs_as_stated() -> None:
    proc = run_moncat("explain", "agentbar/WorkerDown", str(CATALOG))
    assert proc.returncode == 0, proc.stderr
    lines = [line.strip() for line in proc.stdout.splitlines()
             if re.match(r"Datadog: {4}\S", line.strip())]  # the verdicts, not the routing
    # The example marked with its own words says them; the others agree with Prometheus.
    assert lines == ["Datadog:    alerts (worker:notification)",
                     "Datadog:    quiet  <- differs (stated: a monitor that never received "
                     "worker_alive has no data to miss)",
                     "Datadog:    quiet"]


def test_explain_says_the_hours_outside_which_the_routing_tells_nobody() -> None:
    # NoOrders notifies only in its operating hours and never in Sunday's maintenance window.
    proc = run_moncat("explain", "NoOrders", str(ROOT / "tests" / "dispatch" / "catalog"))
    assert proc.returncode == 0, proc.stderr
    routing = proc.stdout.split("Routing:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert routing[-2:] == [
        "  Notifies only during jam-operasional: every day, 07:00–23:00 (Asia/Jakarta)",
        "  Notifies nobody during maintenance: Sunday, 07:00–09:00 (Asia/Jakarta)"]
