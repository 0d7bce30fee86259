"""How the command ends: it exits without tearing its objects down, but only after its threads,
its exit handlers and its output are done."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

from typer.testing import CliRunner

from compiler.cli import app
from conftest import CATALOG, run_moncat


def test_a_commands_whole_output_and_status_reach_a_pipe() -> None:
    proc = run_moncat("validate", str(CATALOG), "--format", "json", "--no-examples")
    in_process = CliRunner().invoke(app, ["validate", str(CATALOG), "--format", "json", "--no-examples"])
    assert proc.returncode == in_process.exit_code == 0
    assert json.loads(proc.stdout) == json.loads(in_process.stdout)
    assert proc.stderr == ""


def test_a_failing_command_keeps_its_status_and_message(tmp_path) -> None:
    proc = run_moncat("validate", str(tmp_path / "missing"), "--no-examples")
    assert proc.returncode != 0
    assert "missing" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_end_waits_for_threads_runs_exit_handlers_and_flushes_before_exiting() -> None:
    script = textwrap.dedent("""
        import atexit, sys, threading, time
        from compiler import cli
        atexit.register(lambda: print("exit handler ran"))
        threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
        sys.stdout.write("unflushed")
        cli._end("a message for the user")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == "unflushedthread finished\nexit handler ran\n"
    assert proc.stderr == "a message for the user\n"


def test_an_integer_status_is_the_exit_status() -> None:
    proc = subprocess.run([sys.executable, "-c", "from compiler import cli; print('done'); cli._end(3)"],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (3, "done\n")


def test_after_ctrl_c_the_abandoned_work_prints_nothing_more() -> None:
    # The work thread outlives Ctrl-C; here it prints while the command is ending (from an exit
    # handler's window), as a validation whose promtool died of the same Ctrl-C did.
    script = textwrap.dedent("""
        import _thread, atexit, sys, threading
        import typer
        from compiler import cli
        go, done = threading.Event(), threading.Event()
        atexit.register(lambda: (go.set(), done.wait(10)))
        def work():
            _thread.interrupt_main()
            go.wait(10)
            typer.echo("moncat import: the merged catalog would not validate", err=True)
            print("imported into catalog")
            sys.stdout.flush()
            done.set()
        cli.app = work
        cli.entry()
    """)
    # Ctrl-C reaches Python only where SIGINT is not ignored: a job started in the background of a
    # script without job control (as CI may run this suite) inherits it ignored, and Python then
    # leaves it so. The command is run as a terminal would run it.
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 130
    assert (proc.stdout, proc.stderr) == ("", "moncat: interrupted\n")
