"""Targets' output: artifacts (a file's data) and the objects each one holds, for the manifest."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.diagnostics import Loc


@dataclass(frozen=True)
class ManagedObject:
    """One catalog object as it lands in one target."""

    id: str       # e.g. shop/WebhookFailureRatioHigh
    kind: str     # alert, recording_rule, rule_group, test, ...
    target: str   # prometheus, kubernetes, ...
    source: Loc
    content: Any  # the object's own data, hashed into the manifest (or its Digest)
    # content_hash(content), when known already (the incremental cache stores it).
    digest: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Digest:
    """An object's content hash standing in for its content, in an artifact already rendered."""

    value: str  # sha256:<hex> of the content's canonical JSON


@dataclass(frozen=True)
class Artifact:
    """A file to write: its path under the output directory, its data and its format. Data in
    bytes is the file already rendered (see render.rendered)."""

    path: str
    data: Any
    format: str  # yaml | json | text
    objects: tuple[ManagedObject, ...] = field(default=())
    header: str = ""  # a comment line for YAML files (never a timestamp or version)
