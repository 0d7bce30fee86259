"""`moncat test`: real promtool/amtool over an output directory, with JUnit XML on request."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from compiler import verify

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


def test_promtool_runs_files_in_batches_and_a_failing_batch_names_its_own_file(tmp_path: Path, promtool) -> None:
    seed = ROOT / "output" / "prometheus"
    prom = tmp_path / "out" / "prometheus"
    prom.mkdir(parents=True)
    for f in [*seed.glob("qr-pilot.*"), *seed.glob("store.*")]:
        if not f.name.startswith("qr-pilot.slo-"):
            shutil.copy(f, prom / f.name)
    broken = prom / "qr-pilot.20m.tests.yaml"
    text = broken.read_text()
    assert "    exp_alerts:\n    - exp_labels:" in text
    broken.write_text(text.replace("    exp_alerts:\n    - exp_labels:", "    exp_alerts: []\n    - exp_labels:", 1))
    tests = sorted(p.name for p in prom.glob("*.tests.yaml"))
    assert len(tests) >= 6  # one worker: two batches of three or more files each
    outcomes = verify.run(tmp_path / "out", jobs=1)
    assert [o.name for o in outcomes] == [step[1] for step in verify.plan(tmp_path / "out")]
    assert [o.name for o in outcomes if not o.ok] == [broken.name]
    failed = next(o for o in outcomes if not o.ok)
    assert "FAILED" in failed.output and failed.command[-1] == broken.name
    for o in outcomes:  # each file gets its own part of promtool's report
        header = "Unit Testing:  " if o.suite == "promtool test rules" else "Checking "
        assert o.output.splitlines()[0] == header + o.name, o.output
