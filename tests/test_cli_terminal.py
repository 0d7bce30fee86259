"""The CLI where people meet it: --version, an example under every command's --help, shell
completion, colour only on a terminal (never with NO_COLOR), a progress line on slow compiles."""
from __future__ import annotations

import importlib.metadata
import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compiler import console, scaffold
from compiler.cli import app
from conftest import CATALOG, OUTPUT, ROOT, run_moncat

ESC = "\x1b["


def test_version_prints_the_installed_version() -> None:
    proc = run_moncat("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"moncat {importlib.metadata.version('moncat')}\n"


def _commands() -> list[list[str]]:
    names = [[c.name or c.callback.__name__.rstrip("_")] for c in app.registered_commands]
    for group in app.registered_groups:
        names += [[group.name, c.name] for c in group.typer_instance.registered_commands]
    return names


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_shows_an_example_that_runs_that_command(command: list[str]) -> None:
    shown = CliRunner().invoke(app, [*command, "--help"], prog_name="moncat")
    assert shown.exit_code == 0, shown.output
    assert "Example" in shown.output, f"add an example for `moncat {' '.join(command)}` to EXAMPLES"
    examples = shown.output.split("Example", 1)[1].splitlines()[1:]
    assert any(f"moncat {' '.join(command)} " in line for line in examples), shown.output


def test_shell_completion_is_offered_and_the_bash_script_completes_commands(tmp_path: Path) -> None:
    proc = run_moncat("--help")
    assert "--install-completion" in proc.stdout and "--show-completion" in proc.stdout
    # `moncat` on PATH as installed (a script named moncat), then bash runs the script that
    # `moncat --show-completion bash` prints, as a user's ~/.bashrc would.
    (tmp_path / "moncat").write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                                     "from compiler.cli import main\nmain()\n")
    (tmp_path / "moncat").chmod(0o755)
    script = ('eval "$(moncat --show-completion bash)"\n'
              "COMP_WORDS=(moncat ne); COMP_CWORD=1; _moncat_completion moncat; echo \"${COMPREPLY[@]}\"\n"
              "COMP_WORDS=(moncat new a); COMP_CWORD=2; _moncat_completion moncat; echo \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}, timeout=60)
    assert done.stdout.splitlines() == ["new", "alert"], done.stdout + done.stderr


def _in_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the real CLI with stdout and stderr on a pseudo-terminal; what the person would see."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "compiler", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower, env={**os.environ, **env, "PYTHONPATH": str(ROOT)})
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def _broken_catalog(tmp_path: Path) -> Path:
    scaffold.init(tmp_path / "c")
    svc = tmp_path / "c" / "web" / "service.yaml"
    svc.write_text(svc.read_text().replace("severity: critical", "severity: critcal"))
    return tmp_path / "c"


def test_diagnostics_are_coloured_on_a_terminal_and_plain_with_no_color_or_in_a_pipe(tmp_path: Path) -> None:
    catalog = _broken_catalog(tmp_path)
    shown = _in_a_terminal(["validate", str(catalog)], {"TERM": "xterm"}, tmp_path)
    assert f"{console.RED}{console.BOLD}error MC203{console.RESET}" in shown
    assert f"{console.CYAN}hint:{console.RESET}" in shown
    plain = _in_a_terminal(["validate", str(catalog)], {"TERM": "xterm", "NO_COLOR": "1"}, tmp_path)
    assert ESC not in plain and "error MC203" in plain
    piped = run_moncat("validate", str(catalog))
    assert ESC not in piped.stderr and "error MC203" in piped.stderr


def test_a_compile_longer_than_a_second_shows_a_progress_line_on_the_terminal_and_erases_it(
        tmp_path: Path) -> None:
    # `--check` runs the seed's examples under promtool: seconds of work on any machine, where a
    # plain compile of the seed may now finish within the progress line's one-second delay.
    start = time.monotonic()
    shown = _in_a_terminal(["compile", str(CATALOG), "--out", str(OUTPUT), "--check"], {"TERM": "xterm"},
                           tmp_path)
    took = time.monotonic() - start
    assert "output is up to date" in shown
    if took < 1.5:
        pytest.skip(f"the seed catalog compiled and ran its examples in {took:.1f}s: too fast to need "
                    "a progress line")
    assert f"\rmoncat: compiling {CATALOG}: " in shown.replace(f"{ESC}K", "")
    last = shown.rindex("moncat: compiling")
    assert f"\r{ESC}K" in shown[last:], "the progress line is erased before the result is printed"


def test_the_progress_line_waits_for_its_delay_then_names_the_running_stage() -> None:
    quick = io.StringIO()
    with console.Progress("moncat: compiling c", stream=quick, delay=0.5, enabled=True) as p:
        p.stage("load")
    assert quick.getvalue() == ""  # done before the delay: nothing shown, nothing to erase
    slow = io.StringIO()
    with console.Progress("moncat: compiling c", stream=slow, delay=0.05, interval=0.02, enabled=True) as p:
        p.stage("check")
        time.sleep(0.3)
    text = slow.getvalue()
    assert "moncat: compiling c: generate… " in text and text.endswith(f"\r{ESC}K")


def test_colour_follows_no_color_and_term_dumb() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert console.use_colour(Tty(), {"TERM": "xterm"})
    assert not console.use_colour(Tty(), {"TERM": "xterm", "NO_COLOR": "1"})
    assert not console.use_colour(Tty(), {"TERM": "dumb"})
    assert not console.use_colour(io.StringIO(), {"TERM": "xterm"})
