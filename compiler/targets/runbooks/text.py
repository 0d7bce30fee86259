"""Runbooks target, text: catalog Markdown made inert (Markdown) or rendered (HTML); code highlighted."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from compiler import codecache

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# markdown-it and Pygments are imported when the first page needs them: the pages render in a
# forked child (pipeline.BACKGROUND), so the compile's own process never pays for the imports.
# Entries of each cache of converted catalog text (and of links): a service's pages repeat
# their strings, the next service's pages seldom do. Caches sized for every string of 10,000
# alerts held some 50 MiB of the pages' child; this many miss 5% more lookups there (the
# index's strings, met again on each alert's own page).
TEXTS = 4096


@dataclass(frozen=True)
class Language:
    label: str   # shown above the block
    fence: str   # Markdown info string (what renderers highlight by)
    lexer: str   # Pygments lexer


LANGUAGES = {
    "promql": Language("PromQL", "promql", "promql"),
    "mongo": Language("MongoDB shell", "javascript", "javascript"),
    "sql": Language("SQL", "sql", "sql"),
    "python": Language("Python", "python", "python"),
    "django": Language("Django shell", "python", "python"),
    "shell": Language("Shell", "shell", "bash"),
    "bash": Language("Shell", "bash", "bash"),
    "json": Language("JSON", "json", "json"),
    "yaml": Language("YAML", "yaml", "yaml"),
    "datadog": Language("Datadog", "", "text"),
}
_LEXERS = frozenset(language.lexer for language in LANGUAGES.values())


def language(name: str) -> Language:
    found = LANGUAGES.get(name)
    return found if found is not None else Language(name.upper() if name else "", name, name or "text")


# --- Markdown pages ----------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[^\n]*\n(?:.|\n)*?(?:^\1?\2[`~]*[ \t]*$|\Z)", re.M)


def _outside_code(text: str, fix) -> str:
    """Apply `fix` to the parts of `text` that are not code spans or fenced blocks (code is
    shown literally by every Markdown renderer, so it is inert as it stands)."""
    out, pos = [], 0
    spans = sorted([m.span() for m in _FENCE.finditer(text)])
    covered = []
    for start, end in spans:
        covered.append((start, end))
    for m in _CODE_SPAN.finditer(text):
        if not any(s <= m.start() < e for s, e in covered):
            covered.append(m.span())
    for start, end in sorted(covered):
        if start < pos:
            continue
        out.append(fix(text[pos:start]))
        out.append(text[start:end])
        pos = end
    out.append(fix(text[pos:]))
    return "".join(out)


_SCRIPT_LINK = re.compile(r"(?i)\]\(\s*(javascript|vbscript|data|file):")


# CommonMark starts raw HTML (a tag, a comment, a declaration) or an autolink only with `<`
# followed by a letter, `/`, `!` or `?`; a "< 30 minutes" stays as written.
_OPENS_HTML = re.compile(r"<(?=[A-Za-z/!?])")
_BLOCK_START = re.compile(r"^(\d{1,9}(?=[.)](?:\s|$))|[-+*](?=\s|$)|#{1,6}(?=\s|$)|>|=+$)")


def _inert(part: str) -> str:
    # As `&lt;` the `<` of a <script> or an <img onerror> is text; a link to a script URL
    # becomes a harmless fragment.
    return _SCRIPT_LINK.sub(r"](#\1-", _OPENS_HTML.sub("&lt;", part))


@lru_cache(maxsize=TEXTS)
def md_block(text: str) -> Markup:
    """Catalog Markdown for a Markdown page: kept as written, raw HTML made inert."""
    return Markup(_outside_code(text.strip("\n"), _inert))


@lru_cache(maxsize=TEXTS)
def md_inline(text: str) -> Markup:
    """One line of catalog Markdown (a heading, a list item): raw HTML inert, and a leading
    "1." or "-" kept as text rather than opening a nested list."""
    line = _outside_code(" ".join(text.split()), _inert)
    m = _BLOCK_START.match(line)
    if m:
        # "1." -> "1\.", "-" -> "\-", "#" -> "\#", ">" -> "\>": the same text, not a block.
        cut = m.end() if m.group(1)[0].isdigit() else 0
        line = line[:cut] + "\\" + line[cut:]
    return Markup(line)


@lru_cache(maxsize=TEXTS)
def md_cell(text: str) -> Markup:
    """A table cell: one line, pipes escaped (inside code spans too, as GFM tables need)."""
    return Markup(md_inline(text).replace("|", "\\|") or " ")


@lru_cache(maxsize=TEXTS)
def md_code_span(text: str) -> Markup:
    # Cached: labels, receivers and URLs repeat across a catalog's pages.
    text = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return Markup(f"{ticks}{pad}{text}{pad}{ticks}")


def md_code_block(code: str, lang: str = "") -> Markup:
    """A fenced block longer than any backtick run in the code, so the code cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    info = language(lang)
    # A Mongo query is highlighted as JavaScript: say which shell it is for.
    label = f"*{info.label}:*\n\n" if lang and info.fence != lang else ""
    return Markup(f"{label}{fence}{info.fence}\n{code.rstrip()}\n{fence}")


