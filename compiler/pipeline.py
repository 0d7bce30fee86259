"""Pipeline: the only module that knows the stage order; the CLI and the tests call it."""
from __future__ import annotations

import gc
import os
import time
from collections import ChainMap
from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from compiler import checks, codecache, limits, link, todos, validation
from compiler.example_runs import ExampleRun, run_examples
from compiler.artifacts import Artifact, ManagedObject
from compiler.build import Builder, ServicePart
from compiler.diagnostics import Loc, Report, Severity, error
from compiler.incremental import RUN, cached
from compiler.incremental import parity
from compiler.incremental import chunks
from compiler.incremental.front import BlobGone
from compiler.incremental.run import Cache, StoredArtifact, StoredFiles
from compiler.loader import load_catalog
from compiler.manifest import MANIFEST, build_manifest, file_line
from compiler.model import Catalog, Settings
from compiler.parallel import Background
from compiler.render import render, rendered
from compiler.checks import cross_target, datadog_examples, datadog_output, routing_parity
from compiler.targets import alertmanager, datadog, grafana, prometheus, prometheus_slo, runbooks

STAGES = ("load", "validate", "build", "link", "check", "generate", "render")
TARGETS = (prometheus.build, grafana.build, alertmanager.build, datadog.build, runbooks.build)
# The runbook pages are the largest piece of work and read nothing the other targets produce: a
# forked child renders them from the linked catalog while this process runs the checks and
# generates the rest. When the checks find errors the child is stopped and its work dropped. Each
# such target has two forms giving its artifacts a few at a time (and no diagnostics): without
# the cache, one at a time, which the child renders to bytes as they come and sends in batches
# (see _rendered); with it, a batch of services at a time as the cache stores them, which the
# child sends as they come (see _tracked_batches). Its third function computes, before the
# fork, what the child would otherwise compute again of what this process computes anyway.
BACKGROUND = {runbooks.build: (runbooks.stream, runbooks.batches, runbooks.prepare)}
# Below this many alerts a child process costs more than the overlap saves.
BACKGROUND_MIN_ALERTS = 40
# A process compiling again (the tests, `moncat diff --base`, a benchmark, a server) renders the
# pages of a catalog below this many alerts itself: each child starts the page machinery
# (templates, highlighter, their imports) cold, which made its pages cost 2.5x what they cost in
# a process that has rendered pages before (mixin-sized: 0.24 s of CPU against 0.09 s, more
# than the overlap saved). A first compile forks from BACKGROUND_MIN_ALERTS: the child starts
# no colder than this process, and a command compiles once. So does a compile in a process that
# has rendered pages itself: the child inherits the warm machinery and text caches (mixin-sized,
# compiling again: pages 0.08 s in either process, the compile's wall time 0.27 -> 0.23 s).
# Either forks below BACKGROUND_MIN_ALERTS_WARM only when a core is free for the child: with
# every core busy (another job, a test suite on every core) the child adds its fork, its cold
# start and the pages' transfer to CPU time that no longer overlaps (mixin-sized, one core
# taken: in-process 0.28 -> 0.33 s, the command 0.78-0.88 -> 0.88-0.97 s wall).
BACKGROUND_MIN_ALERTS_WARM = 200
_compiles = 0  # compiles this process has started (see BACKGROUND_MIN_ALERTS_WARM)
_pages_here = False  # whether this process has rendered a catalog's pages itself (see above)
# The outputs (targets.outputs) each target writes, and the output of each file by its path.
PRODUCES = {prometheus.build: ("prometheus", "kubernetes"),
            grafana.build: ("grafana-dashboards", "grafana-alerting"),
            alertmanager.build: ("alertmanager",), runbooks.build: ("runbooks",), datadog.build: ("datadog",)}
