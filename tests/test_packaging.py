"""Packaging: the sdist and the wheel build without a warning, the wheel carries every package and
data file (schema, templates, the init skeleton), and a fresh virtualenv with only the wheel
installed runs `moncat`: init, then compile. Offline: no build isolation, no index."""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT


def _source_files() -> list[str]:
    """Every file of the package as the repository holds it (no caches)."""
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "compiler").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    # A copy, so the build leaves no build/ or egg-info behind in the checkout.
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "compiler", src / "compiler",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    # PYTHONDONTWRITEBYTECODE (set on some CI machines) makes setuptools warn that it skips
    # byte-compiling: a property of the machine, not of the package.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = (proc.stdout + proc.stderr).lower()
    assert "warning" not in log and "deprecat" not in log, proc.stdout + proc.stderr
    return out


def test_the_wheel_carries_every_module_schema_template_and_skeleton_file(dist: Path) -> None:
    [wheel] = dist.glob("moncat-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in _source_files() if f not in names]
    assert missing == []
    assert {"compiler/schema/catalog-v1.schema.json", "compiler/targets/runbooks/templates/alert.md.j2",
            "compiler/scaffold/init/moncat.yaml"} <= names
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    metadata = zipfile.ZipFile(wheel).read(meta).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_sdist_holds_the_package_the_license_and_the_readme(dist: Path) -> None:
    [sdist] = dist.glob("moncat-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "LICENSE"} <= names
    assert [f for f in _source_files() if f not in names] == []


def test_a_virtualenv_with_the_wheel_runs_moncat(dist: Path, tmp_path: Path) -> None:
    [wheel] = dist.glob("moncat-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The dependencies come from the test environment (offline), the package from the wheel only.
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-index", "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    moncat = venv / "bin" / "moncat"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*args: str) -> str:
        proc = subprocess.run([str(moncat), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    assert run("--version") == f"moncat {importlib.metadata.version('moncat')}\n"
    where = subprocess.run([str(python), "-c", "import compiler; print(compiler.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)), where  # the wheel's copy, not the checkout
    run("init", "catalog")
    assert run("compile", "catalog", "--out", "output").startswith("wrote output")
    assert (tmp_path / "output" / "site" / "web" / "alerts" / "WebErrorRatioHigh.html").is_file()
