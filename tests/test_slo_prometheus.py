"""SLO burn-rate alerts in a real Prometheus and Alertmanager (Debian's) on loopback, with a
time-compressed catalog (tests/slo/fast: a 12h window and every tier's windows divided by 60,
so the factors stay the workbook's 14.4 / 6 / 3 / 1 while 1h/5m becomes 1m/5s).

A local exporter serves three SLIs burning their budget at 20x, 10x and 4x. Prometheus must fire
the fast-burn page (14.4x) for the 20x one and never for the 10x one, which only reaches the
6x page tier; Alertmanager must silence the ticket tiers of an SLO whose page tier fires, and
only that SLO's (the 4x SLO's ticket stays active although it shares the procedure)."""
from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from compiler import pipeline, writer
from conftest import ROOT
from test_end_to_end import _free_port, _start, _wait_http

FAST = ROOT / "tests" / "slo" / "fast"
BURNS = {"20x": 0.20, "10x": 0.10, "4x": 0.04}  # error ratios: burn rate x the 1% budget
PER_SECOND = 1000
DEADLINE_S = 40


class _Exporter:
    """/metrics with one good and one bad counter per SLI, grown from the start time."""

    def __init__(self) -> None:
        start = time.monotonic()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                elapsed = time.monotonic() - start
                lines = ["# TYPE demo_requests_total counter"]
                for burn, ratio in BURNS.items():
                    total = PER_SECOND * elapsed
                    lines.append(f'demo_requests_total{{burn="{burn}",code="500"}} {total * ratio:.3f}')
                    lines.append(f'demo_requests_total{{burn="{burn}",code="200"}} {total * (1 - ratio):.3f}')
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _get(url: str):
    return json.load(urllib.request.urlopen(url, timeout=5))


@pytest.fixture
def stack(tmp_path: Path):
    for tool in ("prometheus", "prometheus-alertmanager"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: run `bash ci/test.sh`, which installs Debian's packages")
    result = pipeline.compile_catalog(FAST)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    out = tmp_path / "out"
    writer.write(out, result.files)
    exporter = _Exporter()
    prom_port, am_port = _free_port(), _free_port()
    prom_config = tmp_path / "prometheus.yaml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in sorted((out / "prometheus").glob("*.rules.yaml"))],
        "scrape_configs": [{"job_name": "demo", "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}]}],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
    }))
    procs = []
    try:
        am_log = tmp_path / "alertmanager.log"
        # moncat's own Alertmanager configuration: its routes and its inhibitions.
        procs.append(_start(["prometheus-alertmanager", f"--config.file={out / 'alertmanager' / 'alertmanager.yaml'}",
                             f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
                             "--cluster.listen-address="], am_log))
        _wait_http(f"http://127.0.0.1:{am_port}/-/ready", procs[-1], am_log)
        prom_log = tmp_path / "prometheus.log"
        procs.append(_start(["prometheus", f"--config.file={prom_config}",
                             f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"], prom_log))
        _wait_http(f"http://127.0.0.1:{prom_port}/-/ready", procs[-1], prom_log)
        yield prom_port, am_port
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
        exporter.close()


def _states(prom_port: int) -> dict[str, str]:
    rules = _get(f"http://127.0.0.1:{prom_port}/api/v1/rules?type=alert")
    return {r["name"]: r["state"] for g in rules["data"]["groups"] for r in g["rules"]}


def test_the_fast_burn_page_fires_at_20x_and_not_at_10x_and_pages_inhibit_only_their_own_tickets(stack) -> None:
    prom_port, am_port = stack
    start = time.monotonic()
    states: dict[str, str] = {}
    while time.monotonic() - start < DEADLINE_S:
        states = _states(prom_port)
        if states.get("Burning20xBurnRatePageFast") == "firing" and \
                states.get("Burning4xBurnRateTicketFast") == "firing":
            break
        time.sleep(0.5)
    fired_after = time.monotonic() - start
    assert states.get("Burning20xBurnRatePageFast") == "firing", states
    # The 10x SLI keeps burning through a whole short window more and never reaches 14.4x.
    time.sleep(6)
    states = _states(prom_port)
    assert states["Burning10xBurnRatePageFast"] == "inactive", states
    assert states["Burning10xBurnRatePageSlow"] == "firing"  # 10x > 6x
    assert states["Burning4xBurnRatePageSlow"] == "inactive"  # 4x < 6x
    assert states["Burning4xBurnRateTicketFast"] == "firing"  # 4x > 3x
    assert all(states[f"Burning{b}SLIAbsent"] == "inactive" for b in BURNS)
    burn = _get(f"http://127.0.0.1:{prom_port}/api/v1/query?query=slo:demo_burning_20x_burn_rate:ratio_rate1m")
    assert abs(float(burn["data"]["result"][0]["value"][1]) - 20) < 1  # the recorded burn rate

    # Alertmanager: each SLO's page tiers silence its own ticket tiers, and no one else's.
    deadline = time.monotonic() + 15
    while True:
        alerts = {a["labels"]["alertname"]: a for a in
                  _get(f"http://127.0.0.1:{am_port}/api/v2/alerts")}
        wanted = ("Burning20xBurnRateTicketFast", "Burning4xBurnRateTicketFast")
        if all(n in alerts for n in wanted) and \
                alerts["Burning20xBurnRateTicketFast"]["status"]["inhibitedBy"] or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    pages = {alerts[n]["fingerprint"] for n in ("Burning20xBurnRatePageFast", "Burning20xBurnRatePageSlow")}
    ticket = alerts["Burning20xBurnRateTicketFast"]["status"]
    assert ticket["state"] == "suppressed" and set(ticket["inhibitedBy"]) <= pages and ticket["inhibitedBy"]
    other = alerts["Burning4xBurnRateTicketFast"]["status"]
    assert other["state"] == "active" and other["inhibitedBy"] == []
    assert alerts["Burning20xBurnRatePageFast"]["labels"]["severity"] == "page"
    assert alerts["Burning20xBurnRatePageFast"]["annotations"]["runbook_url"] == \
        "https://runbooks.example.test/demo/alerts/Burning20xBurnRatePageFast.html"
    print(f"slo end-to-end: fast-burn page after {fired_after:.1f}s")