OUTPUT_OF = (("prometheus/", "prometheus"), ("kubernetes/", "kubernetes"), ("alertmanager/", "alertmanager"),
             ("grafana/alerting/", "grafana-alerting"), ("grafana/", "grafana-dashboards"),
             ("datadog/", "datadog"), ("runbooks/", "runbooks"), ("site/", "runbooks"))
# Checks that compare what different targets generated for the same object.
CROSS_CHECKS = (cross_target.check, datadog_output.check, routing_parity.check)
# Those of them that compare one service's own objects (with the cache, run per service).
PER_SERVICE_CHECKS = (cross_target.check, datadog_output.check)
# Whether any cross check reads an artifact of a service (the routing parity reads the same rules
# as cross_target, and every artifact of no service).
CHECKED = (cross_target.reads, datadog_output.reads)


@dataclass
class Result:
    """What a run produced: the linked catalog, the rendered files, and every diagnostic."""

    report: Report
    catalog: Catalog | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    examples: ExampleRun | None = None  # set when the examples ran (or were skipped) under promtool
    # With the incremental cache: the files of unchanged services (path -> sha256 hex), already
    # in the output directory; `files` then holds only the others (and the manifest).
    unchanged: dict[str, str] = field(default_factory=dict)
    # Every file's sha256 hex but the manifest's (with the cache): the write compares the manifest's
    # bytes with the one in the output directory (compiler.incremental.output).
    hashes: dict[str, str] = field(default_factory=dict)


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
            linked: Callable[[Catalog], None] | None = None, cache: Cache | None = None) -> Result:
    """load -> validate -> build -> link -> check. Stops after a stage that found errors, since
    later stages would only report their consequences. `linked` is called with the catalog as
    soon as it links, before the checks. With `cache`, unchanged files are not loaded again and
    unchanged services' checks are not run again (see compiler.incremental)."""
    return limits.run_deep(_analyse, root, on_stage, linked, cache)


def _analyse(root: Path, on_stage: Callable[[str], None] | None,
             linked: Callable[[Catalog], None] | None = None, cache: Cache | None = None) -> Result:
    result = Result(Report())
    report = result.report
    clock = _Clock(result, on_stage)
    front = cache.front if cache is not None else None
    docs, diags = load_catalog(root, front)
    report.extend(diags)
    clock.lap("load")
    if report.has_errors():
        return result
    valid = []
    found: dict[int, list] = {}  # id(doc) -> its warnings so far, for the cache
    # Files the cache must not store: any diagnostic of loading or validation is in them (the
    # cache keeps only what the build stage says of a file).
    unsafe = {d.loc.file for d in diags if d.loc}
    for doc in docs:
        problems = validation.validate(doc)
        report.extend(problems)
        unsafe.update(d.loc.file if d.loc else doc.file for d in problems)
        if not problems:
            valid.append(doc)
            found[id(doc)] = todos.find(doc)
            report.extend(found[id(doc)])
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
        part = None
        if validation.kind_of(doc) == "settings":
            if doc is settings_docs[0]:
                settings, severities, contacts = builder.settings()
                intervals = builder.shared_intervals
        else:
            part = builder.service_part()
            parts.append(part)
        report.extend(builder.diags)
        if front is not None:
            front.built(doc, part, found[id(doc)] + builder.diags)
    if front is not None:
        report.extend(front.diagnostics())
        unsafe.update(d.loc.file for d in report.items if d.severity is Severity.ERROR and d.loc)
        built = {id(doc) for doc in valid}
        front.save(unsafe, {doc.file for doc in docs if id(doc) not in built})
        parts = front.parts(parts)
    clock.lap("build")
    if report.has_errors():
        return result
    if settings is None:
        report.extend([error("MC006", "the catalog has no root settings document",
                             Loc("moncat.yaml"), "create moncat.yaml with `version: 1`")])
        return result
    if cache is None:
        catalog, diags = link.link(settings, severities, contacts, parts, intervals)
    else:
        catalog, diags = link.link(settings, severities, contacts, parts, intervals,
                                   merge=cache.front.merge, memo=cache.memo())
    report.extend(diags)
    clock.lap("link")
    if report.has_errors() or catalog is None:
        return result
    for doc in valid:
        doc.release()  # built and linked: read again from its text if a position is asked for
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
    if not examples or result.catalog is None:
        return result
    derived = tuple(f"prometheus/{prometheus_slo.stem(service, slo)}." for service in result.catalog.services
                    for slo in service.slos.values())
    if result.files and not result.report.has_errors():
        clock = _Clock(result, on_stage)
        result.examples = run_examples(result.artifacts, result.files, derived=derived)
        result.report.extend(result.examples.diagnostics)
        clock.lap("examples")
    elif _only_datadog_verdicts(result.report):
        # An example Datadog disagrees with (MC711) has often stopped holding in Prometheus too,
        # after an edit of the expression: promtool says so at the same example, rather than
        # leave the user to mark a difference that is not there. The rule files are generated
        # for this alone (the checks' error stopped the compile before the targets).
        artifacts = _keep(result.catalog, prometheus.build(result.catalog), Report())
        files = {a.path: render(a) for a in artifacts}
        result.report.extend(run_examples(artifacts, files, derived=derived).diagnostics)
    return result


