"""CLI, terminal: colour only on a terminal (never with NO_COLOR or TERM=dumb), and a progress
line on stderr while a compile takes longer than a second."""
from __future__ import annotations

import os
import re
import threading
import time
from typing import IO, Callable

from compiler.pipeline import STAGES

RED, YELLOW, CYAN, GREEN, DIM, BOLD, RESET = ("\033[31m", "\033[33m", "\033[36m", "\033[32m",
                                              "\033[2m", "\033[1m", "\033[0m")
_SEVERITY_COLOUR = {"error": RED, "warning": YELLOW, "info": CYAN}
_HEADER = re.compile(r"^(?P<where>(?:\S+:\d+:\d+: )?)(?P<sev>error|warning|info) (?P<code>MC\d{3}):")
_GUTTER = re.compile(r"^(\s*\d+ \| )")
_CARET = re.compile(r"^(\s*)\^$")


def use_colour(stream: IO[str], environ: dict[str, str] | None = None) -> bool:
    """Colour only for a person at a terminal: https://no-color.org says any non-empty NO_COLOR
    turns it off; so does TERM=dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint_diagnostics(text: str) -> str:
    """Code frames as render_text writes them, with the severity, caret and hint coloured."""
    out = []
    colour = RED
    for line in text.split("\n"):
        m = _HEADER.match(line)
        if m:
            colour = _SEVERITY_COLOUR[m.group("sev")]
            line = (f"{BOLD}{m.group('where')}{RESET}{colour}{BOLD}{m.group('sev')} {m.group('code')}"
                    f"{RESET}:" + line[m.end():])
        elif _CARET.match(line):
            line = line[:-1] + f"{colour}{BOLD}^{RESET}"
        elif (g := _GUTTER.match(line)) is not None:
            line = f"{DIM}{g.group(1)}{RESET}" + line[g.end():]
        elif line.startswith("  hint: "):
            line = f"  {CYAN}hint:{RESET} " + line[len("  hint: "):]
        out.append(line)
    return "\n".join(out)


def paint_status(ok: bool, text: str) -> str:
    return f"{GREEN if ok else RED}{text}{RESET}"


class Progress:
    """`with Progress(label) as p:` pass `p.stage` as the pipeline's on_stage callback. Nothing
    is shown for the first `delay` seconds, or ever when stderr is not a terminal; then one
    line, rewritten in place, says which stage runs and for how long, and is erased at the end."""

    def __init__(self, label: str, stream: IO[str] | None = None, delay: float = 1.0,
                 interval: float = 0.2, enabled: bool | None = None, then: str = "write"):
        import sys

        self.label = label
        self.then = then  # what runs after the pipeline's last stage
        self.stream = stream or sys.stderr
        self.delay = delay
        self.interval = interval
        self.enabled = (getattr(self.stream, "isatty", lambda: False)() and
                        os.environ.get("TERM") != "dumb") if enabled is None else enabled
        self.current = STAGES[0]
        self.shown = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def stage(self, finished: str) -> None:
        """The pipeline finished `finished`; the next one runs now."""
        i = STAGES.index(finished) if finished in STAGES else -1
        self.current = STAGES[i + 1] if 0 <= i < len(STAGES) - 1 else self.then

    def _write(self, text: str) -> None:
        # os.write, not the stream: no Python-level lock that a forked worker could inherit held.
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()
            return
        os.write(fd, text.encode("utf-8", "replace"))

    def _run(self) -> None:
        if self._done.wait(self.delay):
            return
        while not self._done.is_set():
            elapsed = time.monotonic() - self._start
            self._write(f"\r\033[K{self.label}: {self.current}… {elapsed:.1f}s")
            self.shown = True
            self._done.wait(self.interval)

    def __enter__(self) -> "Progress":
        self._start = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="moncat-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            self._write("\r\033[K")


OnStage = Callable[[str], None]

__all__ = ["OnStage", "Progress", "paint_diagnostics", "paint_status", "use_colour"]
