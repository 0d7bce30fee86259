"""Output stage, terminal text: the control characters of untrusted text shown as escapes.

Text from a catalog file (a code frame's source line, a value a message quotes) and from a server
(an apply's plan, a refusal's text) reaches a terminal. An escape sequence in it would be run by
the terminal (a colour, a window title, a link, a cleared screen) instead of shown, and a
bidirectional override would show a line in another order than it holds. Such characters come
out as escapes: every C0 and C1 control but tab and newline, DEL, and the bidirectional marks,
embeddings, overrides and isolates.
"""
from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with each unsafe character as its escape (`\\x1b`, `\\u202e`); any other text as it
    is. Escaping twice changes nothing more (an escape is printable)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


__all__ = ["visible"]
