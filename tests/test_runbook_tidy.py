"""Runbook pages, Markdown tidying: runs of lines held out of a page while it is tidied (the
index's rows, the contacts page's alert lists) give the page tidy_markdown gives when it reads
every line; and Pygments is imported without importlib.metadata."""
from __future__ import annotations

import random
import shutil
import subprocess
import sys

import pytest

from compiler import pipeline
from compiler.targets import runbooks
from compiler.targets.runbooks.tidy import Held, inert, tidy_markdown
from conftest import CATALOG


@pytest.mark.parametrize("text, expected", [
    ("", True),
    ("| a | b |\n", True),
    ("- [svc/Alert](svc/alerts/Alert.md) (P1) — directly (`oncall`)\n| x |\n", True),
    ("| a |", False),             # not whole lines
    ("\n", False),                # a blank line
    ("a\n\nb\n", False),
    ("a \n", False),              # a trailing blank
    ("a\u00a0\n", False),         # a trailing blank beyond ASCII
    ("a\t\n", False),
    ("# heading\n", False),
    ("a\n#b\n", False),
    ("```\n", False),             # a fence
    ("a ```b``` c\n", False),
    ("a\x00b\n", False),          # what Held's placeholders are made of
    (" a\n", True),               # a leading blank is kept by tidy_markdown
    ("a\rb\n", True),             # a carriage return inside a line is text to tidy_markdown
])
def test_inert_text_is_whole_lines_that_tidying_keeps_as_they_are(text, expected) -> None:
    assert inert(text) is expected
    if expected and text:
        assert tidy_markdown("x\n" + text + "y\n") == "x\n" + text + "y\n"


_LINES = ["# T", "## Sub", "#tag", "text", "text  ", "  indented", "", "", "   ", "\t", "- item",
          "```", "```python", "````", "  ```", "a ``` b", "| a | b |", "x\u00a0", "\r", "end"]
_RUN_LINES = ["| [svc](svc/index.md) | 3 |", "- [a](b) (P1) — directly (`x`)", " lead", "a\rb", "ok"]


def _random_page(rng: random.Random) -> tuple[list[str], list[str]]:
    """Text pieces and the runs between them: each run starts a line and is inert."""
    pieces, runs = [], []
    for _ in range(rng.randint(0, 5)):
        lines = [rng.choice(_LINES) for _ in range(rng.randint(0, 6))]
        pieces.append("".join(line + "\n" for line in lines))
        runs.append("".join(rng.choice(_RUN_LINES) + "\n" for _ in range(rng.randint(0, 4))))
    pieces.append("\n".join(rng.choice(_LINES) for _ in range(rng.randint(0, 6))))
    return pieces, runs


def test_a_page_tidied_with_its_runs_held_is_the_page_tidied_whole() -> None:
    rng = random.Random(7)
    for _ in range(4000):
        pieces, runs = _random_page(rng)
        assert all(inert(run) for run in runs)
        held = Held()
        with_placeholders = "".join(p + held.hold(r) for p, r in zip(pieces, runs)) + pieces[-1]
        whole = "".join(p + r for p, r in zip(pieces, runs)) + pieces[-1]
        assert held.tidy(with_placeholders) == tidy_markdown(whole), (pieces, runs)


@pytest.mark.parametrize("run", ["\n", "a\n\n\nb\n", "a \n", "a\u00a0\n", "# heading\n", "a\n#b\n", "```\n"])
def test_each_kind_of_line_inert_text_leaves_out_would_read_differently_held(run) -> None:
    assert not inert(run)
    contexts = [("x\n", "y\n"), ("x\n\n", "\ny\n"), ("# T\n", "y\n"), ("x\n", "y  \n\n\nz\n")]
    differs = []
    for before, after in contexts:
        held = Held()
        page = before + held.hold(run) + after  # held as if it were inert
        differs.append(held.tidy(page) != tidy_markdown(before + run + after))
    assert any(differs)


def test_a_run_that_does_not_start_a_line_leaves_the_page_to_be_rendered_again_unheld() -> None:
    held = Held()
    assert held.tidy("# T\ntext " + held.hold("| a |\n") + "\n\n\n## U\n") is None


def test_a_page_holding_a_nul_of_its_own_is_left_to_be_rendered_again_unheld() -> None:
    for own in ("\x00", "\x000\x00\n", "\x001\x00\n"):  # a NUL, and text that reads like a placeholder
        held = Held()
        assert held.tidy("# T\n" + held.hold("| a |\n") + "text" + own + "  \n") is None
        held = Held()
        assert held.tidy("# T\ntext" + own + "  \n" + held.hold("| a |\n")) is None


def test_a_held_that_holds_nothing_shows_each_run_as_it_is() -> None:
    for held in (Held(), Held(holding=False)):
        assert held.hold("") == "" and held.runs == []
    held = Held(holding=False)
    assert held.hold("| a |\n") == "| a |\n" and held.runs == []
    assert held.tidy("# T\n\n\ntext  \n") == tidy_markdown("# T\n\n\ntext  \n") == "# T\n\ntext\n"


def _pages(files: dict[str, bytes]) -> dict[str, bytes]:
    return {p: b for p, b in files.items() if p.startswith(("runbooks/", "site/"))}


def test_catalog_wide_pages_read_the_same_with_their_runs_held_or_tidied_whole(tmp_path, monkeypatch) -> None:
    # A summary that tidying reads as more than text (a fence) makes its service's part of the
    # index not inert: that run of the index stays in the page, the others are held.
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog)
    alerts = catalog / "shop" / "alerts.yaml"
    alerts.write_text(alerts.read_text().replace("summary: More than 2% of received",
                                                 "summary: Fenced ```x``` 2% of received", 1))
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS", 10**9)  # render here, to count
    held_runs: list[str] = []
    hold = Held.hold

    def counting(self: Held, run: str) -> str:
        held_runs.append(run)
        return hold(self, run)

    monkeypatch.setattr(Held, "hold", counting)
    for root in (CATALOG, catalog):
        held_runs.clear()
        result = pipeline.compile_catalog(root)
        assert not result.report.has_errors()
        assert any(run.startswith("| [") for run in held_runs)  # the index's tables
        assert any(run.startswith("- [") for run in held_runs)  # the contacts page's lists
        with monkeypatch.context() as unheld:
            unheld.setattr(runbooks, "Held", lambda: Held(holding=False))
            whole = pipeline.compile_catalog(root)
        assert _pages(result.files) == _pages(whole.files)
    assert "Fenced ```x```" in result.files["runbooks/index.md"].decode()
    assert not any("Fenced ```x```" in run for run in held_runs)


def test_highlighting_code_imports_no_importlib_metadata_and_unknown_names_still_ask_plugins() -> None:
    script = (
        "import sys\n"
        "from compiler.targets.runbooks import text\n"
        "assert 'rate' in text.html_code_block('rate(x[5m])', 'promql')\n"
        "assert text.pygments_css()\n"
        "assert 'importlib.metadata' not in sys.modules and 'pygments.plugin' not in sys.modules\n"
        "text._lexer('no-such-language')\n"  # Pygments looks for a plugin, as it did
        "assert 'pygments.plugin' in sys.modules\n"
        "import pygments.plugin\n"
        "assert pygments.plugin.find_plugin_lexers.__module__ == 'pygments.plugin'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
