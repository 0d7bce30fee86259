"""Verify stage: run the real promtool and amtool over an output directory, as CI does."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

TOOLS = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


@dataclass(frozen=True)
class Outcome:
    """One tool run: a JUnit test case."""

    suite: str
    name: str
    command: tuple[str, ...]
    ok: bool
    output: str
    seconds: float


class MissingTool(Exception):
    def __init__(self, tool: str):
        super().__init__(f"{tool} is not installed: install Debian's `{TOOLS[tool]}` package "
                         f"(apt-get install {TOOLS[tool]}) or put {tool} on PATH")
        self.tool = tool


def _run(suite: str, name: str, command: list[str], cwd: Path) -> Outcome:
    tool = shutil.which(command[0])
    if tool is None:
        raise MissingTool(command[0])
    start = time.perf_counter()
    proc = subprocess.run([tool, *command[1:]], cwd=cwd, capture_output=True, text=True, timeout=300)
    return Outcome(suite, name, tuple(command), proc.returncode == 0,
                   (proc.stdout + proc.stderr).strip(), time.perf_counter() - start)


def plan(out: Path) -> list[tuple[str, str, list[str], Path]]:
    """What to run for `out`: (suite, case name, command, working directory)."""
    steps: list[tuple[str, str, list[str], Path]] = []
    prom = out / "prometheus"
    for f in sorted(prom.glob("*.rules.yaml")):
        steps.append(("promtool check rules", f.name, ["promtool", "check", "rules", f.name], prom))
    for f in sorted(prom.glob("*.tests.yaml")):
        steps.append(("promtool test rules", f.name, ["promtool", "test", "rules", f.name], prom))
    am = out / "alertmanager"
    config = am / "alertmanager.yaml"
    if config.is_file():
        steps.append(("amtool check-config", config.name, ["amtool", "check-config", config.name], am))
        routes = am / "routes.tests.yaml"
        if routes.is_file():
            for case in (yaml.safe_load(routes.read_text()) or {}).get("tests", []):
                labels = [f"{k}={v}" for k, v in sorted(case["labels"].items())]
                receivers = ",".join(case["receivers"])
                steps.append(("amtool config routes test", case["name"],
                              ["amtool", "config", "routes", "test", f"--config.file={config.name}",
                               f"--verify.receivers={receivers}", *labels], am))
    return steps


# promtool checks or tests many files in one process, each under a header line naming it.
_HEADERS = {"promtool check rules": "Checking ", "promtool test rules": "Unit Testing: "}


def run(out: Path, jobs: int | None = None) -> list[Outcome]:
    """Every step of `plan(out)`, `jobs` at a time (default: one per CPU), results in plan order.
    promtool's files go in batches, one process each (a process and a test storage cost more
    than most small files); a batch that fails or says anything on stderr is run again one file
    at a time, so that every outcome is that file's own. Each step or batch is its own process;
    the threads only wait for them."""
    steps = plan(out)
    for step in steps:  # a missing tool is reported before anything runs
        if shutil.which(step[2][0]) is None:
            raise MissingTool(step[2][0])
    workers = max(1, jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = pool.map(lambda batch: _run_batch([steps[i] for i in batch]), _batches(steps, workers))
        found = {i: o for batch, outcomes in zip(_batches(steps, workers), done)
                 for i, o in zip(batch, outcomes)}
    return [found[i] for i in range(len(steps))]


def _batches(steps: list[tuple[str, str, list[str], Path]], workers: int) -> list[list[int]]:
    """Indexes of `steps` to run together, the costliest first (promtool's tests, the largest
    batch first): each kind of promtool step in twice as many batches as workers, balanced by
    file size (so that no slow batch runs alone at the end), every other step alone."""
    kinds: dict[tuple[str, Path], list[int]] = {}
    alone: list[list[int]] = []
    for i, (suite, _, _, cwd) in enumerate(steps):
        if suite in _HEADERS:
            kinds.setdefault((suite, cwd), []).append(i)
        else:
            alone.append([i])
    out: list[list[int]] = []
    for (suite, cwd), found in sorted(kinds.items(), key=lambda kv: kv[0][0] != "promtool test rules"):
        size = {i: (cwd / steps[i][1]).stat().st_size for i in found}
        batches: list[list[int]] = [[] for _ in range(min(2 * workers, len(found)))]
        loads = [0] * len(batches)
        for i in sorted(found, key=lambda i: (-size[i], i)):
            slot = loads.index(min(loads))
            batches[slot].append(i)
            loads[slot] += size[i]
        out += sorted(batches, key=lambda b: -sum(size[i] for i in b))
    return out + alone


def _run_batch(steps: list[tuple[str, str, list[str], Path]]) -> list[Outcome]:
    if len(steps) == 1:
        return [_run(*steps[0])]
    suite, _, command, cwd = steps[0]
    files = [step[2][-1] for step in steps]
    tool = shutil.which(command[0]) or command[0]
    start = time.perf_counter()
    proc = subprocess.run([tool, *command[1:-1], *files], cwd=cwd, capture_output=True, text=True,
                          timeout=300 * len(files))
    seconds = (time.perf_counter() - start) / len(files)  # the batch's time, shared
    blocks = _blocks(proc.stdout, _HEADERS[suite])
    if proc.returncode != 0 or proc.stderr.strip() or set(blocks) != set(files):
        return [_run(*step) for step in steps]
    return [Outcome(suite, name, tuple(cmd), True, blocks[cmd[-1]], seconds) for _, name, cmd, _ in steps]


def _blocks(output: str, header: str) -> dict[str, str]:
    """promtool's report of many files, by file: each from its header line to the next."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in output.splitlines():
        if line.startswith(header):
            current = found.setdefault(line[len(header):].strip(), [])
        current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in found.items()}


def junit(outcomes: list[Outcome]) -> bytes:
    """JUnit XML, one testsuite per tool command, one testcase per file or route."""
    root = ET.Element("testsuites", name="moncat test",
                      tests=str(len(outcomes)), failures=str(sum(not o.ok for o in outcomes)))
    for suite in dict.fromkeys(o.suite for o in outcomes):
        cases = [o for o in outcomes if o.suite == suite]
        node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                             failures=str(sum(not o.ok for o in cases)),
                             time=f"{sum(o.seconds for o in cases):.3f}")
        for o in cases:
            case = ET.SubElement(node, "testcase", classname=suite, name=o.name, time=f"{o.seconds:.3f}")
            if not o.ok:
                failure = ET.SubElement(case, "failure", message=f"{' '.join(o.command)} failed")
                failure.text = o.output
            elif o.output:
                ET.SubElement(case, "system-out").text = o.output
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
