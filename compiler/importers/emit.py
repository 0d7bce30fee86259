"""Import stage, writing: catalog documents as block YAML with a comment above each imported
object naming where it came from. Deterministic: the order given, nothing else."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.render import _block, _scalar


@dataclass(frozen=True)
class Noted:
    """A value written with `# comment` lines above its key."""

    value: Any
    comment: str


def _comment(text: str, indent: str, out: list[str]) -> None:
    for line in text.splitlines():
        out.append(f"{indent}# {line}".rstrip())


def _emit(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, Noted):
                _comment(item.comment, indent, out)
                item = item.value
            _entry(indent + _scalar(key) + ":", item, indent, out)
        return
    for item in value:
        if isinstance(item, Noted):
            _comment(item.comment, indent, out)
            item = item.value
        if isinstance(item, dict) and item:
            first = True
            for key, sub in item.items():
                if isinstance(sub, Noted):
                    _comment(sub.comment, indent + "  ", out)
                    sub = sub.value
                _entry(indent + ("- " if first else "  ") + _scalar(key) + ":", sub, indent + "  ", out)
                first = False
        else:
            _entry(indent + "-", item, indent, out)


def _entry(lead: str, value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        if value:
            out.append(lead)
            _emit(value, indent + "  ", out)
        else:
            out.append(lead + " {}")
    elif isinstance(value, list):
        if value:
            out.append(lead)
            _emit(value, indent + "  ", out)
        else:
            out.append(lead + " []")
    elif isinstance(value, str) and "\n" in value and (block := _block(value, indent)) is not None:
        out.append(lead + " " + block)
    else:
        out.append(lead + " " + _scalar(value))


def to_yaml(data: dict, header: str = "") -> str:
    out: list[str] = []
    if header:
        _comment(header, "", out)
    _emit(data, "", out)
    return "\n".join(out) + "\n"


def plain(value: Any) -> Any:
    """The same data without comments (what a YAML reader gets back)."""
    if isinstance(value, Noted):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
