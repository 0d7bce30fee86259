"""Runbooks target: Markdown pages (runbooks/) and an HTML site (site/) from Jinja2 templates.

Pages per alert, per procedure and per service, a global index and a contacts page, with
relative links; catalog text is escaped in both formats.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterator

from compiler.parallel import fork_map
from compiler.artifacts import Artifact, ManagedObject
from compiler.diagnostics import Diagnostic
from compiler.dialects.promql import to_promql
from compiler.incremental import cached_batches
from compiler.model import Catalog, Expression, Procedure, Service
from compiler.targets.runbooks import text
from compiler.targets.runbooks.alert_facts import alert_facts
from compiler.targets.runbooks.i18n import table_name, translator
from compiler.targets.runbooks.tidy import Held, tidy_markdown
from compiler.targets.runbooks.pages import (Knowledge, Links, Page, catalog_pages, datadog_condition,
                                             duration, service_pages, slug)

# Jinja2 is imported when the first page renders (see `environment`): from 40 alerts a first
# compile renders its pages in a forked child (pipeline.BACKGROUND), and the compile's own
# process, which the child forks from once the catalog is linked, then never pays for it.
if TYPE_CHECKING:
    from jinja2 import BytecodeCache, Environment, Template

MARKDOWN_DIR = "runbooks"
SITE_DIR = "site"
STYLESHEET = "_static/style.css"


def _promql(expr: Expression) -> str:
    return to_promql(expr.tree)


def _bytecode_cache(language: str) -> BytecodeCache | None:
    from jinja2 import FileSystemBytecodeCache

    try:
        # A file per language: Jinja keys its cache by template name and checks the source.
        return FileSystemBytecodeCache(pattern=f"__jinja2_%s.{language}.cache")
    except (OSError, RuntimeError):
        return None  # no safe per-user temporary directory: compile the templates each run


@lru_cache(maxsize=8)
def environment(fmt: str, language: str = "en") -> Environment:
    """The Jinja2 environment of one format and one language's words (see WordedLoader). Both
    formats autoescape: whatever a template prints without passing it through a text filter is
    HTML-escaped, in Markdown too (where it stays inert)."""
    # Compiling the templates cost a fifth of a small compile: Jinja keeps their bytecode in its
    # per-user cache directory (keyed by the template source), and templates are not re-checked
    # for changes on every page.
    from jinja2 import Environment, StrictUndefined

    from compiler.targets.runbooks.worded import WordedLoader

    env = Environment(loader=WordedLoader(translator(language)),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False,
                      bytecode_cache=_bytecode_cache(table_name(language)))
    env.filters["slug"] = slug
    env.globals.update(duration=duration, promql=_promql)
    if fmt == "html":
        env.filters.update(block=text.html_block, inline=text.html_inline, cell=text.html_inline,
                           code=lambda s: text.Markup("<code>") + str(s) + text.Markup("</code>"))
        env.globals.update(code_block=text.html_code_block, ext_link=text.html_link)
    else:
        env.filters.update(block=text.md_block, inline=text.md_inline, cell=text.md_cell,
                           code=text.md_code_span)
        env.globals.update(code_block=text.md_code_block, ext_link=text.md_link)
    return env


@lru_cache(maxsize=64)
def _template(fmt: str, language: str, name: str) -> Template:
    return environment(fmt, table_name(language)).get_template(name)


def _macros(fmt: str, language: str) -> Any:
    """The macros module (`m` in templates), built once: a template's `import` builds it per page."""
    return _template(fmt, language, f"macros.{fmt}.j2").module


class _PageMacros:
    """`m` of one page: the macros module, whose procedure body (shown on the procedure's page
    and again on the page of every alert that follows it) is rendered once per procedure, level
    and directory of the pages showing it, in each format and language. Its arguments decide it:
    the procedure, `k` and `t` (the catalog's, the language's) and `link` (the directory)."""

    def __init__(self, catalog: Catalog, fmt: str, language: str):
        self._catalog, self._fmt, self._language = catalog, fmt, language
        self._module = _macros(fmt, language)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def procedure_body(self, proc: Procedure, k: Knowledge, link: Links, t: Any, level: int = 2) -> Any:
        key = ("runbooks", "procedure_body", self._fmt, self._language, proc.service, proc.id,
               level, link.here)
        return self._catalog.once(key, lambda: self._module.procedure_body(proc, k, link, t, level))


def _shared(catalog: Catalog, fmt: str, page: Page) -> Any:
    """`{% call shared(name, *facts) %}...{% endcall %}`: a part of a page that `facts` decide
    (with the format, the language and the page's directory, which its links start from),
    rendered by the first page that shows it and reused by the others (a service's alert pages
    show the same part for each of its severity levels)."""
    here = page.key.rpartition("/")[0]

    def shared(*key: Any, caller: Callable[[], str]) -> Any:
        return catalog.once(("runbooks", "shared", fmt, page.language, here, *key), caller)

    return shared


