"""Pipeline: the only module that knows the stage order; the CLI and the tests call it."""
from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from compiler import checks, limits, link, todos, validation
from compiler.example_runs import ExampleRun, run_examples
from compiler.artifacts import Artifact
from compiler.build import Builder, ServicePart
from compiler.diagnostics import Loc, Report, error
from compiler.loader import load_catalog
from compiler.manifest import MANIFEST, build_manifest
from compiler.model import Catalog, Settings
from compiler.parallel import Background
from compiler.render import render, rendered
from compiler.checks import cross_target, datadog_output, routing_parity
from compiler.targets import alertmanager, datadog, grafana, prometheus, prometheus_slo, runbooks

STAGES = ("load", "validate", "build", "link", "check", "generate", "render")
TARGETS = (prometheus.build, grafana.build, alertmanager.build, datadog.build, runbooks.build)
# The runbook pages are the largest piece of work and read nothing the other targets produce: a
# forked child renders them from the linked catalog while this process runs the checks and
# generates the rest. When the checks find errors the child is stopped and its work dropped. Each
# such target has a form giving its artifacts one at a time (and no diagnostics): the child
# renders them to bytes as they come and sends them in batches (see _rendered).
BACKGROUND = {runbooks.build: runbooks.stream}
# Below this many alerts a child process costs more than the overlap saves.
BACKGROUND_MIN_ALERTS = 40
# The outputs (targets.outputs) each target writes, and the output of each file by its path.
PRODUCES = {prometheus.build: ("prometheus", "kubernetes"),
            grafana.build: ("grafana-dashboards", "grafana-alerting"),
            alertmanager.build: ("alertmanager",), runbooks.build: ("runbooks",), datadog.build: ("datadog",)}
OUTPUT_OF = (("prometheus/", "prometheus"), ("kubernetes/", "kubernetes"), ("alertmanager/", "alertmanager"),
             ("grafana/alerting/", "grafana-alerting"), ("grafana/", "grafana-dashboards"),
             ("datadog/", "datadog"), ("runbooks/", "runbooks"), ("site/", "runbooks"))
# Checks that compare what different targets generated for the same object.
CROSS_CHECKS = (cross_target.check, datadog_output.check, routing_parity.check)


@dataclass
class Result:
    """What a run produced: the linked catalog, the rendered files, and every diagnostic."""

    report: Report
    catalog: Catalog | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    examples: ExampleRun | None = None  # set when the examples ran (or were skipped) under promtool


class _Clock:
    def __init__(self, result: Result, on_stage: Callable[[str], None] | None = None):
        self.result = result
        self.last = time.perf_counter()
        self.on_stage = on_stage

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.result.timings[stage] = now - self.last
        self.last = now
        if self.on_stage is not None:
            self.on_stage(stage)  # e.g. the CLI's progress line


def analyse(root: Path, on_stage: Callable[[str], None] | None = None,
            linked: Callable[[Catalog], None] | None = None) -> Result:
    """load -> validate -> build -> link -> check. Stops after a stage that found errors, since
    later stages would only report their consequences. `linked` is called with the catalog as
    soon as it links, before the checks."""
    return limits.run_deep(_analyse, root, on_stage, linked)


def _analyse(root: Path, on_stage: Callable[[str], None] | None,
             linked: Callable[[Catalog], None] | None = None) -> Result:
    result = Result(Report())
    report = result.report
    clock = _Clock(result, on_stage)
    docs, diags = load_catalog(root)
    report.extend(diags)
    clock.lap("load")
    if report.has_errors():
        return result
    valid = []
    for doc in docs:
        problems = validation.validate(doc)
        report.extend(problems)
        if not problems:
            valid.append(doc)
            report.extend(todos.find(doc))
    clock.lap("validate")
    settings: Settings | None = None
    severities, contacts, parts, intervals = {}, {}, [], {}
    settings_docs = [d for d in valid if validation.kind_of(d) == "settings"]
    for extra in settings_docs[1:]:
        report.extend([error("MC013", "a second settings document (with `version:`)",
                             extra.loc(("version",), key=True),
                             f"keep one root settings file; the first is {settings_docs[0].file}")])
    for doc in valid:
        builder = Builder(doc)
        if validation.kind_of(doc) == "settings":
            if doc is settings_docs[0]:
                settings, severities, contacts = builder.settings()
                intervals = builder.shared_intervals
        else:
            parts.append(builder.service_part())
        report.extend(builder.diags)
    clock.lap("build")
    if report.has_errors():
        return result
    if settings is None:
        report.extend([error("MC006", "the catalog has no root settings document",
                             Loc("moncat.yaml"), "create moncat.yaml with `version: 1`")])
        return result
    catalog, diags = link.link(settings, severities, contacts, parts, intervals)
    report.extend(diags)
    clock.lap("link")
    if report.has_errors() or catalog is None:
        return result
    result.catalog = catalog
    if linked is not None:
        linked(catalog)
    report.extend(checks.run_all(catalog))
    clock.lap("check")
    return result


def validate_catalog(root: Path, examples: bool = True,
                     on_stage: Callable[[str], None] | None = None) -> Result:
    """Everything `compile` checks, writing nothing (so that validate never passes a catalog that
    compile rejects), then, when asked, the examples' generated tests under promtool.

    The SLOs' tier tests are left to `moncat test`: moncat derives them, series and all, from the
    SLO's definition, so they prove the generator rather than anything the catalog's author wrote,
    and they cost twice the CPU of every written example together."""
    result = compile_catalog(root, on_stage)
    if examples and result.files and not result.report.has_errors() and result.catalog is not None:
        clock = _Clock(result, on_stage)
        derived = tuple(f"prometheus/{prometheus_slo.stem(service, slo)}." for service in result.catalog.services
                        for slo in service.slos.values())
        result.examples = run_examples(result.artifacts, result.files, derived=derived)
        result.report.extend(result.examples.diagnostics)
        clock.lap("examples")
    return result


