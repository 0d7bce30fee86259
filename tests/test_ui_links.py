"""Runbook pages link each alert to live UIs. Checked against the real things where they run here:
Debian's Prometheus 2.42 opens the query link in its graph page (in headless Chromium), and the
silence link's matchers, given to Debian's Alertmanager 0.25, silence exactly the alert the
generated rule raises. No Grafana runs here: the Explore link is checked against Grafana's
Explore URL format (schemaVersion 1, one pane with data source, queries and range)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

import pytest
import yaml

from compiler import pipeline, scaffold
from compiler.model import Alert
from compiler.targets import ui_links
from devtools import CHROMIUM, Browser
from test_end_to_end import _free_port, _start, _wait_http


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.links[data.strip()] = self._href
            self._href = None


def _catalog(tmp_path: Path, prometheus: str, alertmanager: str) -> Path:
    scaffold.init(tmp_path / "c")
    settings = tmp_path / "c" / "moncat.yaml"
    text = settings.read_text()
    for old, new in (("# url: https://prometheus.example.com", f"url: {prometheus}"),
                     ("# url: https://alertmanager.example.com", f"url: {alertmanager}"),
                     ("# url: https://grafana.example.com", "url: https://grafana.example.com")):
        assert old in text
        text = text.replace(old, new)
    settings.write_text(text)
    return tmp_path / "c"


def _page_links(tmp_path: Path, prometheus: str, alertmanager: str) -> tuple[dict[str, str], Alert, dict]:
    result = pipeline.compile_catalog(_catalog(tmp_path, prometheus, alertmanager))
    assert not result.report.has_errors(), result.report.sorted()
    page = result.files["site/web/alerts/WebErrorRatioHigh.html"].decode()
    parser = _Links()
    parser.feed(page)
    rules = yaml.safe_load(result.files["prometheus/web.rules.yaml"])
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "WebErrorRatioHigh")
    return parser.links, result.catalog.services[0].alerts["WebErrorRatioHigh"], rule


@contextmanager
def _serving(tool: str, args: list[str], port: int, log: Path):
    """A Debian daemon on loopback until the block ends."""
    if not shutil.which(tool):
        pytest.fail(f"{tool} is missing: run `bash ci/test.sh`, which installs Debian's packages")
    proc = _start([tool, *args, f"--web.listen-address=127.0.0.1:{port}"], log)
    try:
        _wait_http(f"http://127.0.0.1:{port}/-/ready", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def prometheus(tmp_path: Path):
    config = tmp_path / "prometheus.yaml"
    config.write_text("global: {scrape_interval: 15s}\n")
    with _serving("prometheus", [f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}"],
                  _free_port(), tmp_path / "prometheus.log") as url:
        yield url


@pytest.fixture
def alertmanager(tmp_path: Path):
    config = tmp_path / "alertmanager.yaml"
    config.write_text("route: {receiver: nobody}\nreceivers: [{name: nobody}]\n")
    with _serving("prometheus-alertmanager", [f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
                                              "--cluster.listen-address="],
                  _free_port(), tmp_path / "alertmanager.log") as url:
        yield url


def test_the_prometheus_link_opens_the_alerts_query_in_the_real_graph_page(tmp_path: Path, prometheus: str) -> None:
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is missing: run `bash ci/test.sh`, which installs Debian's chromium")
    links, alert, rule = _page_links(tmp_path, prometheus, "http://127.0.0.1:1")
    url = links["Query in Prometheus"]
    assert url.startswith(f"{prometheus}/graph?")
    # The compared value: the rule's expression without its threshold.
    query = ui_links.linked_query(alert)
    assert rule["expr"] == f"{query} > 0.05"
    browser = Browser(tmp_path / "chromium")
    try:
        browser.open(url)
        shown, deadline = [], time.monotonic() + 20
        while time.monotonic() < deadline and not any(shown):
            shown = browser.evaluate("Array.from(document.querySelectorAll('textarea'), t => t.value)")
            time.sleep(0.2)
        ranges = browser.evaluate("Array.from(document.querySelectorAll('input.range_input, input[name=range_input]'), i => i.value)")
    finally:
        browser.quit()
    assert shown == [query] and ranges == [ui_links.RANGE]
    # ... and Prometheus evaluates that text without complaint.
    api = json.load(urllib.request.urlopen(f"{prometheus}/api/v1/query?{urlparse(url).query.replace('g0.expr', 'query')}"))
    assert api["status"] == "success"


def _filter_matchers(url: str) -> list[str]:
    """The matchers of Alertmanager's UI filter `{a="b",c="d"}` (values here hold no comma)."""
    fragment = urlparse(url).fragment
    assert fragment.startswith("/silences/new?filter=")
    text = unquote(fragment.split("filter=", 1)[1])
    assert text.startswith("{") and text.endswith("}")
    return text[1:-1].split(",")


