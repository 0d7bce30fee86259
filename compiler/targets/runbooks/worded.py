"""Runbooks target, template loading: each template with its fixed words written out in one language."""
from __future__ import annotations

import re
from typing import Callable

from jinja2 import BaseLoader, Environment, PackageLoader
from markupsafe import escape

from compiler.targets.runbooks.i18n import Words

# A word printed alone, `{{ t.home }}`: the most frequent expression of every page. Written into
# the template's text as the page would print it (escaped), it costs nothing per page.
_WORD = re.compile(r"\{\{ t\.([A-Za-z_][A-Za-z0-9_]*) \}\}")


class WordedLoader(BaseLoader):
    """The package's templates with `{{ t.key }}` replaced by the escaped word of one language.

    A word is left as an expression when writing it out could read differently: when it holds
    a brace (Jinja syntax), a line break or surrounding blanks (which trim_blocks and
    lstrip_blocks look at), or is no word at all (the page then fails as it would)."""

    def __init__(self, words: Words):
        self.inner = PackageLoader("compiler.targets.runbooks", "templates")
        self.words = words

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        return _WORD.sub(self._written, source), filename, uptodate

    def _written(self, m: re.Match[str]) -> str:
        word = vars(self.words).get(m.group(1))
        text = str(escape(word)) if isinstance(word, str) else ""
        if not text or text != text.strip() or any(c in text for c in "{}\n#%"):
            return m.group(0)
        return text


__all__ = ["WordedLoader"]