def _only_datadog_verdicts(report: Report) -> bool:
    errors = {d.code for d in report.items if d.severity is Severity.ERROR}
    return bool(errors) and errors <= {datadog_examples.DIFFERENT}


def compile_catalog(root: Path, on_stage: Callable[[str], None] | None = None,
                    cache: Cache | None = None, artifacts: bool = True) -> Result:
    """analyse, then generate every target's artifacts and render them to bytes. `on_stage` is
    called with each stage's name as it finishes. With `cache` (compiler.incremental), the work
    of services unchanged since the last compile with that cache is reused: their files are in
    `result.unchanged` instead of `result.files`. Without a cache and with `artifacts=False`, for
    callers that need the files only, each artifact is kept as rendered (render.rendered: its
    bytes, which are the file's, and its objects' hashes), the pages come from their child
    rendered, and the catalog's memos are dropped once the targets ran: at 10,000 alerts the
    generated objects and memos outlived their rendering by hundreds of MiB."""
    with _no_cyclic_gc():
        try:
            return limits.run_deep(_compile, root, on_stage, cache, artifacts)
        except BlobGone:
            if cache is None or not cache.blobs:
                raise
        # A blob read lazily mid-compile was damaged or gone (another process, a full disk, a
        # user tidying the cache): a damaged cache costs time, never the compile.
        return limits.run_deep(_compile, root, on_stage, cache.without_blobs(), artifacts)


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


def _compile(root: Path, on_stage: Callable[[str], None] | None = None,
             cache: Cache | None = None, artifacts: bool = True) -> Result:
    pending: list[tuple[Callable, Background]] = []

    def start_background(catalog: Catalog) -> None:
        global _compiles
        least = BACKGROUND_MIN_ALERTS if (_compiles == 0 or _pages_here) and _core_free() \
            else max(BACKGROUND_MIN_ALERTS, BACKGROUND_MIN_ALERTS_WARM)
        _compiles += 1
        alerts = sum(len(s.alerts) for s in catalog.services)
        worth = alerts >= least
        services = catalog.services
        if cache is not None:
            # Only the pages of services changed since the last compile are rendered, and a
            # child would send back every other service's stored pages: it pays only when a
            # good part of the catalog changed.
            services = cache.run.stale(catalog, "runbooks", catalog.services)
            changed = sum(len(s.alerts) for s in services)
            worth = changed >= least and changed * 4 >= alerts
        for target, (stream, batches, prepare) in BACKGROUND.items():
            if _wanted(catalog, target):
                if worth:
                    prepare(catalog, list(services))
                # With the cache, the work's record of what it stores comes back with each batch
                # (a child's record would otherwise stay in the child). Without it, the pages
                # come back rendered, in batches.
                work = partial(_rendered, stream, catalog) if cache is None else \
                    partial(_tracked_batches, batches, cache, catalog, os.getpid())
                pending.append((target, Background(partial(_cached_regexes, work), worth)))

    try:
        result = analyse(root, on_stage, start_background, cache)
        if result.catalog is None or result.report.has_errors():
            return result
        return _generate(result, pending, on_stage, cache, artifacts)
    finally:
        for _, work in pending:
            work.cancel()  # where it was not collected: the checks failed, or this process did