def test_the_silence_link_silences_exactly_the_alert_its_rule_raises(tmp_path: Path, alertmanager: str) -> None:
    links, _, rule = _page_links(tmp_path, "http://127.0.0.1:1", alertmanager)
    matchers = _filter_matchers(links["Silence this alert"])
    assert matchers == ['alertname="WebErrorRatioHigh"', 'service="web"']
    amtool = ["amtool", f"--alertmanager.url={alertmanager}"]
    subprocess.run([*amtool, "silence", "add", "--author=test", "--comment=runbook link", "--duration=1h",
                    *matchers], check=True, capture_output=True, text=True)
    # The alert as Prometheus would send it (the rule's labels), and a neighbour of another service.
    alerts = [{"labels": {"alertname": "WebErrorRatioHigh", **rule["labels"]}},
              {"labels": {"alertname": "WebErrorRatioHigh", "service": "api", "severity": "critical"}}]
    request = urllib.request.Request(f"{alertmanager}/api/v2/alerts", json.dumps(alerts).encode(),
                                     {"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request).read()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        got = json.load(urllib.request.urlopen(f"{alertmanager}/api/v2/alerts"))
        states = {a["labels"]["service"]: a["status"]["state"] for a in got}
        if states.get("web") == "suppressed":
            break
        time.sleep(0.2)
    assert states == {"web": "suppressed", "api": "active"}


def test_the_explore_link_holds_one_pane_with_the_data_source_the_query_and_a_range(tmp_path: Path) -> None:
    links, alert, _ = _page_links(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")
    url = urlparse(links["Query in Grafana Explore"])
    assert (url.scheme, url.netloc, url.path) == ("https", "grafana.example.com", "/explore")
    params = parse_qs(url.query)
    assert params["schemaVersion"] == ["1"]
    [pane] = json.loads(params["panes"][0]).values()
    assert pane["datasource"] == "prometheus"
    assert pane["queries"] == [{"refId": "A", "expr": ui_links.linked_query(alert),
                                "datasource": {"type": "prometheus", "uid": "prometheus"}}]
    assert pane["range"] == {"from": f"now-{ui_links.RANGE}", "to": "now"}


def test_without_urls_there_are_no_links_and_prometheus_3_gets_its_new_query_page(tmp_path: Path) -> None:
    scaffold.init(tmp_path / "c")
    result = pipeline.compile_catalog(tmp_path / "c")
    page = result.files["runbooks/web/alerts/WebErrorRatioHigh.md"].decode()
    assert "explore?" not in page and "/graph?" not in page and "silences" not in page
    settings = tmp_path / "c" / "moncat.yaml"
    settings.write_text(settings.read_text().replace('version: "2.42"', 'version: "3.1"').replace(
        "# url: https://prometheus.example.com", "url: https://prom.example.com"))
    result = pipeline.compile_catalog(tmp_path / "c")
    page = result.files["runbooks/web/alerts/WebErrorRatioHigh.md"].decode()
    assert re.search(r"\(https://prom\.example\.com/query\?g0\.expr=[^)&]+&g0\.tab=graph&g0\.range_input=6h\)", page)


@pytest.mark.parametrize("text", [
    "", "plain-text_0.9~", 'sum(rate(x{code="500"}[5m])) / 2 > 0.01', "{\"a\":[1,2]}\\n",
    "a b&c=d?e#f/g%h+i", "über café ✓ 日本", "\x00\x7f\x80", "𝄞 emoji 🚨",
])
def test_links_percent_encode_exactly_as_urllib_quote_with_nothing_safe(text: str) -> None:
    assert ui_links.quote_all(text) == quote(text, safe="")


def test_the_explore_link_encodes_the_query_as_the_whole_pane_json_would_be(tmp_path: Path) -> None:
    catalog = pipeline.analyse(_catalog(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")).catalog
    query = 'sum(rate(x{path="/ä\\"b"}[5m])) > 0.5 \x00query\x00'
    panes = {"a": {"datasource": "prometheus",
                   "queries": [{"refId": "A", "expr": query,
                                "datasource": {"type": "prometheus", "uid": "prometheus"}}],
                   "range": {"from": f"now-{ui_links.RANGE}", "to": "now"}}}
    whole = json.dumps(panes, separators=(",", ":"), sort_keys=True)
    assert ui_links.explore_url(catalog, query) == (
        f"https://grafana.example.com/explore?schemaVersion=1&panes={quote(whole, safe='')}")