def _render(catalog: Catalog, k: "Knowledge", page: Page) -> list[Artifact]:
    """The Markdown and the HTML artifact of one page."""
    t = translator(page.language)
    context = {"page": page, "catalog": catalog, "k": k, "t": t, "proc": None, "f": None}
    if page.kind == "alert":
        # Worked out once for both formats.
        context["f"] = facts = alert_facts(k, page.service, page.entity, t)
        context["proc"] = facts.proc
    elif page.kind == "slo":
        context["proc"] = page.service.procedures.get(page.entity.spec.procedure)
    out = []
    for fmt, folder, ext in (("md", MARKDOWN_DIR, "md"), ("html", SITE_DIR, "html")):
        template = _template(fmt, page.language, f"{page.kind}.{ext}.j2")

        def page_text(held: Held | None) -> str:
            return template.render(link=Links(page, ext), m=_PageMacros(catalog, fmt, page.language),
                                   shared=_shared(catalog, fmt, page), held=held, **context)

        if fmt == "md":
            held = Held()  # see Knowledge.each
            body = held.tidy(page_text(held))
            if body is None:  # the page's own text holds a NUL (see Held.tidy)
                body = tidy_markdown(page_text(Held(holding=False)))
        else:
            body = page_text(None)
        ident = page.key.removesuffix("/index") if page.kind == "service" else page.key
        obj = ManagedObject(ident, f"{page.kind}_page", "runbooks" if fmt == "md" else "site",
                            page.source, body)
        out.append(Artifact(f"{folder}/{page.key}.{ext}", body, "text", (obj,)))
    return out


def build(catalog: Catalog) -> tuple[list[Artifact], list[Diagnostic]]:
    return [a for batch in batches(catalog) for a in batch], []


def batches(catalog: Catalog) -> Iterator[list[Artifact]]:
    """`build`'s artifacts (it reports no diagnostics) in its order, a few at a time: the
    catalog-wide pages, the services' pages a batch of services at a time (with the cache, as
    incremental.cached_batches computes them: `Run.light`, the form the write needs), then the
    stylesheet. A caller that passes each batch on never holds every page."""
    k = Knowledge.of(catalog)
    yield [a for page in catalog_pages(catalog) for a in _render(catalog, k, page)]
    for by_service in cached_batches(catalog, "runbooks", catalog.services,
                                     lambda services: _render_services(catalog, k, services)):
        yield [a for artifacts in by_service.values() for a in artifacts]
    yield [_stylesheet()]


def prepare(catalog: Catalog, services: list[Service]) -> None:
    """What these services' pages read that the compile computes for its checks and other
    targets too (each alert's Datadog condition), computed now: called before the pages' child
    forks, so that the child reads it instead of computing it again."""
    for svc in services:
        for alert in svc.alerts.values():
            datadog_condition(catalog, svc, alert)


def stream(catalog: Catalog) -> Iterator[Artifact]:
    """`build`'s artifacts without the incremental cache (it reports no diagnostics), rendered
    one page at a time in this process: a caller that renders each to bytes and lets it go never
    holds every page's text at once."""
    k = Knowledge.of(catalog)
    todo = list(catalog_pages(catalog)) + [p for svc in catalog.services for p in service_pages(catalog, svc)]
    _load_templates(todo)
    for page in todo:
        yield from _render(catalog, k, page)
    yield _stylesheet()


def _load_templates(todo: list[Page]) -> None:
    # Templates and macros loaded before fork_map forks: the workers inherit them.
    for fmt in ("md", "html"):
        for language, kind in {(page.language, page.kind) for page in todo}:
            _template(fmt, language, f"{kind}.{fmt}.j2")
            _macros(fmt, language)


def _stylesheet() -> Artifact:
    css = environment("html").loader.get_source(environment("html"), "style.css")[0]
    css += "\n/* Code highlighting (Pygments). */\n" + text.pygments_css() + "\n"
    return Artifact(f"{SITE_DIR}/{STYLESHEET}", css, "text")


def _render_services(catalog: Catalog, k: Knowledge, services: list[Service]) -> dict[str, list[Artifact]]:
    """The pages of these services, by service. Pages are independent and rendering dominates
    large catalogs: they are spread over the cores."""
    todo = [page for svc in services for page in service_pages(catalog, svc)]
    _load_templates(todo)
    out: dict[str, list[Artifact]] = {svc.id: [] for svc in services}
    for page, pair in zip(todo, fork_map(lambda page: _render(catalog, k, page), todo)):
        out[page.service.id].extend(pair)
    return out


__all__ = ["batches", "build", "prepare", "stream", "environment", "tidy_markdown", "Page"]
