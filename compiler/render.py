"""Render stage: artifacts to bytes, deterministically (sorted keys, no timestamps, no versions)."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from compiler.artifacts import Artifact


class _Dumper(yaml.CSafeDumper):
    """Block style everywhere; multi-line strings as literal blocks so diffs stay readable."""


def _str(dumper: yaml.Dumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) and "\r" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(data: Any) -> str:
    # Objects are built in a fixed, readable order (`alert:` before `expr:`); every free-form map
    # (labels, annotations) is sorted where it is built.
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=4096, indent=2)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(artifact: Artifact) -> bytes:
    if artifact.format == "yaml":
        head = f"# {artifact.header}\n" if artifact.header else ""
        return (head + to_yaml(artifact.data)).encode("utf-8")
    if artifact.format == "json":
        return to_json(artifact.data).encode("utf-8")
    return str(artifact.data).encode("utf-8")


def content_hash(data: Any) -> str:
    """sha256 of an object's canonical JSON: the same object always hashes the same."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
