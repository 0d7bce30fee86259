"""Apply stage, target interface: what each remote API adapter provides to plan and apply."""
from __future__ import annotations

from typing import Any, Protocol

from compiler.apply.client import Client
from compiler.apply.plan import Action, Current, Desired, Finding

OWNER_TAG = "managed-by:moncat"


class ApplyTarget(Protocol):
    """One remote API. `order` lists kinds in dependency order (folders before dashboards...)."""

    name: str
    order: tuple[str, ...]
    client: Client
    # Set by current(): what the plan must say besides changes (duplicates, copies, objects in
    # the way), some blocking a write (compiler/apply/identity.py for server-assigned ids).
    findings: list[Finding]

    def desired(self, files: dict[str, bytes]) -> list[Desired]:
        """The objects the compiled output holds for this API, as request bodies."""

    def current(self) -> list[Current]:
        """Every object of our kinds on the server (all pages), ours or not; each owned one with
        its service (plan.Scope: what --prune may delete)."""

    def normalize(self, kind: str, body: Any) -> Any:
        """A body with server-added and server-renamed fields removed or canonicalised, so that
        an unchanged catalog plans zero changes."""

    def write(self, action: Action) -> None:
        """Perform one create, update or delete."""
