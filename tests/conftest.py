"""Shared fixtures: repository paths, real promtool, and the golden-file update flag."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CATALOG = ROOT / "catalog"
OUTPUT = ROOT / "output"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from the current compiler output")


@pytest.fixture(scope="session", autouse=True)
def _own_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`moncat compile` keeps an incremental cache under $XDG_CACHE_HOME: the suite's compiles
    (and the CLI subprocesses, which inherit it) use one of their own, not the user's."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is missing: run `bash ci/test.sh`, which installs Debian's prometheus")
    return path


def run_moncat(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as users and CI run it."""
    return subprocess.run([sys.executable, "-m", "compiler", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def compile_clean(catalog: Path):
    """The catalog compiled in-process, failing the test with every diagnostic if it has errors."""
    from compiler import pipeline

    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


def compile_into(catalog: Path, out: Path) -> Path:
    """The catalog compiled (without errors) and written to `out`, as `moncat compile` does."""
    from compiler import writer

    writer.write(out, compile_clean(catalog).files)
    return out


def tree_bytes(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}
