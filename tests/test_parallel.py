"""Forked work in the generate stage: results come back in order and unchanged, failures surface
as errors, and a compile that renders the pages in a child writes the same bytes as one that
renders them in-process."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler import parallel, pipeline
from conftest import compile_clean, tree_bytes
from tests.benchmarks import synthetic

forks = pytest.mark.skipif((os.cpu_count() or 1) < 2 or not parallel._can_fork(),
                           reason="needs fork and two cores")


def test_fork_map_returns_every_result_in_order() -> None:
    items = list(range(parallel.MIN_ITEMS * 2 + 7))
    assert parallel.fork_map(lambda x: (x, x * x), items) == [(x, x * x) for x in items]


@forks
def test_background_work_runs_in_another_process_and_returns_its_value() -> None:
    work = parallel.Background(lambda: (os.getpid(), {"pages": ["a" * 100_000] * 20}))
    pid, value = work.result()
    assert pid != os.getpid()
    assert value == {"pages": ["a" * 100_000] * 20}  # larger than a pipe's buffer
    assert work.result() == (pid, value)  # asked again, the same value


def test_small_background_work_runs_in_this_process() -> None:
    work = parallel.Background(os.getpid, worth_a_process=False)
    assert work.result() == os.getpid()


@forks
def test_an_exception_in_the_child_is_raised_in_the_parent_with_its_traceback() -> None:
    def broken() -> None:
        raise ValueError("page template missing")

    with pytest.raises(parallel.WorkerFailed, match="ValueError: page template missing"):
        parallel.Background(broken).result()


@forks
def test_an_exception_the_caller_recovers_from_is_raised_in_the_parent_as_itself() -> None:
    from compiler.incremental.front import BlobGone

    def damaged() -> None:
        raise BlobGone("cache/sections/x.bin")

    # The pages' child reading a damaged blob: the compile runs again without blobs.
    with pytest.raises(BlobGone, match="x.bin"):
        parallel.Background(damaged).result()


@forks
def test_a_child_that_dies_without_a_result_is_an_error_naming_its_exit_status() -> None:
    with pytest.raises(parallel.WorkerFailed, match="exit status 3"):
        parallel.Background(lambda: os._exit(3)).result()


@forks
def test_cancelled_work_stops_its_child_and_has_no_result() -> None:
    import time

    work = parallel.Background(lambda: time.sleep(60))
    started = time.monotonic()
    work.cancel()
    assert time.monotonic() - started < 10
    with pytest.raises(parallel.WorkerFailed, match="cancelled"):
        work.result()


@forks
def test_pages_rendered_in_a_child_are_the_bytes_rendered_in_process(tmp_path: Path, monkeypatch) -> None:
    synthetic.write_catalog(tmp_path / "catalog", 100)
    monkeypatch.setattr(pipeline, "_compiles", 0)  # as a process's first compile: the pages fork
    monkeypatch.setattr(pipeline, "_core_free", lambda: True)  # (when a core is free for them)
    background = pipeline.compile_catalog(tmp_path / "catalog")
    assert not background.report.has_errors()
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS", 10**9)
    in_process = pipeline.compile_catalog(tmp_path / "catalog")
    assert background.files == in_process.files
    assert [a.path for a in background.artifacts] == [a.path for a in in_process.artifacts]
    assert any(p.startswith("site/") for p in background.files)


@forks
def test_when_the_checks_find_errors_the_pages_child_is_stopped_and_nothing_is_rendered(
        tmp_path: Path, monkeypatch) -> None:
    import multiprocessing

    from compiler import checks
    from compiler.diagnostics import Loc, error

    synthetic.write_catalog(tmp_path / "catalog", 100)
    monkeypatch.setattr(pipeline, "_compiles", 0)  # as a process's first compile: the pages fork
    monkeypatch.setattr(pipeline, "_core_free", lambda: True)  # (when a core is free for them)
    monkeypatch.setattr(checks, "run_all", lambda catalog: [
        error("MC999", "a check failed", Loc("moncat.yaml"), "fix it")])
    result = pipeline.compile_catalog(tmp_path / "catalog")
    assert [d.code for d in result.report.sorted()] == ["MC999"]
    assert result.files == {} and result.artifacts == []
    assert multiprocessing.active_children() == []


def _pages_in_a_pool_worker(catalog: str) -> int:
    return len(pipeline.compile_catalog(Path(catalog)).files)


@forks
def test_a_compile_inside_another_pools_worker_renders_the_pages_in_that_worker(tmp_path: Path, monkeypatch) -> None:
    import multiprocessing

    synthetic.write_catalog(tmp_path / "catalog", 100)
    monkeypatch.setattr(pipeline, "_compiles", 0)  # the worker's first compile would fork its pages
    monkeypatch.setattr(pipeline, "_core_free", lambda: True)
    with multiprocessing.get_context("fork").Pool(1) as pool:  # its workers are daemonic
        files = pool.apply(_pages_in_a_pool_worker, (str(tmp_path / "catalog"),))
    assert files == len(pipeline.compile_catalog(tmp_path / "catalog").files)


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(c) for c in f.read().split()]
    return found


@forks
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_ctrl_c_while_the_pages_child_runs_stops_both_without_a_traceback_or_output(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    synthetic.write_catalog(tmp_path / "catalog", 300)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "compile", str(tmp_path / "catalog"),
                             "--out", str(out)], start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not _children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child = _children(proc.pid)
    if not child:
        proc.communicate(timeout=60)
        pytest.skip("the compile ended before its pages' child could be seen")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "moncat: interrupted"
    assert "Traceback" not in err
    # Interrupted before its write, nothing is written; during it, the write completes whole.
    assert not out.exists() or tree_bytes(out) == compile_clean(tmp_path / "catalog").files
    assert [p.name for p in tmp_path.iterdir() if ".moncat-" in p.name] == []  # no staging left
    assert not any(Path(f"/proc/{pid}").exists() for pid in child)


def test_small_work_runs_only_when_its_result_is_asked_for_and_never_once_cancelled() -> None:
    ran: list[int] = []
    work = parallel.Background(lambda: ran.append(1) or len(ran), worth_a_process=False)
    assert ran == []
    assert work.result() == 1 and work.result() == 1 and ran == [1]
    dropped = parallel.Background(lambda: ran.append(2), worth_a_process=False)
    dropped.cancel()
    with pytest.raises(parallel.WorkerFailed, match="cancelled"):
        dropped.result()
    assert ran == [1]


def test_a_small_catalog_that_fails_its_checks_never_renders_its_pages(tmp_path: Path, monkeypatch) -> None:
    import compiler.targets.runbooks as runbooks_target
    from compiler import checks
    from compiler.diagnostics import Loc, error

    def no_pages(catalog):
        raise AssertionError("pages rendered for a catalog whose checks failed")

    synthetic.write_catalog(tmp_path / "catalog", 50)
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS", 10**9)  # in this process, as small catalogs
    monkeypatch.setattr(runbooks_target, "pages", no_pages)
    monkeypatch.setattr(checks, "run_all", lambda catalog: [
        error("MC999", "a check failed", Loc("moncat.yaml"), "fix it")])
    result = pipeline.compile_catalog(tmp_path / "catalog")
    assert [d.code for d in result.report.sorted()] == ["MC999"]


def _record_decisions(monkeypatch, fork: bool) -> list[bool]:
    """Whether each compile from here on decided to fork its pages (with `fork`, they are forked
    when so decided; else they run here, only the decision being under test). As a process's
    first compile, cold."""
    forked: list[bool] = []

    class Recorded(parallel.Background):
        def __init__(self, func, worth_a_process=True):
            forked.append(worth_a_process)
            super().__init__(func, worth_a_process and fork)

    monkeypatch.setattr(pipeline, "Background", Recorded)
    monkeypatch.setattr(pipeline, "_compiles", 0)
    monkeypatch.setattr(pipeline, "_pages_here", False)
    return forked


def test_a_process_compiling_again_renders_a_small_catalogs_pages_itself(tmp_path: Path, monkeypatch) -> None:
    forked = _record_decisions(monkeypatch, fork=False)
    monkeypatch.setattr(pipeline, "_core_free", lambda: True)
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS_WARM", 120)
    synthetic.write_catalog(tmp_path / "small", 100)
    synthetic.write_catalog(tmp_path / "large", 150)
    monkeypatch.setattr(pipeline, "_rendered_here", lambda: None)  # its pages as a child's, not its own
    for catalog in ("small", "small", "large"):
        assert not pipeline.compile_catalog(tmp_path / catalog).report.has_errors()
    # A first compile forks from BACKGROUND_MIN_ALERTS (40); later ones from the warm threshold.
    assert forked == [True, False, True]


@forks
def test_a_process_that_rendered_pages_itself_forks_them_from_a_child_that_starts_warm(
        tmp_path: Path, monkeypatch) -> None:
    forked = _record_decisions(monkeypatch, fork=True)
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS_WARM", 120)
    cores = iter([True, True, False, False])  # asked by the first, third, fourth and fifth compiles
    monkeypatch.setattr(pipeline, "_core_free", lambda: next(cores))
    synthetic.write_catalog(tmp_path / "small", 100)
    synthetic.write_catalog(tmp_path / "large", 200)
    files = [pipeline.compile_catalog(tmp_path / "small").files for _ in range(4)]
    # The first compile's pages render in a child (this process stays cold), the second's here
    # (below the warm threshold), the third's in a child again (this process is warm now), the
    # fourth's here: no core was free for a child; a catalog from the warm threshold up forks
    # all the same.
    assert not pipeline.compile_catalog(tmp_path / "large").report.has_errors()
    assert forked == [True, False, True, False, True]
    assert files[0] == files[1] == files[2] == files[3]


def test_a_first_compile_renders_its_pages_itself_when_no_core_is_free(tmp_path: Path, monkeypatch) -> None:
    forked = _record_decisions(monkeypatch, fork=False)
    monkeypatch.setattr(pipeline, "_core_free", lambda: False)
    synthetic.write_catalog(tmp_path / "catalog", 100)
    assert not pipeline.compile_catalog(tmp_path / "catalog").report.has_errors()
    assert forked == [False]


def test_a_core_is_free_when_fewer_tasks_run_than_there_are_cores_in_either_of_two_looks(monkeypatch) -> None:
    import builtins
    import io

    opened = builtins.open
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(pipeline.time, "sleep", lambda seconds: None)
    for looks, free in ((["1"], True), (["2", "1"], True), (["2", "2"], False), (["9", "3"], False)):
        running = iter(looks)
        monkeypatch.setattr(builtins, "open", lambda path, *a, running=running, **k: io.StringIO(
            f"0.70 0.80 0.90 {next(running)}/151 4242\n") if path == "/proc/loadavg" else opened(path, *a, **k))
        assert pipeline._core_free() is free, looks
    monkeypatch.setattr(builtins, "open", lambda *a, **k: (_ for _ in ()).throw(OSError("no /proc")))
    assert pipeline._core_free() is True


@forks
def test_an_iterators_items_come_back_as_a_list_each_in_a_message_of_its_own(tmp_path: Path, monkeypatch) -> None:
    import multiprocessing.connection
    import pickle

    log = tmp_path / "sent"
    send = multiprocessing.connection.Connection.send

    def logged(self, obj) -> None:  # runs in the child, which inherits the patch
        with log.open("a") as f:
            f.write(f"{len(pickle.dumps(obj))}\n")
        send(self, obj)

    monkeypatch.setattr(multiprocessing.connection.Connection, "send", logged)
    pages = [bytes([i]) * 200_000 for i in range(10)]
    assert parallel.Background(lambda: iter(pages)).result() == pages
    sizes = [int(n) for n in log.read_text().split()]
    assert len(sizes) == len(pages) + 1  # an item a message, then the end
    assert max(sizes) < 2 * 200_000  # never two items in one message


def test_an_iterator_run_in_this_process_gives_the_same_list() -> None:
    assert parallel.Background(lambda: iter("abc"), worth_a_process=False).result() == ["a", "b", "c"]


@forks
def test_an_iterator_failing_midway_is_an_error_with_its_traceback() -> None:
    def pages():
        yield b"first page"
        raise ValueError("second page broken")

    with pytest.raises(parallel.WorkerFailed, match="ValueError: second page broken"):
        parallel.Background(pages).result()


@forks
def test_a_childs_pipe_holds_as_much_as_linux_lets_a_user_give_it() -> None:
    # Each read of the thread receiving the child's messages waits for the busy caller to let go
    # of the interpreter: a 64 KiB pipe made the pages' child of a 1,000-alert compile stand
    # blocked while the caller waited 0.3-0.5 s for its pages.
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ") or not Path("/proc/sys/fs/pipe-max-size").exists():
        pytest.skip("pipe sizes are Linux's")
    most = min(int(Path("/proc/sys/fs/pipe-max-size").read_text()), 1 << 24)
    work = parallel.Background(lambda: iter([b"page"]))
    try:
        assert fcntl.fcntl(work._reader.fileno(), fcntl.F_GETPIPE_SZ) == most
    finally:
        assert work.result() == [b"page"]


def test_widening_a_pipe_the_system_refuses_is_no_error() -> None:
    reader, writer = os.pipe()
    os.close(reader)
    os.close(writer)
    assert parallel._widen(writer) is None  # a closed descriptor: the refusal stays inside


@forks
def test_the_child_sends_every_item_before_the_caller_asks_for_the_result(tmp_path: Path) -> None:
    import time

    done = tmp_path / "done"

    def pages():
        for _ in range(20):
            yield b"x" * 100_000  # together far beyond a pipe's buffer
        done.write_text("all sent")

    work = parallel.Background(pages)
    deadline = time.monotonic() + 30
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.exists()  # the caller kept working: nothing blocked the child meanwhile
    assert work.result() == [b"x" * 100_000] * 20


@forks
def test_the_pages_child_reads_the_datadog_conditions_computed_before_it_forked(
        tmp_path: Path, monkeypatch) -> None:
    from compiler.targets.datadog import conditions

    log = tmp_path / "computed"
    compute = conditions._condition

    def logged(catalog, alert, naming):  # the pages' child inherits the patch
        with log.open("a") as f:
            f.write(f"{os.getpid()} {alert.id}\n")
        return compute(catalog, alert, naming)

    monkeypatch.setattr(conditions, "_condition", logged)
    synthetic.write_catalog(tmp_path / "catalog", 100)
    result = pipeline.compile_catalog(tmp_path / "catalog")
    assert not result.report.has_errors()
    computed = [line.split() for line in log.read_text().splitlines()]
    assert {pid for pid, _ in computed} == {str(os.getpid())}  # none in the child
    assert len(computed) == len({alert for _, alert in computed}) == 100  # each once
    page = result.files["runbooks/svc0000/alerts/Alert000.md"].decode()
    assert "*Datadog:*" in page and "svc0000.svc0000_g0_requests.count" in page  # and the pages show them


def test_pages_rendered_in_this_process_read_what_the_other_targets_worked_out(tmp_path: Path, monkeypatch) -> None:
    # A command (files only, artifacts=False) drops the catalog's memos once the targets ran; pages
    # rendered here afterwards (no core free for a child) read them first: each alert's Datadog
    # condition is worked out once, not again for its page.
    from compiler.targets.datadog import conditions

    worked_out: list[str] = []
    condition = conditions._condition
    monkeypatch.setattr(conditions, "_condition",
                        lambda catalog, alert, naming: worked_out.append(alert.id) or condition(catalog, alert, naming))
    forked = _record_decisions(monkeypatch, fork=False)
    monkeypatch.setattr(pipeline, "_core_free", lambda: False)
    synthetic.write_catalog(tmp_path / "catalog", 100)
    result = pipeline.compile_catalog(tmp_path / "catalog", artifacts=False)
    assert forked == [False] and not result.report.has_errors()
    assert len(worked_out) == 100 and len(set(worked_out)) == 100
    assert result.files == compile_clean(tmp_path / "catalog").files
    assert parallel.Background(lambda: 1, worth_a_process=False).here
