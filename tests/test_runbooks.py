"""Runbook pages: every alert, procedure and service has its page in Markdown and HTML, every
alert's runbook_url is its page, AgentBar's pages are in Indonesian, everything the seed catalog
says has a home in its system's pages, and catalog text is escaped (HTML) or inert (Markdown)."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from jinja2 import Environment

from compiler import pipeline, writer
from compiler.dialects.promql import to_promql
from compiler.durations import format_ms
from compiler.model import Catalog, Service
from compiler.targets.runbooks import text, tidy_markdown
from compiler.targets.runbooks.i18n import EN, LANGUAGES, Words, translator
from compiler.targets.runbooks.worded import WordedLoader
from conftest import CATALOG


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> tuple[Catalog, Path]:
    result = pipeline.compile_catalog(CATALOG)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    out = tmp_path_factory.mktemp("seed") / "out"
    writer.write(out, result.files)
    return result.catalog, out


def _pages(catalog: Catalog) -> list[str]:
    keys = ["index", "contacts"]
    for svc in catalog.services:
        keys.append(f"{svc.id}/index")
        keys += [f"{svc.id}/alerts/{a}" for a in svc.alerts]
        keys += [f"{svc.id}/procedures/{p}" for p in svc.procedures]
        keys += [f"{svc.id}/slos/{s}" for s in svc.slos]
    return keys


def test_every_alert_procedure_and_service_has_a_markdown_and_an_html_page(seed) -> None:
    catalog, out = seed
    keys = _pages(catalog)
    md = sorted(p.relative_to(out / "runbooks").as_posix() for p in (out / "runbooks").rglob("*.md"))
    site = sorted(p.relative_to(out / "site").as_posix() for p in (out / "site").rglob("*.html"))
    assert md == sorted(f"{k}.md" for k in keys)
    assert site == sorted(f"{k}.html" for k in keys)


def test_every_alerts_runbook_url_is_its_generated_page(seed) -> None:
    catalog, out = seed
    base = catalog.settings.runbooks_base_url
    checked = 0
    for rules in sorted((out / "prometheus").glob("*.rules.yaml")):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                url = rule["annotations"]["runbook_url"]
                assert url.startswith(base + "/"), url
                page = out / "site" / url.removeprefix(base + "/")
                assert page.is_file(), url
                assert f"</span> {rule['alert']}</h1>" in page.read_text(), url
                checked += 1
    assert checked == sum(len(s.alerts) for s in catalog.services)


def test_agentbar_pages_are_in_indonesian_and_the_other_systems_in_english(seed) -> None:
    _, out = seed
    id_words, en_words = translator("id"), translator("en")
    for page in ("agentbar/index", "agentbar/alerts/WebhookNotReceived",
                 "agentbar/procedures/webhook-failure"):
        site = (out / "site" / f"{page}.html").read_text()
        md = (out / "runbooks" / f"{page}.md").read_text()
        assert '<html lang="id">' in site
        for key in ("home", "defined_at"):
            assert id_words(key) in site and id_words(key) in md
    alert = (out / "site" / "agentbar/alerts/WebhookNotReceived.html").read_text()
    for key in ("what_it_means", "severity_response", "who", "detection", "mitigation", "verification"):
        assert f">{id_words(key)}<" in alert, key
        assert f">{en_words(key)}<" not in alert, key
    shop = (out / "site" / "shop/alerts/ShopStuckPaidOrders.html").read_text()
    assert '<html lang="en">' in shop and f">{en_words('what_it_means')}<" in shop


def test_both_languages_name_every_fixed_heading() -> None:
    assert all(set(words) == set(LANGUAGES["en"]) for words in LANGUAGES.values())
    assert all(value.strip() for words in LANGUAGES.values() for value in words.values())


# --- every piece of seed content has a home ----------------------------------------------------

def _texts(catalog: Catalog, svc: Service) -> list[tuple[str, str]]:
    """(what, text) for everything the catalog says about a service, as its pages must show it."""
    out: list[tuple[str, str]] = []

    def add(what: str, value) -> None:
        if value:
            out.append((what, str(value)))

    def steps(what: str, items) -> None:
        for i, step in enumerate(items):
            add(f"{what}[{i}]", step.text)
            add(f"{what}[{i}].code", step.code)

    for key in ("title", "description", "source", "team", "owner"):
        add(f"service.{key}", getattr(svc, key))
    for link in svc.links:
        add("link", link.title)
        add("link.url", link.url)
    for i, item in enumerate(svc.principles):
        add(f"principle[{i}]", item)
    for i, item in enumerate(svc.notes):
        add(f"note[{i}]", item)
    if svc.logging:
        add("logging.description", svc.logging.description)
        for f in svc.logging.required_fields:
            add("logging.field", f)
        if svc.logging.example:
            add("logging.example", svc.logging.example.code)
        for e in svc.logging.events:
            add("logging.event", e.event)
            add("logging.logger", e.logger)
    for m in svc.metrics.values():
        for key in ("name", "help", "unit", "baseline", "target", "exporter", "source_name"):
            add(f"metric {m.name}.{key}", getattr(m, key))
        for label in m.labels:
            add(f"metric {m.name}.label", label)
    for r in svc.recording_rules.values():
        add(f"record {r.name}", r.name)
        add(f"record {r.name}.expr", to_promql(r.expr.tree))
        for key in ("help", "unit", "baseline", "target", "source_name"):
            add(f"record {r.name}.{key}", getattr(r, key))
    for a in svc.alerts.values():
        for key in ("name", "summary", "description", "condition", "severity"):
            add(f"alert {a.name}.{key}", getattr(a, key))
        add(f"alert {a.name}.expr", to_promql(a.expr.tree))
        add(f"alert {a.name}.for", format_ms(a.for_ms) if a.for_ms else "")
        for ex in a.examples:
            add(f"alert {a.name}.example", ex.comment)
    for p in svc.procedures.values():
        for key in ("title", "summary", "trigger"):
            add(f"procedure {p.id}.{key}", getattr(p, key))
        for key in ("detection", "mitigation", "recovery", "verification", "escalation"):
            steps(f"procedure {p.id}.{key}", getattr(p, key))
        for q in p.queries:
            add(f"procedure {p.id}.query", q.title)
            add(f"procedure {p.id}.query.code", q.code)
        for link in p.links:
            add(f"procedure {p.id}.link", link.title)
        for cid in p.notify:
            add(f"procedure {p.id}.notify", catalog.contacts[cid].name)
    for c in svc.checklists.values():
        add(f"checklist {c.id}", c.title)
        add(f"checklist {c.id}.when", c.when)
        for i, item in enumerate(c.items):
            add(f"checklist {c.id}[{i}]", item)
    for d in svc.dashboards.values():
        add(f"dashboard {d.id}", d.title)
        add(f"dashboard {d.id}.description", d.description)
        add(f"dashboard {d.id}.time", d.time)
        for row in d.rows:
            add(f"dashboard {d.id}.row", row.title)
            for panel in row.panels:
                add(f"panel {panel.title!r}", panel.title)
                add(f"panel {panel.title!r}.description", panel.description)
                add(f"panel {panel.title!r}.unit", panel.unit)
                for q in panel.queries:
                    add(f"panel {panel.title!r}.query", q.expr.text)
                    add(f"panel {panel.title!r}.legend", q.legend)
    for s in (svc.severities or catalog.severities).values():
        for key in ("id", "meaning", "sla"):
            add(f"severity {s.id}.{key}", getattr(s, key))
        add(f"severity {s.id}.respond_within", format_ms(s.respond_within_ms) if s.respond_within_ms else "")
    for c in catalog.contacts.values():
        if c.service == svc.id:
            for key in ("name", "role", "rotation", "email", "slack", "pagerduty", "opsgenie", "webhook",
                        "notes"):
                add(f"contact {c.id}.{key}", getattr(c, key))
            for rule in c.escalates_to:
                add(f"contact {c.id}.escalates_to {rule.level or ''}", catalog.contacts[rule.to].name)
    return out


_ESCAPED = re.compile(r"\\([\\|.)\-#>=+*\[\]])")


def _plain(markdown: str) -> str:
    """Page text as a reader sees it, near enough: escapes undone, whitespace collapsed."""
    return " ".join(html.unescape(_ESCAPED.sub(r"\1", markdown)).split())


def homeless(catalog: Catalog, out: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    shared = (out / "runbooks" / "index.md").read_text() + (out / "runbooks" / "contacts.md").read_text()
    for svc in catalog.services:
        pages = "\n".join(p.read_text() for p in sorted((out / "runbooks" / svc.id).rglob("*.md")))
        seen = _plain(pages + shared)
        found[svc.id] = [what for what, value in _texts(catalog, svc) if _plain(value) not in seen]
    return found


def test_everything_the_seed_catalog_says_has_a_home_in_its_systems_pages(seed) -> None:
    catalog, out = seed
    counted = {svc.id: len(_texts(catalog, svc)) for svc in catalog.services}
    assert all(n > 100 for n in counted.values()), counted
    assert homeless(catalog, out) == {svc.id: [] for svc in catalog.services}
    for step in catalog.settings.incident_response:
        assert _plain(step.text) in _plain((out / "runbooks" / "index.md").read_text())


def test_recovery_queries_keep_their_language_as_highlighted_code(seed) -> None:
    _, out = seed
    stuck = (out / "site" / "shop/procedures/stuck-paid-orders.html").read_text()
    assert ('<span class="lang">MongoDB shell</span><pre class="highlight"><code>'
            '<span class="nx">db</span>') in stuck
    md = (out / "runbooks" / "shop/procedures/stuck-paid-orders.md").read_text()
    assert "*MongoDB shell:*\n\n```javascript\ndb.orders.find({ status: \"paid\"" in md
    store = (out / "site" / "store/procedures/resync-suppliers-and-rerun-orders.html").read_text()
    assert '<span class="lang">Python</span>' in store and '<span class="kn">from</span>' in store
    qr = (out / "site" / "qr-pilot/procedures/reconciliation-spike.html").read_text()
    assert '<span class="lang">SQL</span>' in qr and '<span class="k">SELECT</span>' in qr


# --- text filters ------------------------------------------------------------------------------

@pytest.mark.parametrize("source,markdown", [
    ("plain text", "plain text"),
    ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
    ('<img src=x onerror="alert(1)">', '&lt;img src=x onerror="alert(1)">'),
    ("<!-- hidden -->", "&lt;!-- hidden -->"),
    ("<https://example.test>", "&lt;https://example.test>"),
    ("SLA < 30 menit, p95 > 300 ms", "SLA < 30 menit, p95 > 300 ms"),
    ("`Authorization: Bearer <access_token>`", "`Authorization: Bearer <access_token>`"),
    ("run `<b>` then <b>", "run `<b>` then &lt;b>"),
    ("[click](javascript:alert(1))", "[click](#javascript-alert(1))"),
    ("1. Restart worker", "1\\. Restart worker"),
    ("- not a list", "\\- not a list"),
    ("# not a heading", "\\# not a heading"),
    ("> not a quote", "\\> not a quote"),
    ("#agentbar-tech", "#agentbar-tech"),
    ("two\n  lines", "two lines"),
])
def test_catalog_text_on_a_markdown_page_keeps_its_markdown_and_loses_its_html(source, markdown) -> None:
    assert str(text.md_inline(source)) == markdown


@pytest.mark.parametrize("code,lang,block", [
    ("SELECT 1;", "sql", "```sql\nSELECT 1;\n```"),
    ("db.x.find()", "mongo", "*MongoDB shell:*\n\n```javascript\ndb.x.find()\n```"),
    ("echo ```", "shell", "````shell\necho ```\n````"),
    ("a", "", "```\na\n```"),
])
def test_code_blocks_are_fenced_longer_than_any_backtick_run_in_them(code, lang, block) -> None:
    assert str(text.md_code_block(code, lang)) == block


@pytest.mark.parametrize("title,url,markdown,html_link", [
    ("Stripe", "https://dashboard.stripe.com/webhooks", "[Stripe](https://dashboard.stripe.com/webhooks)",
     '<a class="external" href="https://dashboard.stripe.com/webhooks">Stripe</a>'),
    ("Checklist", "docs/x.md", "Checklist (`docs/x.md`)", "Checklist (<code>docs/x.md</code>)"),
    ("Evil", "javascript:alert(1)", "Evil (`javascript:alert(1)`)",
     "Evil (<code>javascript:alert(1)</code>)"),
    ("Spaced", "https://a.test/x y", "Spaced (`https://a.test/x y`)",
     "Spaced (<code>https://a.test/x y</code>)"),
])
def test_links_outside_this_site_are_links_only_when_absolute(title, url, markdown, html_link) -> None:
    assert str(text.md_link(title, url)) == markdown
    assert str(text.html_link(title, url)) == html_link


def test_html_text_renders_markdown_and_shows_raw_html_as_text() -> None:
    out = str(text.html_block("**bold** <script>x()</script> [repo doc](docs/a.md) [site](https://e.test)"))
    assert out == ('<p><strong>bold</strong> &lt;script&gt;x()&lt;/script&gt; repo doc '
                   '<a href="https://e.test">site</a></p>')


@pytest.mark.parametrize("source", [
    "Fix it.", "Rate 2.3", "5xx errors (per route) / 5m: 90% + 1", "don't page at night", "a  b", "svc-0 board",
    "", "\n", "   ", "see http://example.com/a?b=1", "www.example.com", "mailto:a", "1. a list", "- item", "# heading", "> quote", "a *b*", "a_b_c", "x  ", "    indented", "Rate\n===",
    "a `b`", "a & b", "a <b>", "a \\*b", "~~gone~~", "[x](https://e.test)", "a\nb", "A\n\nB", "![i](x.png)",
])
def test_plain_text_skips_the_markdown_parser_and_renders_as_markdown_it_does(source) -> None:
    md = text._markdown()
    assert str(text.html_inline(source)) == md.renderInline(" ".join(source.split()))
    assert str(text.html_block(source)) == md.render(source.strip("\n")).strip()


def test_every_short_plain_phrase_renders_as_markdown_it_renders_it() -> None:
    import random

    md, rng = text._markdown(), random.Random(14)
    for _ in range(3000):
        source = "".join(rng.choice("aZ09 .,:;?()'/+=%-") for _ in range(rng.randint(1, 16)))
        assert str(text.html_inline.__wrapped__(source)) == md.renderInline(" ".join(source.split())), source
        assert str(text.html_block.__wrapped__(source)) == md.render(source.strip("\n")).strip(), source


def test_markdown_pages_keep_blank_lines_inside_code() -> None:
    page = "# T\ntext\n\n\n\n```python\na\n\n\nb\n```\n\n\n- x   \n"
    assert tidy_markdown(page) == "# T\n\ntext\n\n```python\na\n\n\nb\n```\n\n- x\n"


def test_fixed_words_are_written_into_the_templates_escaped_unless_that_could_read_differently() -> None:
    words = Words({**EN, "home": "R&D <home>", "contacts": "{{ 7 * 7 }}", "who": " padded", "query": "a\nb"})
    source = WordedLoader(words).get_source(Environment(), "alert.md.j2")[0]
    assert "[R&amp;D &lt;home&gt;]" in source and "{{ t.home }}" not in source
    for key in ("who", "query"):
        assert "{{ t.%s }}" % key in source
    html = WordedLoader(words).get_source(Environment(), "base.html.j2")[0]
    assert "{{ t.contacts }}" in html and "{{ 7 * 7 }}" not in html


def test_the_streamed_pages_are_builds_pages_in_builds_order(seed) -> None:
    from compiler.targets import runbooks

    catalog, _ = seed
    built, diags = runbooks.build(catalog)
    assert diags == []
    streamed = list(runbooks.stream(catalog))
    assert [(a.path, a.data, a.objects) for a in streamed] == [(a.path, a.data, a.objects) for a in built]
