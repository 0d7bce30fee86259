"""Runbooks target, code lexing: a Pygments regex lexer's tokens found with one pattern per state."""
from __future__ import annotations

import importlib
import re
import sys
from types import MethodType, ModuleType
from typing import Any, Callable, Iterator

# A RegexLexer tries its state's rules one by one at each position, and the first that matches
# wins: on a PromQL query that made some 15 failed matches a token, most of the highlighting of a
# large catalog's pages. Python's alternation is ordered the same way (the first alternative that
# matches at the position wins, as it would on its own), so one pattern per state, each rule a
# named group, finds the same rule in one match. The rule's own pattern then runs only for rules
# whose action reads the match's groups (bygroups, using).
_BACKREF = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")  # \1, (?P=name), (?(1)yes|no)


# pygments.plugin, which Pygments' lexers, formatters, styles and filters import, imports
# importlib.metadata (and with it much of the email package: some 10 ms, the pages' largest
# import after Jinja's and Pygments' own) to look for plugins, which Pygments reads only for a
# name none of its own has: for the languages moncat names, never.
_PLUGIN = "pygments.plugin"
_PLUGIN_FINDERS = ("find_plugin_lexers", "find_plugin_formatters", "find_plugin_styles", "find_plugin_filters")


def import_pygments() -> None:
    """Imports Pygments' lexers and formatters, with pygments.plugin imported when one of its
    functions is first called rather than now: while they are imported, a stand-in takes its
    place, whose functions import it and call theirs."""
    if _PLUGIN in sys.modules or "pygments.lexers" in sys.modules:
        import pygments.formatters
        import pygments.lexers  # noqa: F401
        return
    stand_in = ModuleType(_PLUGIN, "Stand-in for pygments.plugin, imported on first use (moncat).")
    for name in _PLUGIN_FINDERS:
        setattr(stand_in, name, _deferred(name))
    sys.modules[_PLUGIN] = stand_in
    try:
        import pygments.filters
        import pygments.formatters
        import pygments.lexers
        import pygments.styles  # noqa: F401
    finally:
        if sys.modules.get(_PLUGIN) is stand_in:
            del sys.modules[_PLUGIN]


def _deferred(name: str) -> Callable[..., Iterator]:
    def find(*args: Any, **kwargs: Any) -> Iterator:
        return getattr(importlib.import_module(_PLUGIN), name)(*args, **kwargs)

    find.__name__ = find.__qualname__ = name
    return find


def speed_up(lexer: Any) -> Any:
    """`lexer`, tokenising as before but faster where it is a plain Pygments RegexLexer (a lexer
    of another kind, or a state whose rules cannot share a pattern, is left as it is)."""
    from pygments.lexer import RegexLexer

    if type(lexer).get_tokens_unprocessed is not RegexLexer.get_tokens_unprocessed:
        return lexer
    combined = {state: _combined(rules, type(lexer).flags) for state, rules in lexer._tokens.items()}
    lexer.get_tokens_unprocessed = MethodType(_tokens_with(combined), lexer)
    return lexer


def _combined(rules: list, flags: int) -> Callable | None:
    """The state's rules as one pattern's `match` (None when a rule refers to its own groups by
    number or name, which a shared pattern would renumber, or is no compiled pattern's match)."""
    sources = [getattr(getattr(rexmatch, "__self__", None), "pattern", None) for rexmatch, _, _ in rules]
    if not sources or any(not isinstance(s, str) or _BACKREF.search(s) for s in sources):
        return None
    try:
        return re.compile("|".join(f"(?P<_r{i}>{s})" for i, s in enumerate(sources)), flags).match
    except re.error:  # a rule's own inline flags, a group name used twice
        return None


def _tokens_with(combined: dict[str, Callable | None]) -> Callable:
    from pygments.lexer import _TokenType
    from pygments.token import Error, Whitespace

    def get_tokens_unprocessed(self: Any, text: str, stack: tuple[str, ...] = ("root",)) -> Iterator:
        # RegexLexer.get_tokens_unprocessed's contract: the same tokens, positions and state
        # changes, the same recovery (an unmatched newline resets to root, any other character
        # is an Error token).
        tokendefs = self._tokens
        statestack = list(stack)
        pos = 0
        while True:
            state = statestack[-1]
            rules = tokendefs[state]
            finder = combined.get(state)
            m = rule = None
            if finder is not None:
                found = finder(text, pos)
                if found is not None:
                    rule = rules[int(found.lastgroup[2:])]
                    m = found if type(rule[1]) is _TokenType or rule[1] is None else rule[0](text, pos)
            else:
                for candidate in rules:
                    m = candidate[0](text, pos)
                    if m:
                        rule = candidate
                        break
            if rule is None:
                if pos >= len(text):
                    return
                if text[pos] == "\n":
                    statestack = ["root"]
                    yield pos, Whitespace, "\n"
                else:
                    yield pos, Error, text[pos]
                pos += 1
                continue
            _, action, new_state = rule
            if action is not None:
                if type(action) is _TokenType:
                    yield pos, action, m.group()
                else:
                    yield from action(self, m)
            pos = m.end()
            if new_state is not None:
                _change(statestack, new_state)

    return get_tokens_unprocessed


def _change(statestack: list[str], new_state: Any) -> None:
    """A rule's state change, as RegexLexer makes it: push states, pop ('#pop', or a negative
    count that keeps the root), or push the current state again."""
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(statestack) > 1:
                    statestack.pop()
            elif state == "#push":
                statestack.append(statestack[-1])
            else:
                statestack.append(state)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(statestack):
            del statestack[1:]
        else:
            del statestack[new_state:]
    elif new_state == "#push":
        statestack.append(statestack[-1])
    else:
        raise ValueError(f"wrong state definition: {new_state!r}")


__all__ = ["import_pygments", "speed_up"]
