"""Routing helper: which children of a routing-tree node a label set can match, found by their
equality matchers instead of trying every child.

A dispatcher (Alertmanager's, and Grafana's fork of it) tries a route's children in order. A
node holding one child per service (or team) would make every alert try hundreds of children: a
cost growing with the square of the catalog. A child with the matcher `label="value"` cannot
match a label set whose `label` is not `value` (a missing label reads as ""), so only the
children keyed by the set's value, and those with no equality matcher on that label, are
candidates; they are tried in their order, so the first match is the dispatcher's.
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

# Below this many children, trying each one costs less than looking them up.
SMALL = 8


class ChildIndex:
    """The candidate children of one node. `equalities[i]` maps each label that child `i`
    matches with `=` to its value, or is None when the child must always be tried (its matchers
    were not read: trying it reports why, in its turn)."""

    __slots__ = ("label", "by_value", "rest", "every")

    def __init__(self, equalities: Sequence[Mapping[str, str] | None], positions: Sequence[int] | None = None):
        positions = range(len(equalities)) if positions is None else positions
        counts = Counter(label for i in positions if equalities[i] for label in equalities[i])
        self.every = list(positions)
        self.label: str | None = None
        self.by_value: dict[str, list[int]] = {}
        self.rest: ChildIndex | None = None
        if len(self.every) < SMALL or not counts:
            return
        # The label most children match on; ties broken by name, for a stable choice.
        self.label = max(counts, key=lambda label: (counts[label], label))
        others = []
        for i in self.every:
            eq = equalities[i]
            if eq is not None and self.label in eq:
                self.by_value.setdefault(eq[self.label], []).append(i)
            else:
                others.append(i)
        self.rest = ChildIndex(equalities, others)

    def candidates(self, labels: Mapping[str, str]) -> list[int]:
        """The positions, in order, of every child that can match `labels`."""
        if self.label is None or self.rest is None:
            return self.every
        hit = self.by_value.get(labels.get(self.label, ""), [])
        rest = self.rest.candidates(labels)
        if not rest:
            return hit
        return sorted(hit + rest) if hit else rest
