"""Runbook pages: the parts rendered once and shown on many pages (a procedure's body on every alert
page that follows the procedure, a severity's facts on each alert page of that level, the
breadcrumbs) are the parts each page would render on its own (per service, level, format,
language and directory)."""
from __future__ import annotations

from dataclasses import replace

from compiler import pipeline
from compiler.targets import runbooks
from compiler.targets.runbooks import Knowledge, _macros, _PageMacros
from compiler.targets.runbooks.i18n import translator
from compiler.targets.runbooks.pages import Links, service_pages
from conftest import CATALOG


def _pages(files: dict[str, bytes]) -> dict[str, bytes]:
    return {p: b for p, b in files.items() if p.startswith(("runbooks/", "site/"))}


def test_pages_with_shared_parts_equal_pages_that_render_each_part_themselves(monkeypatch) -> None:
    shared = pipeline.compile_catalog(CATALOG)
    assert not shared.report.has_errors()
    renders, parts = [], []

    def own(self, proc, k, link, t, level=2):
        renders.append(proc.id)
        return self._module.procedure_body(proc, k, link, t, level)

    def own_part(catalog, fmt, page):
        def part(*key, caller):
            parts.append((fmt, page.key.rpartition("/")[0], *key))
            return caller()
        return part

    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS", 10**9)  # render here, to count
    monkeypatch.setattr(runbooks._PageMacros, "procedure_body", own)
    monkeypatch.setattr(runbooks, "_shared", own_part)
    alone = pipeline.compile_catalog(CATALOG)
    assert _pages(alone.files) == _pages(shared.files)
    # The seed's alerts follow a few procedures and share a few levels: most alert pages showed
    # a body and a severity's facts rendered before.
    assert len(renders) > len(set(renders)) * 2
    assert {key[2] for key in parts} == {"severity", "crumbs"} and len(parts) > len(set(parts)) * 2


def test_a_shared_body_is_kept_apart_by_service_level_format_and_language() -> None:
    catalog = pipeline.analyse(CATALOG, None, lambda c: None, None).catalog
    k = Knowledge.of(catalog)
    svc, other = [s for s in catalog.services if s.procedures][:2]
    proc = next(iter(svc.procedures.values()))
    namesake = replace(next(iter(other.procedures.values())), id=proc.id)  # same id, other service
    page = next(p for p in service_pages(catalog, svc) if p.kind == "alert")
    seen = set()
    for fmt in ("md", "html"):
        for language in ("en", "id"):
            t = translator(language)
            link = Links(page, fmt)
            for p in (proc, namesake):
                for level in (2, 3):
                    body = str(_PageMacros(catalog, fmt, language).procedure_body(p, k, link, t, level))
                    assert body == str(_macros(fmt, language).procedure_body(p, k, link, t, level))
                    seen.add(body)
    assert len(seen) == 16  # two procedures, two levels, two formats, two languages: all differ