def md_link(title: str, url: str) -> Markup:
    """A link when the URL is absolute http(s) or mailto; otherwise the text and the path as
    code (catalog paths such as docs/x.md live in the service's repository, not in this site)."""
    if is_external(url):
        safe = quote(url, safe="/:?#[]@!$&'*+,;=%~-._")
        return Markup(f"[{md_inline(title).replace(']', chr(92) + ']')}]({safe})")
    return Markup(f"{md_inline(title)} ({md_code_span(url)})")


def is_external(url: str) -> bool:
    return re.match(r"(?i)^(https?://[^\s]+|mailto:[^\s]+)$", url) is not None


# --- HTML pages --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _markdown() -> "MarkdownIt":
    from markdown_it import MarkdownIt

    # html=False: raw HTML in catalog text is shown as text, never parsed.
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.core.ruler.push("moncat_relative_links", _unlink_relative)
    return md


def _unlink_relative(state) -> None:
    """Links to paths outside this site (a repository's docs/x.md) become their text."""
    for token in state.tokens:
        if not token.children:
            continue
        kept, skip_close = [], []
        for child in token.children:
            if child.type == "link_open":
                bad = not is_external(str(child.attrGet("href") or ""))
                skip_close.append(bad)
                if bad:
                    continue
            elif child.type == "link_close":
                if skip_close and skip_close.pop():
                    continue
            kept.append(child)
        token.children = kept


# A phrase of ASCII letters, digits, spaces and punctuation that no CommonMark rule reads (no
# emphasis, code, link, escape, entity, tag or line break) is rendered by markdown-it as itself:
# such text (most titles, names and one-line summaries) skips the parser, and a compile whose
# text is all plain never imports it (the pages' child started with that import). Starting with
# a letter and on one line, it opens no block either (list, heading, quote, code, table).
_PLAIN = re.compile(r"[A-Za-z0-9 .,:;?()'/+=%-]+")


@lru_cache(maxsize=TEXTS)
def html_block(text: str) -> Markup:
    text = text.strip("\n")
    if not text:
        return Markup("")
    if _PLAIN.fullmatch(text) and text[0].isalpha() and not text.endswith(" "):
        return Markup(f"<p>{text}</p>")
    return Markup(_markdown().render(text).strip())


@lru_cache(maxsize=TEXTS)
def html_inline(text: str) -> Markup:
    text = " ".join(text.split())
    if not text or _PLAIN.fullmatch(text):
        return Markup(text)
    return Markup(_markdown().renderInline(text))


@lru_cache(maxsize=1)
def _formatter() -> Any:
    from compiler.targets.runbooks.lexing import import_pygments

    import_pygments()
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


@lru_cache(maxsize=64)
def _lexer(name: str) -> Any:
    # The patterns of each language of the table (a few dozen each) kept apart: a catalog reads
    # only its languages'. Other names (the catalog's own words) share one file.
    with codecache.regex_programs(f"lexer-{name}" if name in _LEXERS else "lexer-other"):
        from compiler.targets.runbooks.lexing import import_pygments, speed_up

        import_pygments()
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            return speed_up(get_lexer_by_name(name, stripnl=False, ensurenl=False))
        except ClassNotFound:
            return get_lexer_by_name("text", stripnl=False, ensurenl=False)


@lru_cache(maxsize=4096)
def html_code_block(code: str, lang: str = "") -> Markup:
    from pygments import highlight

    # Cached: a procedure's queries appear on its page and on every alert page that uses it.
    lang_info = language(lang)
    body = highlight(code.rstrip(), _lexer(lang_info.lexer), _formatter())
    label = f'<span class="lang">{escape(lang_info.label)}</span>' if lang_info.label else ""
    return Markup(f'<div class="code">{label}<pre class="highlight"><code>{body}</code></pre></div>')


def html_link(title: str, url: str) -> Markup:
    if is_external(url):
        return Markup(f'<a class="external" href="{escape(url)}">{html_inline(title)}</a>')
    return Markup(f"{html_inline(title)} (<code>{escape(url)}</code>)")


def pygments_css() -> str:
    from compiler.targets.runbooks.lexing import import_pygments

    import_pygments()
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter().get_style_defs(".highlight")
