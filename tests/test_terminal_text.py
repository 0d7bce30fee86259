"""Terminal text: control characters of untrusted text (catalog files, servers' answers) are shown
as escapes, never sent to the terminal to run."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.apply.redaction import Redactor
from compiler.diagnostics import Diagnostic, Loc, Severity, render_text
from compiler.terminal_text import visible

ROOT = Path(__file__).resolve().parent.parent

# text -> as shown
CASES = [
    ("plain text, accents é and CJK 漢字", "plain text, accents é and CJK 漢字"),
    ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
    ("nul\x00 del\x7f cr\r", "nul\\x00 del\\x7f cr\\x0d"),
    ("c1 csi\x9b2J nel\x85", "c1 csi\\x9b2J nel\\x85"),
    ("admin\u202e gnp.exe", "admin\\u202e gnp.exe"),
    ("isolate\u2066x\u2069 mark\u200f", "isolate\\u2066x\\u2069 mark\\u200f"),
]


@pytest.mark.parametrize("text, shown", CASES)
def test_unsafe_characters_are_shown_as_escapes_and_the_rest_as_it_is(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert visible(shown) == shown  # escaping twice changes nothing more


def test_a_code_frame_shows_the_source_lines_escape_with_the_caret_under_it(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text('owner: "x\x1b[2Jy"\n', encoding="utf-8")
    diag = Diagnostic(Severity.ERROR, "MC001", "YAML error: character 27 is not allowed in YAML text",
                      Loc("svc.yaml", 1, 10), "remove \x1b it")
    text = render_text([diag], tmp_path)
    assert "\x1b" not in text
    frame, caret = text.splitlines()[1:3]
    assert frame == '    1 | owner: "x\\x1b[2Jy"'
    assert frame[caret.index("^"):].startswith("\\x1b")
    assert "  hint: remove \\x1b it" in text


def test_the_validate_command_prints_a_catalog_files_escape_sequence_as_text(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    (catalog / "evil.yaml").write_bytes(b'service: evil\nowner: "x\x1b]0;pwned\x07\x1b[31mRED"\n')
    proc = subprocess.run([sys.executable, "-m", "compiler", "validate", str(catalog)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 1, printed
    assert "Traceback" not in printed
    assert "evil.yaml:2:10: error MC001" in printed
    assert not any(c in printed for c in "\x1b\x07"), printed
    assert 'owner: "x\\x1b]0;pwned\\x07\\x1b[31mRED"' in printed


def test_a_servers_text_is_redacted_then_shown_without_its_control_characters() -> None:
    redactor = Redactor(["s3cr\x1bt", "token-1"])
    shown = redactor.redact("refused token-1 and s3cr\x1bt: \x1b[8mhidden\x1b[0m \u202eevil")
    assert shown == "refused *** and ***: \\x1b[8mhidden\\x1b[0m \\u202eevil"
    assert redactor.excerpt("a\x1b]8;;http://x\x07link\x1b]8;;\x07 b") == \
        "a\\x1b]8;;http://x\\x07link\\x1b]8;;\\x07 b"


def test_explain_prints_an_alerts_escaped_control_characters_as_text(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    alerts = catalog / "loyalty" / "alerts.yaml"
    text = alerts.read_text(encoding="utf-8")
    # A YAML escape in a double-quoted string is valid YAML: the summary holds a real ESC.
    alerts.write_text(text.replace('summary: "Point expiration task stale:',
                                   'summary: "\\e[2J\\e]0;pwned\\a Point expiration task stale:', 1),
                      encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "compiler", "explain", "loyalty/LoyaltyExpirationTaskStale",
                           str(catalog)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed
    assert "\\x1b[2J\\x1b]0;pwned\\x07 Point expiration task stale" in printed
    assert not any(c in printed for c in "\x1b\x07"), printed


def test_import_prints_an_imported_dashboards_control_characters_as_text(tmp_path: Path) -> None:
    board = {"title": "Board\x1b[2J", "uid": "b1", "panels": [
        {"type": "text", "title": "Read me\x1b]0;pwned\x07", "options": {"content": "hello"}},
        {"type": "timeseries", "title": "Errors\x1b[31m", "description": "d\x1b[5m",
         "targets": [{"expr": "sum(rate(http_requests_total[5m]))"}]}]}
    src = tmp_path / "board.json"
    src.write_text(json.dumps(board), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "compiler", "import", "grafana", str(src), "--out",
                           str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed
    assert "\\x1b" in printed  # the titles are named, escaped
    assert not any(c in printed for c in "\x1b\x07"), printed
