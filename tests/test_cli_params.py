"""CLI: option values converted without Pydantic (compiler.cli_params) are the values, and the
errors, typer's own conversion gives."""
from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from compiler.cli_params import PlainGroup


class Colour(str, enum.Enum):
    red = "red"
    blue = "blue"


def _app(cls: type | None) -> tuple[typer.Typer, list]:
    """The same commands under typer's own group, or under PlainGroup; `seen` collects what the
    commands receive."""
    seen: list = []
    app = typer.Typer(cls=cls, rich_markup_mode=None, pretty_exceptions_enable=False)
    sub = typer.Typer(rich_markup_mode=None)
    app.add_typer(sub, name="sub")

    @app.command()
    def first(where: Annotated[Path, typer.Argument()],
              out: Annotated[Path, typer.Option("--out")] = Path("output"),
              cache: Annotated[Path | None, typer.Option("--cache")] = None,
              colour: Annotated[Colour, typer.Option("--colour", "-c")] = Colour.red,
              name: Annotated[str, typer.Option("--name")] = "x",
              count: Annotated[int, typer.Option("--count")] = 1,
              flag: Annotated[bool, typer.Option("--flag")] = False,
              must: Annotated[Path | None, typer.Option("--must", exists=True, dir_okay=False)] = None) -> None:
        seen.append((where, out, cache, colour, name, count, flag, must))

    @app.command()
    def second(tags: Annotated[list[str], typer.Option("--tag")] = [],  # noqa: B006 - typer's idiom
               paths: Annotated[list[Path], typer.Argument()] = None) -> None:  # type: ignore[assignment]
        seen.append((tags, paths))

    @sub.command()
    def third(colour: Annotated[Colour, typer.Argument()], where: Annotated[Path, typer.Option("--at")] = Path(".")) -> None:
        seen.append((colour, where))

    return app, seen


CASES = [
    ["first", "cat"],
    ["first", "cat", "--out", "o", "--cache", "/tmp/c", "-c", "blue", "--name", "n", "--count", "3", "--flag"],
    ["first", ""],
    ["first", "cat", "--colour", "green"],
    ["first", "cat", "--colour", "BLUE"],
    ["first", "cat", "--count", "many"],
    ["first", "cat", "--must", "/nonexistent/file"],
    ["first", "cat", "--must", "/"],
    ["first", "--help"],
    ["second", "--tag", "a", "--tag", "b", "p", "q"],
    ["second"],
    ["sub", "third", "blue", "--at", "x/y"],
    ["sub", "third", "green"],
    ["sub", "third", "--help"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) or "none" for c in CASES])
def test_plain_group_converts_values_and_reports_errors_as_typer_does(args: list[str]) -> None:
    runner = CliRunner()
    results = []
    for cls in (None, PlainGroup):
        app, seen = _app(cls)
        result = runner.invoke(app, args)
        results.append((result.exit_code, result.output, [[(type(v), v) for v in call] for call in seen]))
    assert results[0] == results[1]


def test_plain_group_converts_paths_choices_words_and_defaults_itself() -> None:
    app, seen = _app(PlainGroup)
    command = typer.main.get_command(app)
    command.main(["first", "cat", "--out", "o", "-c", "blue"], standalone_mode=False)
    command.main(["first", "cat"], standalone_mode=False)  # the defaults: a Path, an enum member, None
    assert seen == [(Path("cat"), Path("o"), None, Colour.blue, "x", 1, False, None),
                    (Path("cat"), Path("output"), None, Colour.red, "x", 1, False, None)]
    first = command.commands["first"]  # type: ignore[attr-defined]
    fell_back = sorted(p.name for p in first.params if p._runtime_param._typer is not None)
    assert fell_back == ["count"]  # an int is typer's to convert; paths, words and choices are not
