"""The runbook site in a real headless Chromium (Debian's), over HTTP on loopback: every page,
link and anchor resolves, one screenshot per page type, and a <script> written anywhere in the
catalog is shown as text on the HTML pages and stays inert on the Markdown pages."""
from __future__ import annotations

import functools
import html.parser
import shutil
import threading
from collections import deque
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

from compiler import pipeline, writer
from conftest import CATALOG
from devtools import CHROMIUM, Browser

PAGE_KINDS = {"index", "contacts", "service", "alert", "procedure"}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Site:
    """A directory served over HTTP on 127.0.0.1."""

    def __init__(self, root: Path):
        handler = functools.partial(_Quiet, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is missing: run `bash ci/test.sh`, which installs Debian's chromium")
    chromium = Browser(tmp_path_factory.mktemp("chromium") / "profile")
    yield chromium
    chromium.quit()


def _compile(catalog: Path, out: Path) -> Path:
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    writer.write(out, result.files)
    return out


LINKS = "Array.from(document.querySelectorAll('a[href]'), a => a.href)"
IDS = "Array.from(document.querySelectorAll('[id]'), e => e.id)"
STATUS = "performance.getEntriesByType('navigation')[0].responseStatus"


def test_every_page_link_and_anchor_of_the_seed_site_resolves_in_headless_chromium(
        browser: Browser, tmp_path: Path) -> None:
    out = _compile(CATALOG, tmp_path / "out")
    site = Site(out / "site")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        queue, seen = deque(["index.html"]), {"index.html"}
        ids: dict[str, set[str]] = {}
        anchors: list[tuple[str, str, str]] = []
        broken: list[str] = []
        external: set[str] = set()
        links = 0
        while queue:
            path = queue.popleft()
            browser.open(site.base + path)
            if browser.evaluate(STATUS) != 200:
                broken.append(f"{path}: HTTP {browser.evaluate(STATUS)}")
                continue
            ids[path] = set(browser.evaluate(IDS))
            kind = browser.evaluate("document.body.className").removeprefix("page-")
            if kind in PAGE_KINDS and not (shots / f"{kind}.png").exists():
                browser.screenshot(shots / f"{kind}.png")
            for href in browser.evaluate(LINKS):
                links += 1
                if not href.startswith(site.base):
                    external.add(href)
                    continue
                parts = urlsplit(href)
                target = unquote(parts.path).removeprefix("/")
                if parts.fragment:
                    anchors.append((path, target, unquote(parts.fragment)))
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for page, target, fragment in anchors:
            if target in ids and fragment not in ids[target]:
                broken.append(f"{page}: #{fragment} is not an id of {target}")
    finally:
        site.close()
    assert broken == []
    on_disk = {p.relative_to(out / "site").as_posix() for p in (out / "site").rglob("*.html")}
    assert set(ids) == on_disk, "pages no link leads to"
    assert all(urlsplit(u).scheme in ("https", "mailto") for u in external), external
    assert {p.stem for p in shots.glob("*.png")} == PAGE_KINDS
    for shot in shots.glob("*.png"):
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, shot.name
    print(f"site: {len(ids)} pages, {links} links ({len(anchors)} with an anchor, "
          f"{len(external)} external not followed), 0 broken; screenshots in {shots}")


# --- a <script> in catalog text ----------------------------------------------------------------

XSS = "<script>window.__moncat_xss = 1</script>"
IMG = "<img src=x onerror=window.__moncat_xss=2>"

SETTINGS = f"""\
version: 1
title: "Title {XSS}"
runbooks: {{base_url: https://runbooks.example.test}}
severities:
  P1: {{priority: 1, meaning: "Meaning {XSS}", sla: "SLA {IMG}", respond_within: 30m, page: true}}
contacts:
  oncall: {{name: "On-call {XSS}", role: "Role {IMG}", email: oncall@example.test, notes: "Notes {XSS}",
            escalates_to: lead}}
  lead: {{name: "Lead {IMG}", email: lead@example.test}}
incident_response: ["Detect {XSS}"]
"""

SERVICE = f"""\
service: web
title: "Web {XSS}"
description: "Description {XSS} and {IMG}"
owner: oncall
links: [{{title: "Link {XSS}", url: "javascript:window.__moncat_xss = 3"}}]
principles: ["Principle {XSS}"]
notes: ["Note {IMG}"]
metrics:
  up_total: {{type: counter, help: "Help {XSS}", baseline: "Baseline {IMG}", exporter: "Exporter {XSS}"}}
alerts:
  Down:
    expr: sum(rate(up_total[5m])) == 0
    severity: P1
    summary: "Summary {XSS}"
    description: "Description {IMG}"
    condition: "Condition {XSS}"
    procedure: fix
    dashboard: main
    examples:
      fires: {{series: {{up_total: "0x20"}}, comment: "Example {XSS}"}}
      quiet: {{series: {{up_total: "0+1x20"}}}}
procedures:
  fix:
    title: "Fix {XSS}"
    summary: "Summary {IMG}"
    detection:
      - "Step {XSS}"
      - {{text: "Query {IMG}", language: sql, code: "SELECT '{XSS}';"}}
    queries: [{{title: "Query title {XSS}", language: mongo, code: "db.x.find({{a: '{XSS}'}})"}}]
  standalone:
    title: "Standalone {IMG}"
    recovery: ["Recover {XSS}"]
checklists:
  daily: {{title: "Daily {XSS}", items: ["Item {XSS}", "Item {IMG}"]}}
dashboards:
  main:
    title: "Dashboard {XSS}"
    rows:
      - title: "Row {IMG}"
        panels:
          - title: "Panel {XSS}"
            alerts: [Down]
            queries: [{{expr: "sum(rate(up_total[5m]))", legend: "Legend {XSS}"}}]
logging:
  description: "Logging {XSS}"
  events: [{{event: "Event {IMG}", logger: "logger", level: INFO}}]
"""


class _Elements(html.parser.HTMLParser):
    """What a browser would build from HTML: elements that run code, and code-running URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.dangerous: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "iframe", "object", "embed"):
            self.dangerous.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith(("javascript:", "data:")):
                self.dangerous.append(f"{tag} {name}={value}")


def _dangerous(markup: str) -> list[str]:
    parser = _Elements()
    parser.feed(markup)
    return parser.dangerous


def test_a_script_in_catalog_text_is_escaped_in_html_and_inert_in_markdown(
        browser: Browser, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "moncat.yaml").write_text(SETTINGS)
    (catalog / "web.yaml").write_text(SERVICE)
    out = _compile(catalog, tmp_path / "out")
    pages = sorted((out / "site").rglob("*.html"))
    assert len(pages) == 6  # index, contacts, service, alert, two procedures
    for page in pages:
        markup = page.read_text()
        assert "<script" not in markup.lower() and "<img" not in markup.lower(), page.name
        assert _dangerous(markup) == [], page.name
        assert "&lt;script&gt;" in markup, page.name
    # The strictest reader: CommonMark with raw HTML passed through, as many renderers do.
    commonmark = MarkdownIt("commonmark", {"html": True})
    rendered = {}
    for page in sorted((out / "runbooks").rglob("*.md")):
        markup = commonmark.render(page.read_text())
        assert _dangerous(markup) == [], page.name
        rendered[page.relative_to(out / "runbooks").with_suffix(".html").as_posix()] = markup
    # And in the browser: nothing ran, and the reader sees the catalog's text as written.
    (out / "md-rendered").mkdir()
    for rel, markup in rendered.items():
        target = out / "md-rendered" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"<!DOCTYPE html><meta charset=utf-8><body>{markup}</body>")
    site = Site(out)
    try:
        for root, page in [("site", "web/alerts/Down.html"), ("site", "web/index.html"),
                           ("site", "contacts.html"), ("md-rendered", "web/alerts/Down.html"),
                           ("md-rendered", "web/index.html"), ("md-rendered", "contacts.html")]:
            browser.open(f"{site.base}{root}/{page}")
            assert browser.evaluate("document.scripts.length") == 0, (root, page)
            assert browser.evaluate("typeof window.__moncat_xss") == "undefined", (root, page)
            assert browser.evaluate("document.querySelectorAll('img').length") == 0, (root, page)
            assert XSS in browser.evaluate("document.body.innerText"), (root, page)
            if page == "web/index.html":
                # The javascript: link is shown, not linked.
                hrefs = browser.evaluate("Array.from(document.links, a => a.getAttribute('href'))")
                assert not [h for h in hrefs if "javascript" in h.lower()], hrefs
    finally:
        site.close()
