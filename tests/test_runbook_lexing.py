"""The pages' code highlighting: the sped-up lexers give exactly Pygments' own tokens and HTML."""
from __future__ import annotations

import random

import pytest
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

from compiler.targets.runbooks.lexing import speed_up
from compiler.targets.runbooks.text import LANGUAGES

CODE = [
    'sum by (job) (rate(http_requests_total{code=~"5..", job!="x"}[5m])) / ignoring(code) group_left sum(rate(x[5m])) > 0.01',
    "histogram_quantile(0.99, sum(rate(lat_bucket[5m] offset 1h)) by (le)) >= 2.5e-3 unless on(a) b",
    "{__name__=~'a|b'} # a comment\n  and  vector(1)",
    'db.orders.find({status: "stuck", age: {$gt: 3600}}).sort({_id: -1}) // oldest first',
    "SELECT id, 'it''s' FROM jobs WHERE state = 'failed' AND -- why\n  created < now() - interval '1 hour';",
    'def f(x):\n    return f"{x!r}" + r"\\d" if x else None  # done\n',
    'kubectl -n "$NS" get pods -o json | jq \'.items[] | select(.status.phase != "Running")\' <<EOF\nhi\nEOF\n',
    '{"a": [1, 2.5, null, true], "b": {"c": "d\\"e"}}',
    "a: [1, {b: c}]\n- x: 'y'\n  z: |\n    text\n",
    "plain text \t with <html> & \"quotes\" and ' apostrophes \u00e9\r\nnext",
    "", "\n", "((((", "}}}]]]", "'unclosed", "\"\n\"",
]
ALPHABET = list("abz_09 ,.(){}[]\"'=~!<>+-*/%^#\n\t$`\\|&;:@") + [
    "sum", "rate", "by", "and", "offset", "5m", "def ", "SELECT ", "echo ", "function", "/*", "*/",
    "'''", '"""', "${", "$(", "<<EOF\n", "EOF\n"]


def _samples() -> list[str]:
    rnd = random.Random(14)
    fuzz = ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 50))) for _ in range(300)]
    cuts = [code[:rnd.randint(0, len(code))] for code in CODE for _ in range(5)]
    return CODE + fuzz + cuts


@pytest.mark.parametrize("name", sorted({lang.lexer for lang in LANGUAGES.values()}))
def test_every_pages_lexer_gives_pygments_own_tokens_and_html(name: str) -> None:
    plain = get_lexer_by_name(name, stripnl=False, ensurenl=False)
    fast = speed_up(get_lexer_by_name(name, stripnl=False, ensurenl=False))
    formatter = HtmlFormatter(nowrap=True)
    for code in _samples():
        assert list(fast.get_tokens_unprocessed(code)) == list(plain.get_tokens_unprocessed(code)), code
        assert highlight(code, fast, formatter) == highlight(code, plain, formatter), code


def test_the_promql_lexer_is_sped_up_and_others_are_left_as_they_are() -> None:
    # PromQL (a RegexLexer) gets one pattern per state; YAML (an ExtendedRegexLexer) is untouched.
    assert "get_tokens_unprocessed" in vars(speed_up(get_lexer_by_name("promql")))
    assert "get_tokens_unprocessed" not in vars(speed_up(get_lexer_by_name("yaml")))


def test_a_state_whose_rule_refers_to_its_own_group_keeps_rule_by_rule_matching() -> None:
    from pygments.lexer import RegexLexer
    from pygments.token import Name, String, Text

    class Quoted(RegexLexer):
        tokens = {"root": [(r"(['\"]).*?\1", String), (r"\w+", Name), (r"\s+", Text)]}

    fast = speed_up(Quoted())
    code = "a 'b\" c' \"d\" e"
    assert list(fast.get_tokens_unprocessed(code)) == list(Quoted().get_tokens_unprocessed(code))
