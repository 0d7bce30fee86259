"""Apply stage, execution: the plan's writes in dependency order, a few at a time, with progress."""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, TextIO

from compiler.apply.client import ApiError, NotSent
from compiler.apply.plan import Action


@dataclass(frozen=True)
class Failure:
    action: Action
    problem: str
    transient: bool  # a re-run may converge (no answer, 5xx, a deadline); else a cause to fix


@dataclass
class Outcome:
    applied: list[Action] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    skipped: list[Action] = field(default_factory=list)
    why_skipped: str = ""  # the first reason a request was not sent


class _Progress:
    """A one-line bar on a terminal; silent otherwise (CI logs get the summary instead)."""

    def __init__(self, total: int, stream: TextIO):
        self.total, self.done, self.stream = total, 0, stream
        self.on = stream.isatty() and total > 0
        self.lock = threading.Lock()

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            if self.on:
                width = 30
                filled = width * self.done // self.total
                self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
                if self.done == self.total:
                    self.stream.write("\n")
                self.stream.flush()


def execute(actions: list[Action], write: Callable[[Action], None], *, concurrency: int = 4,
            stream: TextIO | None = None) -> Outcome:
    """Run every non-unchanged action. Actions of one kind run concurrently; a kind starts only
    when the previous kind finished, and after a failure later kinds are skipped (a dashboard
    must not be written into a folder that failed). A request the client did not send (the
    run's deadline passed, the server stopped answering) leaves its action not attempted."""
    todo = [a for a in actions if a.op not in ("unchanged", "blocked")]
    outcome = Outcome()
    # sys.stderr as it is now, not as it was at import (a test runner swaps it per invocation).
    progress = _Progress(len(todo), stream or sys.stderr)
    stages: list[list[Action]] = []
    for a in todo:
        if stages and (stages[-1][0].kind, stages[-1][0].op == "delete") == (a.kind, a.op == "delete"):
            stages[-1].append(a)
        else:
            stages.append([a])

    def one(action: Action) -> tuple[Action, ApiError | None]:
        try:
            write(action)
            return action, None
        except ApiError as exc:
            return action, exc
        finally:
            progress.tick()

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for i, stage in enumerate(stages):
            if outcome.failed or outcome.skipped:
                outcome.skipped.extend(a for s in stages[i:] for a in s)
                break
            for action, problem in pool.map(one, stage):
                if problem is None:
                    outcome.applied.append(action)
                elif isinstance(problem, NotSent):
                    outcome.skipped.append(action)
                    outcome.why_skipped = outcome.why_skipped or problem.message
                else:
                    outcome.failed.append(Failure(action, str(problem), problem.transient))
    return outcome