def _wanted(catalog: Catalog, target: Callable) -> bool:
    """Whether the target writes anything: targets.outputs may switch all its outputs off."""
    return target not in PRODUCES or any(catalog.generates(o) for o in PRODUCES[target])


def _generate(result: Result, pending: list[tuple[Callable, Background]],
              on_stage: Callable[[str], None] | None, cache: Cache | None, keep: bool = True) -> Result:
    clock = _Clock(result, on_stage)
    catalog = result.catalog
    assert catalog is not None
    produced: dict[Callable, list[Artifact]] = {}
    if cache is not None:
        # A service's artifacts that no cross check reads (its dashboards, generated tests, CRD)
        # in the form the write needs as soon as its target made them, rather than once every
        # target has run: at 10,000 alerts they were about a hundred MiB of objects held meanwhile.
        cache.run.checked = _checked
    for target in TARGETS:
        if target not in BACKGROUND and _wanted(catalog, target):
            produced[target] = _keep(catalog, target(catalog), result.report)
    # The cross-target checks compare Prometheus, Grafana, Alertmanager and Datadog output; none
    # reads the pages, so they run while the pages are being rendered.
    foreground = [a for t in TARGETS for a in produced.get(t, ())]
    if cache is None:
        for cross_check in CROSS_CHECKS:
            result.report.extend(cross_check(catalog, foreground))
    else:
        result.report.extend(_cross_checks_by_service(catalog, foreground, cache))
    clock.lap("generate")
    if cache is not None:
        files: dict[str, bytes] = {}
        # What the checks read of the artifacts has been read: their bytes and manifest lines
        # are all the write needs (their data and objects, kept, were hundreds of MiB at 10,000
        # alerts).
        del foreground
        for target, artifacts in produced.items():
            produced[target] = [cache.run.light(a) for a in artifacts]
        cache.run.release()
        for target, work in pending:
            artifacts = [a for tracked in work.result() for a in cache.run.absorb(tracked)]
            produced[target] = _keep(catalog, (artifacts, []), result.report)
        for key in [k for k in catalog.memo if k != RUN]:  # every target ran: the memos are done
            del catalog.memo[key]
    else:
        files = {} if result.report.has_errors() or not keep else {a.path: render(a) for a in foreground}
        if not keep and not result.report.has_errors():
            del foreground  # the last list of the artifacts but `produced`
            _render_in_place(produced, files)
            if not any(work.here for _, work in pending):  # pages rendered here read the memos
                catalog.memo.clear()
        for target, work in pending:
            produced[target] = _keep(catalog, ([a for batch in work.result() for a in batch], []), result.report)
        if not keep:
            catalog.memo.clear()  # what pages rendered in this process (small catalogs) memoised
    result.artifacts = [a for t in TARGETS for a in produced.get(t, ())]
    if result.report.has_errors():
        return result
    if cache is not None:
        result.files = dict(sorted(_render_cached(result, cache).items()))
        clock.lap("render")
        return result
    files.update((a.path, render(a)) for t, _ in pending for a in produced[t])
    files[MANIFEST] = build_manifest(result.artifacts, files)
    result.files = dict(sorted(files.items()))
    clock.lap("render")  # includes the wait for the pages rendered in the background
    return result


