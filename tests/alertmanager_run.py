"""Test helpers: a real Alertmanager (Debian's 0.25) on loopback running a generated
configuration, a webhook that records what it delivers, and a time-zone database in which a
zone's clock reads a chosen wall-clock time now.

The configuration is the compiled one with two changes only: webhook URLs point at the
loopback sink, and grouping waits are shortened so a test takes seconds (routing, time
intervals and inhibitions are untouched). Alertmanager reads time zones through Go's
time.LoadLocation, which honours $ZONEINFO: a zone compiled with `zic` at the offset that makes
its local time equal the example's lets a real Alertmanager decide "is it 03:00 in Jakarta now".
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from fakes.loopback import LoopbackServer


class Sink(LoopbackServer):
    """Records every webhook notification: (alertname, labels, status) per alert."""

    def __init__(self) -> None:
        super().__init__()  # the shared lifecycle's state (misbehaviours, exchanges)
        self.received: list[dict[str, Any]] = []

    class handler(BaseHTTPRequestHandler):  # noqa: N801 - LoopbackServer's attribute name
        owner: "Sink"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.owner.received.extend(body.get("alerts", []))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    def names(self, status: str = "firing") -> list[tuple[str, str]]:
        return sorted((a["labels"]["alertname"], a["labels"].get("city", ""))
                      for a in self.received if a["status"] == status)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def for_loopback(config: dict[str, Any], sink_url: str) -> dict[str, Any]:
    """The generated configuration, webhooks sent to the sink and grouping waits shortened."""
    config = json.loads(json.dumps(config))

    def route(node: dict[str, Any], root: bool = False) -> None:
        for key in ("group_wait", "group_interval"):
            if key in node or root:
                node[key] = "1s"
        for child in node.get("routes", []):
            route(child)

    route(config["route"], root=True)
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{sink_url}/hook"
        receiver.pop("email_configs", None)  # no mail relay here; the webhook shows delivery
    return config


WEEK_S = 7 * 86_400


def zoneinfo_at(directory: Path, zone: str, wall_clock: datetime) -> Path:
    """A ZONEINFO directory where `zone`'s local weekday and time of day now are those of
    `wall_clock` read in the real zone: one fixed offset (whole weeks dropped, so within
    ±3.5 days; zic takes up to ±100 hours), compiled by zic. Dates are not kept: intervals with
    days of the month, months or years cannot be tested this way."""
    local = wall_clock.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    offset = round((local - datetime.now(timezone.utc).replace(tzinfo=None)).total_seconds())
    offset = (offset + WEEK_S // 2) % WEEK_S - WEEK_S // 2
    sign, offset = ("-" if offset < 0 else ""), abs(offset)
    source = directory / "zone.txt"
    source.write_text(f"Zone\t{zone}\t{sign}{offset // 3600}:{offset % 3600 // 60:02d}:{offset % 60:02d}\t-\tTST\n")
    subprocess.run(["zic", "-d", str(directory / "zoneinfo"), str(source)], check=True, timeout=30)
    return directory / "zoneinfo"


class Alertmanager:
    """A real Alertmanager on loopback; `post` sends alerts through its API."""

    def __init__(self, config: dict[str, Any], workdir: Path, env: dict[str, str] | None = None):
        binary = shutil.which("prometheus-alertmanager")
        if not binary:
            pytest.fail("prometheus-alertmanager is missing: run `bash ci/test.sh`")
        self.port = _free_port()
        (workdir / "alertmanager.yaml").write_text(yaml.safe_dump(config))
        self.log = workdir / "am.log"
        self.proc = subprocess.Popen(
            [binary, f"--config.file={workdir / 'alertmanager.yaml'}", f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env=env)
        self.api = f"http://127.0.0.1:{self.port}/api/v2"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(self.log.read_text())
                time.sleep(0.1)

    def post(self, alerts: list[dict[str, Any]]) -> None:
        req = urllib.request.Request(f"{self.api}/alerts", json.dumps(alerts).encode(),
                                     {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()

    def alerts(self) -> list[dict[str, Any]]:
        return json.load(urllib.request.urlopen(f"{self.api}/alerts", timeout=5))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_for(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()
