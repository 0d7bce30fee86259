"""CLI: typer's conversion of the plain values moncat's options take (paths, words, choices),
done without Pydantic.

typer (0.29) converts every option value that is not a flag through a Pydantic TypeAdapter:
importing Pydantic and building the adapters was 0.1 s of CPU on every command, a sixth of a
small compile. For a path, a word or a choice given as text, the conversion is typer's own
(`coerce_cli_path`, `coerce_cli_choice`) reached directly; anything else, and any value those
refuse, goes to typer's adapter as before, so that what typer accepts and the message it prints
for a bad value stay typer's. Where typer's internals are not the ones this module knows (another
typer version), the commands are left as typer builds them.
"""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

try:
    from typer._click.exceptions import BadParameter
    from typer._coercion import build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
    from typer.core import TyperGroup, _TyperParameter
except ImportError:  # another typer: its own conversion everywhere
    from typer.core import TyperGroup
    _TyperParameter = None

_UNSURE = object()


class _Plain:
    """A parameter's conversion: the plain cases here, the rest by typer's own (built on first
    need)."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None  # as typer's RuntimeParam.coerce
        if not multi:
            try:
                converted = _convert(self.descriptor, value, param, ctx)
            except (BadParameter, ValueError):
                converted = _UNSURE  # typer converts it again and words the error its way
            if converted is not _UNSURE:
                return converted
        if self._typer is None:
            self._typer = build_runtime_param(self.descriptor)
        return self._typer.coerce(value, param=param, ctx=ctx)


def _convert(descriptor: Any, value: Any, param: Any, ctx: Any) -> Any:
    """`value` (text from the command line, or the default) converted as typer's adapter
    converts it, or _UNSURE for a case left to typer."""
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None:
        return _UNSURE
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        # typer's adapter is this call and nothing else (a default member is returned as is).
        return coerce_cli_choice(value, choices=tuple(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
    if annotation is str:
        return value if type(value) is str else _UNSURE
    if routes_to_path(annotation, info) and info.path_type is None and annotation is Path \
            and isinstance(value, (str, Path)):
        # typer turns text into a Path (through Pydantic, which calls Path()), then checks it.
        return coerce_cli_path(value if isinstance(value, Path) else Path(value), info, path_type=Path,
                               param=param, ctx=ctx)
    return _UNSURE


def _plain_conversions(params: Any) -> None:
    for param in params:
        if isinstance(param, _TyperParameter) and getattr(param, "_runtime_param", "") is None:
            param._runtime_param = _Plain(param.type_descriptor)


class PlainGroup(TyperGroup):
    """typer's group whose commands convert plain values without Pydantic: their declared
    parameters, and those typer adds as it runs (--help, the completion options)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _TyperParameter is not None:
            todo = [self]
            while todo:
                command = todo.pop()
                _plain_conversions(command.params)
                todo.extend(getattr(command, "commands", {}).values())

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if _TyperParameter is not None:
            _plain_conversions(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if _TyperParameter is not None and command is not None:
            _plain_conversions(command.get_params(ctx))
        return name, command, rest


__all__ = ["PlainGroup"]