def compile_catalog(root: Path, on_stage: Callable[[str], None] | None = None, artifacts: bool = True) -> Result:
    """analyse, then generate every target's artifacts and render them to bytes. `on_stage` is
    called with each stage's name as it finishes. With `artifacts=False`, for callers that need
    the files only, each artifact is kept as rendered (render.rendered: its bytes, which are the
    file's, and its objects' hashes) and the catalog's memos are dropped once the targets ran: at
    10,000 alerts the generated objects and memos outlived their rendering by hundreds of MiB."""
    with _no_cyclic_gc():
        return limits.run_deep(_compile, root, on_stage, artifacts)


@contextmanager
def _no_cyclic_gc():
    # A compile builds millions of small acyclic objects and then exits; the cyclic collector
    # rescanning them made 10,000 alerts cost 20x what 1,000 do instead of 10x.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def output_of(path: str) -> str:
    """The output (as targets.outputs names them) a generated file belongs to."""
    return next((output for prefix, output in OUTPUT_OF if path.startswith(prefix)), "")


def _compile(root: Path, on_stage: Callable[[str], None] | None = None, artifacts: bool = True) -> Result:
    pending: list[tuple[Callable, Background]] = []

    def start_background(catalog: Catalog) -> None:
        worth = sum(len(s.alerts) for s in catalog.services) >= BACKGROUND_MIN_ALERTS
        pending.extend((target, Background(partial(_rendered, stream, catalog), worth))
                       for target, stream in BACKGROUND.items() if _wanted(catalog, target))

    try:
        result = analyse(root, on_stage, start_background)
        if result.catalog is None or result.report.has_errors():
            return result
        return _generate(result, pending, on_stage, artifacts)
    finally:
        for _, work in pending:
            work.cancel()  # where it was not collected: the checks failed, or this process did


def _wanted(catalog: Catalog, target: Callable) -> bool:
    """Whether the target writes anything: targets.outputs may switch all its outputs off."""
    return target not in PRODUCES or any(catalog.generates(o) for o in PRODUCES[target])


def _generate(result: Result, pending: list[tuple[Callable, Background]],
              on_stage: Callable[[str], None] | None, keep: bool = True) -> Result:
    clock = _Clock(result, on_stage)
    catalog = result.catalog
    assert catalog is not None
    produced: dict[Callable, list[Artifact]] = {}
    for target in TARGETS:
        if target not in BACKGROUND and _wanted(catalog, target):
            produced[target] = _keep(catalog, target(catalog), result.report)
    # The cross-target checks compare Prometheus, Grafana, Alertmanager and Datadog output; none
    # reads the pages, so they run while the pages are being rendered.
    foreground = [a for t in TARGETS for a in produced.get(t, ())]
    for cross_check in CROSS_CHECKS:
        result.report.extend(cross_check(catalog, foreground))
    clock.lap("generate")
    files = {} if result.report.has_errors() or not keep else {a.path: render(a) for a in foreground}
    if not keep and not result.report.has_errors():
        del foreground  # the last list of the artifacts but `produced`
        _render_in_place(produced, files)
        catalog.memo.clear()
    for target, work in pending:
        produced[target] = _keep(catalog, ([a for batch in work.result() for a in batch], []), result.report)
    result.artifacts = [a for t in TARGETS for a in produced.get(t, ())]
    if result.report.has_errors():
        return result
    files.update((a.path, render(a)) for t, _ in pending for a in produced[t])
    files[MANIFEST] = build_manifest(result.artifacts, files)
    result.files = dict(sorted(files.items()))
    clock.lap("render")  # includes the wait for the pages rendered in the background
    return result


def _rendered(stream: Callable[[Catalog], Iterator[Artifact]], catalog: Catalog,
              size: int = 500) -> Iterator[list[Artifact]]:
    """A target's artifacts rendered to bytes (render.rendered) in batches, each page's text let
    go once rendered: what the pages' child sends, a batch a message. Pages as str take twice
    their UTF-8 bytes (every page holds a character beyond Latin-1)."""
    batch: list[Artifact] = []
    for artifact in stream(catalog):
        batch.append(rendered(artifact))
        if len(batch) == size:
            yield batch
            batch = []
    yield batch


def _render_in_place(produced: dict[Callable, list[Artifact]], files: dict[str, bytes]) -> None:
    """Each artifact replaced by its rendered form (render.rendered), its bytes added to `files`:
    one by one, so that each artifact's objects go as soon as it is rendered."""
    for artifacts in produced.values():
        for i in range(len(artifacts)):
            artifacts[i] = rendered(artifacts[i])
            files[artifacts[i].path] = artifacts[i].data


def _keep(catalog: Catalog, generated: tuple[list[Artifact], list], report: Report) -> list[Artifact]:
    """A target's artifacts of the outputs the catalog generates; its diagnostics go to `report`."""
    artifacts, diags = generated
    report.extend(diags)
    return [a for a in artifacts if not output_of(a.path) or catalog.generates(output_of(a.path))]


__all__ = ["STAGES", "Result", "ServicePart", "analyse", "compile_catalog", "validate_catalog"]
