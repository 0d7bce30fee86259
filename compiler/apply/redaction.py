"""Apply stage, redaction: every spelling of every secret replaced before any text is shown.

A server may echo a credential in its error text raw, JSON-escaped (`\\/`, `\\u00e9`), URL-encoded
(`%2F`, `+` for a space), HTML-escaped or as Python's repr; all of these spellings are replaced.
Text is redacted whole and only then cut to its shown length, so no prefix of a secret is left
at the cut.
"""
from __future__ import annotations

import html
import json
from typing import Iterable
from urllib.parse import quote, quote_plus

from compiler.terminal_text import visible

MASK = "***"
SHOWN = 300  # characters of a server's text shown in a message


def spellings(secret: str) -> set[str]:
    """The secret as it may appear in a server's answer or an exception's text."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret),
             html.escape(secret), repr(secret)[1:-1]}
    forms |= {f.replace("/", "\\/") for f in list(forms)}  # JSON encoders that escape '/'
    # Go's encoding/json escapes <, > and & as \u003c, \u003e, \u0026.
    go = json.dumps(secret)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    forms.add(go)
    forms |= {f.lower() for f in forms if "%" in f}  # percent-escapes in lower-case hex
    return {f for f in forms if f}


class Redactor:
    """The secrets of one run; `redact` is safe to call on any text, any number of times."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._forms: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        forms = set(self._forms)
        for secret in secrets:
            if secret:
                forms |= spellings(secret)
        # Longest first: a secret that contains another is replaced whole.
        self._forms = sorted(forms, key=lambda f: (-len(f), f))

    def redact(self, text: str) -> str:
        """The text with every secret masked, and shown as a terminal shows it rather than runs
        it (a server's text may hold escape sequences: see terminal_text)."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return visible(text)

    def excerpt(self, text: str, limit: int = SHOWN) -> str:
        """The text redacted, whitespace runs collapsed, then cut to `limit` characters."""
        clean = " ".join(self.redact(text).split())
        return clean if len(clean) <= limit else clean[:limit] + "..."
