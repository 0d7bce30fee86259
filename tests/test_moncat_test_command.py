"""`moncat test`: real promtool/amtool over an output directory, with JUnit XML on request."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import ROOT, run_moncat

# The golden output: small and fast; the seed output gets the same tools in test_seed_catalog.
OUTPUT = ROOT / "tests" / "golden" / "expected"


def test_a_good_output_passes_and_the_junit_report_counts_every_file(tmp_path: Path, promtool) -> None:
    report = tmp_path / "junit.xml"
    proc = run_moncat("test", str(OUTPUT), "--junit", str(report))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = ET.parse(report).getroot()
    files = len(list((OUTPUT / "prometheus").glob("*.yaml")))
    assert root.get("failures") == "0"
    assert int(root.get("tests")) >= files
    assert proc.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")


def test_a_wrong_expectation_fails_with_promtools_own_message(tmp_path: Path, promtool) -> None:
    out = tmp_path / "out"
    shutil.copytree(OUTPUT, out)
    tests = next((out / "prometheus").glob("*.tests.yaml"))
    text = tests.read_text()
    # Expect silence where the catalog says the alert fires.
    tests.write_text(text.replace("    exp_alerts:\n    - exp_labels:", "    exp_alerts: []\n    - exp_labels:", 1)
                     if "    exp_alerts:\n    - exp_labels:" in text else text.replace("exp_alerts: []", "exp_alerts: [{exp_labels: {x: y}}]", 1))
    report = tmp_path / "junit.xml"
    proc = run_moncat("test", str(out), "--junit", str(report))
    assert proc.returncode == 1
    assert f"FAIL promtool test rules: {tests.name}" in proc.stdout
    failures = ET.parse(report).getroot().findall(".//failure")
    assert len(failures) == 1 and "FAILED" in (failures[0].text or "")


def test_a_missing_tool_is_named_with_its_debian_package(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "compiler", "test", "output"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "promtool is not installed" in proc.stderr and "apt-get install prometheus" in proc.stderr
    assert "Traceback" not in proc.stderr