def _cross_checks_by_service(catalog: Catalog, artifacts: list, cache: Cache) -> list:
    """The cross checks one group of services at a time (a service, or the services joined by
    suppressions: each check compares a group's own objects in two targets), reused for unchanged
    groups; then once on the artifacts of no service; then the routing parity, which reads every
    service's rules against the catalog-wide routing, per service (compiler.incremental.parity),
    with the rules' routing facts kept per service. The artifacts of no service include those
    whose objects name one id that is no service (a contact's contact point, the notification
    policies): taken for a service's, they were left out of every check."""
    by_id = {s.id: s for s in catalog.services}
    groups: dict[str | None, list] = {}
    for art in artifacts:
        if not isinstance(art, Artifact):
            continue  # in the form the write needs already: no check reads it (_checked)
        owner = cache.run.service_of(art)
        if owner is None:  # made outside cached(): an SLO's rule file, say; its objects say whose
            owners = {obj.id.split("/", 1)[0] for obj in art.objects}
            owner = owners.pop() if len(owners) == 1 else None
        if owner not in by_id:  # a contact's, or the notification policies': catalog-wide
            owner = None
        groups.setdefault(owner, []).append(art)
    out = []

    def run(services: tuple, arts: list) -> list:
        # It reads the whole catalog's memos (a service's lookup index among them); what it works
        # out over its few services stays its own.
        narrow = Catalog(catalog.settings, services, catalog.contacts, catalog.severities,
                         catalog.time_intervals, ChainMap({}, catalog.memo))
        return [d for check in PER_SERVICE_CHECKS for d in check(narrow, arts)]

    for service in catalog.services:
        members = cache.run.group(service.id)
        first = members[0] == service.id  # the others are checked with the first of the group
        out += cached(catalog, "cross-checks", service,
                      lambda: run(tuple(by_id[m] for m in members),
                                  [a for m in members for a in groups.get(m, [])]) if first else [])
    out += run((), groups.get(None, []))
    out += parity.check(catalog, cache.run, groups.get(None, []),
                        lambda service: _RuleObjects(cached(catalog, "routing-parity.rules", service,
                                                            lambda: _routing_rules(groups.get(service.id, [])))))
    return out


@dataclass(frozen=True)
class _RuleObjects:
    """A service's Prometheus and Grafana alert rules as routing_parity reads them (their ids,
    labels and names), standing in for its artifacts, which an unchanged service has not."""

    objects: tuple[ManagedObject, ...]
    path: str = ""
    data: None = None


def _checked(art: Artifact) -> bool:
    """Whether a cross check reads anything of an artifact of a service."""
    return any(reads(art) for reads in CHECKED)


def _routing_rules(artifacts: list) -> tuple[ManagedObject, ...]:
    keep = {cross_target.PROMETHEUS_RULE: ("alert", "labels"), cross_target.GRAFANA_RULE: ("title", "labels")}
    out = []
    for art in artifacts:
        for obj in getattr(art, "objects", ()):
            fields = keep.get((obj.target, obj.kind))
            if fields is not None:
                content = {k: obj.content[k] for k in fields if k in obj.content}
                out.append(ManagedObject(obj.id, obj.kind, obj.target, obj.source, content, digest="-"))
    return tuple(out)


