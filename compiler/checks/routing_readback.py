"""Checks, routing read-back: what a generated Alertmanager configuration or Grafana notification
setup does with a label set, computed from the generated data alone (not from the code that
wrote it): the routes a dispatcher matches, their timings, and each integration notified.

A notification is (contact, integration, group wait, group interval, repeat interval); a pager
integration carries the severity (PagerDuty) or priority (Opsgenie) it would send.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from compiler.durations import format_ms, parse_ms
from compiler.route_index import ChildIndex

# Both dispatchers' defaults for a tree that sets no timing.
DEFAULT_TIMING = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_GO_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


@dataclass(frozen=True, order=True)
class Notification:
    contact: str
    integration: str  # email, slack, webhook, "pagerduty severity=critical", "opsgenie priority=P1"
    group_wait: str
    group_interval: str
    repeat_interval: str
    active: str = ""  # the route's active_time_intervals, comma-separated
    muted: str = ""   # its mute_time_intervals

    def __str__(self) -> str:
        hours = (f", active {self.active}" if self.active else "") + (f", muted {self.muted}" if self.muted else "")
        return (f"{self.contact}: {self.integration} after {self.group_wait} "
                f"(then every {self.group_interval}, reminder every {self.repeat_interval}{hours})")


class Unreadable(ValueError):
    """Generated data this reader does not understand: a bug in the target that wrote it."""


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _GO_ESCAPES.get(m.group(1), m.group(1)), text)


@lru_cache(maxsize=65536)
def _pattern(value: str) -> re.Pattern:
    # Many distinct alertname alternations in a large catalog: more than `re`'s own cache holds.
    return re.compile(value)


def _matches(label: str, op: str, value: str, labels: dict[str, str]) -> bool:
    have = labels.get(label, "")
    if op in ("=", "!="):
        return (have == value) == (op == "=")
    try:
        found = _pattern(value).fullmatch(have) is not None
    except re.error as exc:
        raise Unreadable(f"matcher {label}{op}{value!r}: {exc}") from exc
    return found == (op == "=~")


def am_matchers(route: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for text in route.get("matchers", []):
        m = _MATCHER.match(text)
        if not m:
            raise Unreadable(f"matcher {text!r} is not label op \"value\"")
        out.append((m.group(1), m.group(2), _unquote(m.group(3))))
    return out


def grafana_matchers(route: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [tuple(m) for m in route.get("object_matchers", [])]


def _seconds_text(value: str) -> str:
    return format_ms(parse_ms(value))


class Route:
    """One route of a generated tree as its dispatcher reads it: the receiver and timings it
    has once inherited, and its children, each read (matchers parsed, timings resolved) when a
    label set first reaches it. A tree is walked once per alert; reading each route once keeps
    that walk to the matching itself."""

    __slots__ = ("data", "receiver", "timing", "_children", "_index")

    def __init__(self, data: dict[str, Any], receiver: str = "", timing: dict[str, str] | None = None):
        timing = {k: v for k, v in (timing or DEFAULT_TIMING).items() if k in DEFAULT_TIMING}
        for key in DEFAULT_TIMING:
            if key in data:
                timing[key] = _seconds_text(data[key])
        timing["active"] = ",".join(data.get("active_time_intervals", []))
        timing["muted"] = ",".join(data.get("mute_time_intervals", []))
        self.data = data
        self.receiver: str = data.get("receiver") or receiver
        self.timing = timing
        self._children: list[_Child] | None = None
        self._index: ChildIndex | None = None

    def children(self) -> list["_Child"]:
        if self._children is None:
            self._children = [_Child(child, self) for child in self.data.get("routes", [])]
        return self._children

    def candidates(self, read: Callable[[dict[str, Any]], list[tuple[str, str, str]]],
                   labels: dict[str, str]) -> list[int]:
        """The positions of the children that can match `labels` (see compiler.route_index)."""
        if self._index is None:
            self._index = ChildIndex([child.equalities(read) for child in self.children()])
        return self._index.candidates(labels)


class _Child:
    __slots__ = ("data", "parent", "_matchers", "_route")

    def __init__(self, data: dict[str, Any], parent: Route):
        self.data, self.parent = data, parent
        self._matchers: list[tuple[str, str, str]] | None = None
        self._route: Route | None = None

    def matchers(self, read: Callable[[dict[str, Any]], list[tuple[str, str, str]]]) -> list[tuple[str, str, str]]:
        if self._matchers is None:
            self._matchers = read(self.data)
        return self._matchers

    def equalities(self, read: Callable[[dict[str, Any]], list[tuple[str, str, str]]]
                   ) -> dict[str, str] | None:
        """Its `label="value"` matchers; None when one of its matchers cannot be read or
        compiled: the child is then always tried, and the walk reports why in its turn."""
        try:
            matchers = self.matchers(read)
            for _, op, value in matchers:
                if op not in ("=", "!="):
                    _pattern(value)
            found = {label: value for label, op, value in matchers if op == "="}
        except Exception:  # noqa: BLE001 - whatever it is, the walk reports it in its turn
            return None
        return found if all(isinstance(v, str) for v in (*found, *found.values())) else None

    def route(self) -> Route:
        if self._route is None:
            self._route = Route(self.data, self.parent.receiver, self.parent.timing)
        return self._route


class Tree:
    """A generated routing tree, read back as its dispatcher reads it (see `routes`)."""

    def __init__(self, root: dict[str, Any], matchers: Callable[[dict[str, Any]], list[tuple[str, str, str]]]):
        self.matchers = matchers
        self._root: Route | None = None
        self._data = root

    def routes(self, labels: dict[str, str]) -> list[Route]:
        """Every route a dispatcher notifies for `labels`: depth first, a matching child ends
        the search unless it says `continue`; no matching child, the route itself. Receivers
        and timings are inherited down the tree; the time intervals are the notifying route's
        own (moncat sets them on the last route only)."""
        if self._root is None:
            self._root = Route(self._data)
        return self._routes(self._root, labels)

    def _routes(self, route: Route, labels: dict[str, str]) -> list[Route]:
        found: list[Route] = []
        children = route.children()
        for i in route.candidates(self.matchers, labels):
            child = children[i]
            if all(_matches(*m, labels) for m in child.matchers(self.matchers)):
                found += self._routes(child.route(), labels)
                if not child.data.get("continue"):
                    break
        return found or [route]


# --- the Go templates moncat writes for pager levels ------------------------------------------

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_EQ = re.compile(r'^eq \.CommonLabels\.([a-zA-Z_][a-zA-Z0-9_]*) "((?:[^"\\]|\\.)*)"$')
_AND = re.compile(r"^and \((.*?)\) \((.*)\)$")


def _condition(text: str, labels: dict[str, str]) -> bool:
    m = _AND.match(text)
    if m:
        return _condition(m.group(1), labels) and _condition(m.group(2), labels)
    m = _EQ.match(text)
    if not m:
        raise Unreadable(f"template condition {text!r}")
    return labels.get(m.group(1), "") == _unquote(m.group(2))


_READS = re.compile(r"\.CommonLabels\.([a-zA-Z_][a-zA-Z0-9_]*)")


def template_labels(data: Any) -> tuple[str, ...]:
    """Every label a template anywhere in `data` can read: the only labels `render` looks at."""
    found: set[str] = set()
    todo = [data]
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            found.update(_READS.findall(value))
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
    return tuple(sorted(found))


def render(template: str, labels: dict[str, str]) -> str:
    """A template of the form moncat writes: plain text, or `{{ if <cond> }}a{{ else if <cond> }}b
    {{ else }}c{{ end }}` whose conditions compare common labels with `eq` (joined by `and`)."""
    parts = _ACTION.split(template)
    if len(parts) == 1:
        return template
    texts, actions = parts[0::2], parts[1::2]
    if texts[0] or texts[-1] or actions[-1] != "end":
        raise Unreadable(f"template {template!r}")
    for i, (action, text) in enumerate(zip(actions, texts[1:])):
        if action == "end":
            return ""
        if action == "else":
            return text
        if not action.startswith("if " if i == 0 else "else if "):
            raise Unreadable(f"template action {action!r}")
        if _condition(action.removeprefix("else ").removeprefix("if "), labels):
            return text
    return ""


# --- integrations -----------------------------------------------------------------------------

_AM_KINDS = {"email_configs": "email", "slack_configs": "slack", "webhook_configs": "webhook",
             "pagerduty_configs": "pagerduty", "opsgenie_configs": "opsgenie"}
PAGERDUTY_UNSET = {"alertmanager": "error", "grafana": "critical"}  # each one's default
OPSGENIE_UNSET = "P3"  # Opsgenie's own default priority


def am_integrations(receiver: dict[str, Any], labels: dict[str, str]) -> list[str]:
    out = []
    for key, kind in _AM_KINDS.items():
        for config in receiver.get(key, []):
            if kind == "pagerduty":
                kind = "pagerduty severity=" + render(config.get("severity", PAGERDUTY_UNSET["alertmanager"]), labels)
            elif kind == "opsgenie":
                kind = "opsgenie priority=" + (render(config.get("priority", ""), labels) or OPSGENIE_UNSET)
            out.append(kind)
    return out


def grafana_integrations(point: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    out = []
    for integration in point:
        kind, settings = integration["type"], integration.get("settings") or {}
        if kind == "pagerduty":
            kind += " severity=" + (render(settings.get("severity", ""), labels).lower()
                                    or PAGERDUTY_UNSET["grafana"])
        elif kind == "opsgenie":
            # Grafana's integration reads the priority from the `og_priority` label.
            chosen = labels.get("og_priority", "") if settings.get("overridePriority", True) else ""
            kind += " priority=" + (chosen if chosen in ("P1", "P2", "P3", "P4", "P5") else OPSGENIE_UNSET)
        out.append(kind)
    return out
