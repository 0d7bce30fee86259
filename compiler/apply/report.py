"""Apply stage, report: the plan and the outcome of an apply as the lines the CLI prints."""
from __future__ import annotations

from dataclasses import dataclass, field

from compiler.apply.plan import Action, Current, Desired, Finding, Scope, notes, summary
from compiler.apply.runner import Outcome


@dataclass
class Lines:
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    failed: bool = False


def plan_lines(actions: list[Action], desired: list[Desired], current: list[Current], *,
               prune: bool, scope: Scope | None, findings: list[Finding]) -> list[str]:
    lines = [a.line() for a in actions if a.op != "unchanged"]
    lines += notes(desired, current, prune=prune, scope=scope, findings=findings)
    lines.append(f"plan: {summary(actions)}")
    return lines


def blocked_line(actions: list[Action]) -> str:
    n = sum(a.op == "blocked" for a in actions)
    return (f"{n} object{'s' if n != 1 else ''} not applied: the lines marked ! above say why and "
            "what to resolve") if n else ""


def outcome_lines(outcome: Outcome, actions: list[Action], retries: int) -> Lines:
    """The summary, each failure and what was not attempted, and what to do next: run again
    when every failure may pass (no answer, the server's 5xx, a deadline), fix the cause first
    when a refusal will not."""
    lines = Lines()
    lines.out.append(f"applied {len(outcome.applied)}, failed {len(outcome.failed)}, "
                     f"not attempted {len(outcome.skipped)} ({retries} retries)")
    lines.err += [f"failed: {f.action.op} {f.action.kind} {f.action.id}: {f.problem}" for f in outcome.failed]
    lines.err += [f"not attempted: {a.op} {a.kind} {a.id}" for a in outcome.skipped]
    if outcome.why_skipped:
        lines.err.append(f"(not attempted because {outcome.why_skipped.removeprefix('not sent: ')})")
    lasting = [f for f in outcome.failed if not f.transient]
    if len(lasting) < len(outcome.failed) or outcome.why_skipped:
        lines.err.append("the server holds part of the plan; run the same command again to converge")
    if lasting:
        n = len(lasting)
        lines.err.append(f"{n} write{'s' if n != 1 else ''} refused for a reason a re-run does not "
                         "change: fix it (see above), then apply again")
    blocked = blocked_line(actions)
    if blocked:
        lines.err.append(blocked)
    lines.failed = bool(outcome.failed or outcome.skipped or blocked)
    return lines
