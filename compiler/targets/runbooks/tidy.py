"""Runbooks target, Markdown tidying: blank lines and trailing spaces of a page, and long runs of
lines that need none held out of the whole-page pass."""
from __future__ import annotations

import re

from markupsafe import Markup

_FENCE = re.compile(r"^\s*(`{3,})")


def tidy_markdown(page: str) -> str:
    """Outside fenced code: no trailing spaces, one blank line at most, and a blank line around
    headings (templates are easier to read without minding each newline)."""
    out: list[str] = []
    append = out.append
    fence = ""
    last = ""  # the line appended last ("" before the first)
    for line in page.split("\n"):
        # Only a line holding three backticks can open or close a fence: the substring test
        # spares the pattern on every other line (this runs on every line of every page).
        if fence:
            append(line)
            last = line
            if "```" in line and (m := _FENCE.match(line)) and m.group(1) == fence \
                    and not line.strip().strip("`"):
                fence = ""
            continue
        line = line.rstrip()
        if "```" in line and (m := _FENCE.match(line)):
            fence = m.group(1)
        if not line:
            if last:
                append(line)
                last = line
            continue
        if last and (line[0] == "#" or last[0] == "#"):
            append("")
        append(line)
        last = line
    return "\n".join(out).strip("\n") + "\n"


def inert(text: str) -> bool:
    """Whether `text` is whole lines that tidy_markdown keeps as they are and that change nothing
    around them, wherever they start a line of a page: each ends with a newline and is neither
    blank, nor ends in a blank, nor is a heading, nor holds a code fence (or a NUL, which
    Held's placeholders are made of). The empty text is."""
    if not text:
        return True
    if text[-1] != "\n" or "```" in text or "\x00" in text:
        return False
    return all(line and line[0] != "#" and not line[-1].isspace() for line in text[:-1].split("\n"))


class Held:
    """Runs of a Markdown page held out of its text while tidy_markdown goes over it: the page
    shows a one-line placeholder per run, and each run takes its placeholder's place in the
    tidied page. The index and the contacts page are mostly such runs (a table row, a list item
    per alert), some ten thousand lines at 10,000 alerts that the pass would otherwise read.

    Only an `inert` run is held. tidy_markdown reads a page a line at a time, and an inert run's
    lines act as its placeholder's line does (none is blank or a heading, none opens or closes
    a fence, each is kept as it is), so the page tidied with the placeholders, then the runs put
    back, is the page tidied. `tidy` checks that each placeholder starts a line and that the
    page holds no NUL of its own. A Held made with `holding=False` holds nothing."""

    def __init__(self, holding: bool = True) -> None:
        self.holding = holding
        self.runs: list[str] = []

    def hold(self, run: str) -> Markup:
        """What the page shows for `run`, which is `inert` (its caller knows it: a run of
        megabytes is made of parts each checked once, when it was rendered): its placeholder."""
        if not run or not self.holding:
            return Markup(run)
        self.runs.append(run)
        return Markup(f"\x00{len(self.runs) - 1}\x00\n")

    def tidy(self, page: str) -> str | None:
        """tidy_markdown of the page with the held runs in their placeholders' places; None
        when a placeholder does not start a line or the page's own text holds a NUL (render it
        again with a Held that holds nothing, and tidy that)."""
        if not self.runs:
            return tidy_markdown(page)
        if not self._placed(page.split("\x00")):
            return None
        pieces = tidy_markdown(page).split("\x00")
        if not self._placed(pieces):  # cannot happen (see the class)
            return None
        out = [pieces[0]]
        for i, run in enumerate(self.runs):
            out.append(run)
            out.append(pieces[2 * i + 2][1:])  # what follows the placeholder's newline
        return "".join(out)

    def _placed(self, pieces: list[str]) -> bool:
        """Whether `pieces` (a page split at NULs) are text, then each run's placeholder in
        turn, each at the start of a line and followed by its newline, then text."""
        if len(pieces) != 2 * len(self.runs) + 1:
            return False
        for i in range(len(self.runs)):
            before, number, after = pieces[2 * i], pieces[2 * i + 1], pieces[2 * i + 2]
            if number != str(i) or not after.startswith("\n") or not (before.endswith("\n") or not before):
                return False
        return True


__all__ = ["Held", "inert", "tidy_markdown"]
