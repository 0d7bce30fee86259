"""Import stage, source model: what the imported files say, each object with its file and line."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.diagnostics import Diagnostic

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Origin:
    """Where an imported object is written: file as given on the command line, 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Rule:
    """One alerting or recording rule of a rule group."""

    kind: str  # "alert" | "record"
    name: str
    expr: str
    origin: Origin
    group: str
    service: str  # the catalog service it goes to
    for_: str = ""
    keep_firing_for: str = ""
    labels: Pairs = ()
    annotations: Pairs = ()


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    type: str  # catalog panel type, or "note" for a panel kept as text
    queries: tuple[Query, ...]
    origin: Origin
    unit: str = ""
    description: str = ""


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    rows: tuple[Row, ...]
    origin: Origin
    service: str
    description: str = ""
    tags: tuple[str, ...] = ()
    time: str = ""
    variables: tuple[tuple[str, str], ...] = ()  # name -> query, for the note


@dataclass(frozen=True)
class Monitor:
    """One Datadog monitor (API export or integration asset shape)."""

    name: str
    type: str
    query: str
    message: str
    origin: Origin
    service: str
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    tags: tuple[str, ...] = ()
    priority: int | None = None


@dataclass(frozen=True)
class DatadogBoard:
    """One Datadog dashboard (Dashboard API shape): its JSON, and the line of each widget."""

    title: str
    origin: Origin
    service: str
    key: str  # the catalog dashboard id it came from (moncat's own output), else ""
    body: dict[str, Any] = field(default_factory=dict, compare=False)
    lines: dict[int, int] = field(default_factory=dict, compare=False)  # id() of a widget -> line


@dataclass
class ImportSet:
    """Everything read from the sources, in a stable order, and what went wrong reading them."""

    rules: list[Rule] = field(default_factory=list)
    dashboards: list[Dashboard] = field(default_factory=list)
    monitors: list[Monitor] = field(default_factory=list)
    datadog_boards: list[DatadogBoard] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said to the user, not errors

    def extend(self, other: "ImportSet") -> None:
        self.rules += other.rules
        self.dashboards += other.dashboards
        self.monitors += other.monitors
        self.datadog_boards += other.datadog_boards
        self.diagnostics += other.diagnostics
        self.notes += other.notes
