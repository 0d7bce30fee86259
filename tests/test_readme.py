"""The README's tutorial and cookbook, run as written.

The tutorial runs in an empty directory: each `$ command` of its console blocks through bash with
`moncat` on PATH, its output (stdout and stderr, as a terminal shows them) compared with the
lines under it (a line `...` stands for any lines, `...` in a line for any text), and each ` ```lang file=<path> ` block written to that
path when it comes. Each cookbook recipe (a `###` section of the Cookbook with file blocks) is
added to a fresh `moncat init` catalog, which must compile with no diagnostic at all and pass
`moncat test` (promtool runs the recipe's examples). A new recipe needs no change here.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from compiler import pipeline, scaffold, verify, writer
from conftest import ROOT

README = ROOT / "README.md"
TUTORIAL = "## Tutorial"
COOKBOOK = "## Cookbook"


@dataclass
class Block:
    info: str
    lines: list[str]

    @property
    def file(self) -> str | None:
        m = re.search(r"(?:^|\s)file=(\S+)", self.info)
        return m.group(1) if m else None


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


def sections(text: str, level: str) -> list[Section]:
    """The sections at heading `level` ("## " or "### "), with their fenced blocks."""
    out: list[Section] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(level):
            out.append(Section(line[len(level):]))
        elif line.startswith("```") and out:
            info, body = line[3:].strip(), []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out[-1].blocks.append(Block(info, body))
        elif line.startswith("```"):  # a block before the first heading of this level
            i += 1
            while not lines[i].startswith("```"):
                i += 1
        i += 1
    return out


def part(title_prefix: str) -> str:
    """The text of the `## ` section whose title starts with `title_prefix`."""
    text = README.read_text()
    start = text.index("\n" + title_prefix) + 1
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def commands(block: Block) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.lines:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            assert steps, f"output before any command in a console block: {line!r}"
            steps[-1][1].append(line)
    return steps


def _line(expected: str, actual: str) -> bool:
    """`...` within a line stands for any text (a duration, a count that varies)."""
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("..."))
    return re.fullmatch(pattern, actual.rstrip()) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a line `...` stands for any number of lines, `...` in a line for any text."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _line(expected[0], actual[0]) and matches(expected[1:], actual[1:])


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """`moncat` on PATH as an installed script named moncat, git that needs no configuration."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "moncat"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                      "from compiler.cli import main\nmain()\n")
    script.chmod(0o755)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Tutorial\n\temail = tutorial@example.com\n"
                         "[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MONCAT_", "NO_COLOR"))}
    return {**env, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONUNBUFFERED": "1",
            "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}


def test_the_tutorial_runs_from_an_empty_directory_as_the_readme_shows(tmp_path: Path, shell_env: dict) -> None:
    work = tmp_path / "work"
    work.mkdir()
    [tutorial] = sections(part(TUTORIAL), "## ")
    ran = 0
    for block in tutorial.blocks:
        if block.file:
            target = work / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(block.lines) + "\n")
            continue
        assert block.info == "console", f"a tutorial block is a console or a file=: {block.info!r}"
        for command, expected in commands(block):
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-c", command], cwd=work, env=shell_env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
            actual = proc.stdout.splitlines()
            assert matches(expected, actual), (
                f"$ {command}\n--- the README shows:\n" + "\n".join(expected)
                + f"\n--- it printed (exit {proc.returncode}):\n" + proc.stdout)
            ran += 1
    assert ran >= 10


def recipes() -> list[Section]:
    return [s for s in sections(part(COOKBOOK), "### ") if any(b.file for b in s.blocks)]


def test_the_cookbook_has_its_recipes() -> None:
    titles = [r.title for r in recipes()]
    assert len(titles) >= 7, titles
    for recipe in sections(part(COOKBOOK), "### "):
        assert any(b.file for b in recipe.blocks), f"recipe {recipe.title!r} has no file= block"


@pytest.mark.parametrize("recipe", recipes(), ids=lambda r: r.title)
def test_each_recipe_compiles_without_a_diagnostic_and_its_examples_pass_promtool(
        recipe: Section, tmp_path: Path) -> None:
    scaffold.init(tmp_path / "catalog")
    scaffold.init(tmp_path / "skeleton")
    for block in recipe.blocks:
        if block.file:
            assert block.file.startswith("catalog/"), block.file
            target = tmp_path / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(block.lines) + "\n")
    result = pipeline.compile_catalog(tmp_path / "catalog")
    assert result.report.items == [], [f"{d.loc}: {d.code} {d.message}" for d in result.report.sorted()]
    # The recipe's own alerts (those defined in its files, or through its Jsonnet) have examples
    # of both kinds, and promtool runs them.
    skeleton = {a.id for s in pipeline.analyse(tmp_path / "skeleton").catalog.services for a in s.alerts.values()}
    theirs = [a for s in result.catalog.services for a in s.alerts.values() if a.id not in skeleton]
    assert theirs, "the recipe adds no alert"
    for alert in theirs:
        assert {ex.fires for ex in alert.examples} == {True, False}, alert.name
        assert alert.compiled_for("prometheus"), alert.name
    writer.write(tmp_path / "output", result.files)
    outcomes = verify.run(tmp_path / "output")
    failed = [(o.name, o.output) for o in outcomes if not o.ok]
    assert failed == []
    tests_text = "".join(p.read_text() for p in (tmp_path / "output" / "prometheus").glob("web*.tests.yaml"))
    assert all(f"{alert.name} fires #1" in tests_text for alert in theirs)
