"""Runbook pages: a procedure's body, rendered once and shown on every alert page that follows the
procedure, is the body each page would render on its own (per service, level, format, language)."""
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


def test_pages_with_shared_procedure_bodies_equal_pages_that_render_each_body_themselves(monkeypatch) -> None:
    shared = pipeline.compile_catalog(CATALOG)
    assert not shared.report.has_errors()
    renders = []

    def own(self, proc, k, link, t, level=2):
        renders.append(proc.id)
        return self._module.procedure_body(proc, k, link, t, level)

    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS", 10**9)  # render here, to count
    monkeypatch.setattr(runbooks._PageMacros, "procedure_body", own)
    alone = pipeline.compile_catalog(CATALOG)
    assert _pages(alone.files) == _pages(shared.files)
    # The seed's alerts follow a few procedures: most alert pages showed a body rendered before.
    assert len(renders) > len(set(renders)) * 2


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