def _render_cached(result: Result, cache: Cache) -> dict[str, bytes]:
    """Render what this run generated; take the files, hashes and manifest lines of unchanged
    services' artifacts from the cache (StoredFiles: a few runs of lines per service)."""
    files: dict[str, bytes] = {}
    made: dict[str, str] = {}  # the hashes of the files made this run
    objects: list[tuple] = []  # runs of the manifest's lines: (first key, last key, text)
    file_lines: list[tuple] = []
    unchanged, extend, append = result.unchanged, objects.extend, file_lines.append
    count = 0  # files
    for art in result.artifacts:
        kind = type(art)
        if kind is StoredFiles:
            _, paths, shas, runs, lines = art
            unchanged.update(zip(paths, shas))
            extend(runs)
            file_lines += lines
            count += len(paths)
            continue
        count += 1
        if kind is StoredArtifact:
            path, _, sha, manifest, line = art
            unchanged[path] = sha
        else:
            art = cache.run.light(art)
            path, sha, manifest, line = art.path, art.hash, art.manifest, file_line(art.path, art.hash)
            files[path] = art.data
            made[path] = sha
        extend((key, key, text) for key, text in manifest)
        append((path, path, line[1]))
    hashes = {**unchanged, **made}  # a file made this run written over one of the same path kept
    # Two artifacts of one path: their lines merged (chunks.merge_chunks).
    files[MANIFEST] = chunks.manifest(objects, file_lines, merge=len(hashes) < count)
    result.hashes = hashes
    cache.run.save(hashes)
    cache.store.prune()
    return files


def _tracked_batches(batches: Callable[[Catalog], Iterator[list[Artifact]]], cache: Cache,
                     catalog: Catalog, home: int, size: int = 500) -> Iterator:
    """With the cache, what the pages' child sends as it renders them: the target's artifacts
    as the write needs them (Run.light) in batches of `size`, each with what the run stored
    while making it (Run.tracked's record, for Run.absorb). Run in a child of `home` (the
    compile's process), it keeps nothing it sent. Sent at the end, every page was held by both
    processes at once."""
    made = batches(catalog)
    while True:
        artifacts, record = cache.run.tracked(_lightened, made, cache)
        if artifacts is None:
            if record[1] or record[2] or record[3]:
                yield [], record
            return
        artifacts.reverse()  # taken off the end, `size` at a time
        while True:
            batch = artifacts[:-size - 1:-1]
            del artifacts[-size:]
            if artifacts:
                yield batch, (record[0], {}, {}, {})
                continue
            yield batch, record  # the record once, with the batch's last artifacts
            if os.getpid() != home:
                cache.run.handed(record)
            break


def _lightened(made: Iterator[list[Artifact]], cache: Cache) -> list | None:
    """The next batch of `made` as the write needs it (None after the last)."""
    artifacts = next(made, None)
    if artifacts is None:
        cache.run.release()  # what the run's values held of the pages: their bytes are sent
        _rendered_here()
        return None
    return [a if type(a) is StoredArtifact else cache.run.light(a) for a in artifacts]


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
    _rendered_here()
    yield batch


def _cached_regexes(work: Callable[[], Iterator]) -> Iterator:
    """`work()`'s items, with the programs of the regular expressions it compiles read from the
    cache (codecache.regex_programs): the pages' work starts its machinery cold (the template
    engine, the highlighter's lexers), a few dozen patterns."""
    with codecache.regex_programs("pages"):
        yield from work()


def _core_free() -> bool:
    """Whether a core is idle now: fewer tasks running (this one included) than cores, as Linux
    counts them in /proc/loadavg, in either of two looks 2 ms apart (a task that runs for a
    moment, such as a monitor sampling this process, is seldom seen twice); True where that
    cannot be read."""
    for look in range(2):
        try:
            with open("/proc/loadavg", encoding="ascii") as f:
                running = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return True
        if running < (os.cpu_count() or 1):
            return True
        if look == 0:
            time.sleep(0.002)
    return False


def _rendered_here() -> None:
    """Marks this process's page machinery warm: it has rendered a catalog's pages (in a pages'
    child, the mark is the child's own and changes nothing)."""
    global _pages_here
    _pages_here = True


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
    if catalog.settings.outputs is None:  # every output (a target off makes no artifact)
        return artifacts
    return [a for a in artifacts if not output_of(a.path) or catalog.generates(output_of(a.path))]


__all__ = ["STAGES", "Result", "ServicePart", "analyse", "compile_catalog", "validate_catalog"]
