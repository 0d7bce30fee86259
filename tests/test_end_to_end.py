"""End to end with real servers: a local exporter, a real Prometheus evaluating moncat's rule files
(the seed output plus a fast test catalog), a real Alertmanager, and a webhook that must receive
exactly the alert that should fire, with its runbook link. Bounded in time; cleans up."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from compiler import pipeline, writer
from conftest import OUTPUT, ROOT

E2E_CATALOG = ROOT / "tests" / "e2e" / "catalog"
DEADLINE_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """A loopback HTTP server: /metrics for Prometheus to scrape, POST /hook for Alertmanager."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = b'# TYPE e2e_queue_depth gauge\ne2e_queue_depth{queue="orders"} 42\n'
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                outer.received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _start(cmd: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"{url} process exited:\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} never became ready:\n{log.read_text()[-2000:]}")


@pytest.fixture
def stack(tmp_path: Path):
    for tool in ("prometheus", "prometheus-alertmanager"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: run `bash ci/test.sh`, which installs Debian's packages")
    result = pipeline.compile_catalog(E2E_CATALOG)
    assert not result.report.has_errors(), result.report.sorted()
    out = tmp_path / "out"
    writer.write(out, result.files)
    server = _Server()
    prom_port, am_port = _free_port(), _free_port()
    am_config = tmp_path / "alertmanager.yaml"
    am_config.write_text(yaml.safe_dump({
        "route": {"receiver": "e2e-webhook", "group_by": ["alertname", "queue"],
                  "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "e2e-webhook", "webhook_configs": [
            {"url": f"http://127.0.0.1:{server.port}/hook", "send_resolved": False}]}],
    }))
    rule_files = [str(p) for p in sorted((out / "prometheus").glob("*.rules.yaml"))]
    rule_files += [str(p) for p in sorted((OUTPUT / "prometheus").glob("*.rules.yaml"))]
    prom_config = tmp_path / "prometheus.yaml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rule_files,
        "scrape_configs": [{"job_name": "e2e", "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}]}],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
    }))
    procs = []
    try:
        am_log = tmp_path / "alertmanager.log"
        procs.append(_start(["prometheus-alertmanager", f"--config.file={am_config}",
                             f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
                             "--cluster.listen-address="], am_log))
        _wait_http(f"http://127.0.0.1:{am_port}/-/ready", procs[-1], am_log)
        prom_log = tmp_path / "prometheus.log"
        procs.append(_start(["prometheus", f"--config.file={prom_config}",
                             f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"], prom_log))
        _wait_http(f"http://127.0.0.1:{prom_port}/-/ready", procs[-1], prom_log)
        yield server, prom_port
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.close()


def test_an_alert_that_should_fire_reaches_its_receiver_and_one_that_should_not_does_not(stack) -> None:
    server, prom_port = stack
    start = time.monotonic()
    alerts: list[dict] = []
    while time.monotonic() - start < DEADLINE_S:
        alerts = [a for msg in server.received for a in msg["alerts"]]
        if any(a["labels"]["alertname"] == "QueueTooDeep" for a in alerts):
            break
        time.sleep(0.25)
    fired = [a for a in alerts if a["labels"]["alertname"] == "QueueTooDeep"]
    assert fired, f"no QueueTooDeep within {DEADLINE_S}s; received: {server.received}"
    alert = fired[0]
    assert alert["status"] == "firing"
    assert alert["labels"] == {"alertname": "QueueTooDeep", "queue": "orders", "service": "e2e",
                               "severity": "page", "team": "platform"}
    assert alert["annotations"]["runbook_url"] == "https://runbooks.example.test/e2e/alerts/QueueTooDeep.html"
    assert alert["annotations"]["summary"] == "Queue orders holds more than 10 jobs"
    # The quiet one is evaluated on the same data every second: Prometheus itself says inactive.
    rules = json.load(urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/rules?type=alert"))
    states = {r["name"]: r["state"] for g in rules["data"]["groups"] for r in g["rules"]}
    assert states["QueueTooDeep"] == "firing"
    assert states["QueueAbsurdlyDeep"] == "inactive"
    assert all(a["labels"]["alertname"] != "QueueAbsurdlyDeep" for a in alerts)
    # The seed catalog's rules were loaded alongside and evaluate without error (some, such as
    # "no webhook received in busy hours", may rightly fire on a server with no such data).
    health = {r["name"]: (r["health"], r.get("lastError", "")) for g in rules["data"]["groups"]
              for r in g["rules"] if g["name"] not in ("e2e.alerts", "e2e.records")}
    assert len(health) >= 30
    assert [n for n, (h, _) in health.items() if h == "err"] == []
    print(f"end-to-end: alert delivered after {time.monotonic() - start:.1f}s")
