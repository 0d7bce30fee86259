"""CLI: thin typer commands over the pipeline; renders diagnostics, sets the exit status."""
# No `from __future__ import annotations` here: typer reads every command's annotations on every
# run, and as text each was compiled and evaluated again, twice per command (5% of startup).
import atexit
import enum
import gc
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

from compiler import codecache

# The dataclasses' generated methods and the regular expressions compiled once, not on every
# run (see codecache). The cyclic collector is off meanwhile: the modules' objects live as long
# as the process, and its passes over them found nothing (4% of the imports).
_collecting = gc.isenabled()
gc.disable()
with codecache.dataclass_methods(), codecache.regex_programs("imports"):
    import json

    import typer

    from compiler import diff as differ
    from compiler import console, limits, pipeline, revisions, scaffold, writer
    from compiler.diagnostic_formats import render_github, render_sarif
    from compiler.diagnostics import Severity, render_json, render_text
    from compiler.importers.command import import_app
    from compiler.incremental import output as incremental_output
    from compiler.incremental.run import Cache
    from compiler.cli_params import PlainGroup
    from compiler.terminal_text import visible
# What the imports made is set apart from the collector's generations (gc.freeze): switched on
# again, its first pass would otherwise walk every object of every module (0.01 s of each run).
gc.freeze()
if _collecting:
    gc.enable()

app = typer.Typer(cls=PlainGroup, add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="moncat compiles one monitoring catalog into every backend's configuration.")
app.add_typer(import_app, name="import")


class Format(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class FailOn(str, enum.Enum):
    warning = "warning"
    error = "error"


CatalogArg = Annotated[Path, typer.Argument(help="Catalog directory (holds moncat.yaml).",
                                            show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="How to print diagnostics.")]
FailOnOpt = Annotated[FailOn, typer.Option("--fail-on", help="Lowest severity that fails the run.")]


def _emit(result: pipeline.Result, root: Path, fmt: Format) -> None:
    diags = result.report.sorted()
    if fmt is Format.json:
        sys.stdout.write(render_json(diags))
    elif fmt is Format.github:
        sys.stdout.write(render_github(diags, root))
    elif fmt is Format.sarif:
        sys.stdout.write(render_sarif(diags, root))
    elif diags:
        text = render_text(diags, root)
        sys.stderr.write(console.paint_diagnostics(text) if console.use_colour(sys.stderr) else text)


def _failed(result: pipeline.Result, fail_on: FailOn) -> bool:
    worst = result.report.worst
    threshold = Severity.WARNING if fail_on is FailOn.warning else Severity.ERROR
    return worst is not None and worst >= threshold


NoExamplesOpt = Annotated[bool, typer.Option("--no-examples", help="Do not run the examples under promtool.")]


def _examples_note(result: pipeline.Result) -> str:
    run = result.examples
    if run is None:
        return ""
    if run.skipped:
        typer.echo(f"examples skipped: {run.skipped}", err=True)
        return ""
    return f"; {run.tests} examples checked with promtool in {run.seconds:.1f}s"


@app.command()
def validate(catalog: CatalogArg, format: FormatOpt = Format.text, fail_on: FailOnOpt = FailOn.error,
             no_examples: NoExamplesOpt = False) -> None:
    """Check a catalog as compile does (schema, references, PromQL, templates, every target),
    writing nothing, and run its examples with promtool when it is on PATH. Exit 1 on failure."""
    with console.Progress(f"moncat: validating {catalog}", then="examples") as progress:
        result = pipeline.validate_catalog(catalog, examples=not no_examples, on_stage=progress.stage)
    _emit(result, catalog, format)
    note = _examples_note(result)
    if _failed(result, fail_on):
        raise typer.Exit(1)
    if format is Format.text:
        services = len(result.catalog.services) if result.catalog else 0
        alerts = sum(len(s.alerts) for s in result.catalog.services) if result.catalog else 0
        typer.echo(f"catalog {catalog}: {services} services, {alerts} alerts, valid{note}")


def _output(result: pipeline.Result, catalog: Path, out: Path,
            check: bool, cache: Cache | None = None) -> tuple[bool | None, writer.Staleness | None]:
    """Write (or, with --check, compare) the output directory: whether it changed, or how it is
    stale. Done before printing, so that --format json prints one document that holds any
    problem with the output directory too."""
    if result.report.has_errors():
        return None, None
    try:
        if check:
            return None, writer.compare(out, result.files)
        problem = writer.guard(out, catalog)
        if problem is None and cache is not None:
            return incremental_output.write(out, result, cache,
                                            lambda: pipeline.compile_catalog(catalog)), None
        if problem is None:
            return writer.write(out, result.files), None
        result.report.extend([problem])
    except writer.OutputError as exc:
        result.report.extend([exc.diag])
    return None, None


@app.command("compile")
def compile_(
    catalog: CatalogArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (replaced as a whole).")] = Path("output"),
    check: Annotated[bool, typer.Option("--check", help="Write nothing; run the examples; exit 1 if --out is stale.")] = False,
    format: FormatOpt = Format.text,
    no_examples: NoExamplesOpt = False,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where to keep the incremental compile's cache (safe to delete; default: ~/.cache/moncat).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Compile everything; neither read nor write the cache.")] = False,
) -> None:
    """Compile a catalog into --out: rule files, tests, CRDs and a manifest. Services unchanged
    since the last compile are not compiled again (see --cache-dir)."""
    cache = None if check or no_cache else Cache.open(catalog, out, cache_dir)
    with console.Progress(f"moncat: compiling {catalog}", then="examples" if check else "write") as progress:
        if check:
            result = pipeline.validate_catalog(catalog, examples=not no_examples, on_stage=progress.stage)
        else:
            result = pipeline.compile_catalog(catalog, on_stage=progress.stage, cache=cache, artifacts=False)
    if check:
        _examples_note(result)
    changed, stale = _output(result, catalog, out, check, cache)
    _emit(result, catalog, format)
    if result.report.has_errors():
        raise typer.Exit(1)
    if stale is not None:
        if not stale.fresh:
            for label, paths in (("changed", stale.changed), ("missing", stale.missing), ("extra", stale.extra)):
                for p in paths:
                    typer.echo(f"stale: {label}: {out / p}", err=True)
            typer.echo(f"{out} is stale: run `moncat compile {catalog} --out {out}`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{out} is up to date ({len(result.files)} files)", err=format is not Format.text)
        return
    # Machine-readable formats keep stdout to the diagnostics document alone.
    typer.echo(f"{'wrote' if changed else 'unchanged'} {out} ({len(result.files) + len(result.unchanged)} files)",
               err=format is not Format.text)


class DiffFormat(str, enum.Enum):
    text = "text"
    markdown = "markdown"


@app.command()
def diff(
    catalog: CatalogArg,
    against: Annotated[Path | None, typer.Option("--against", help="Compare with this output directory.")] = None,
    base: Annotated[str | None, typer.Option("--base", help="Compare with the catalog at this git revision.")] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="text, or markdown for a PR comment.")] = DiffFormat.text,
    unified: Annotated[bool, typer.Option("--unified", "-u", help="Print the raw file diff instead.")] = False,
) -> None:
    """Say what the catalog's compile changes, per object: exit 0 when equal, 1 when different,
    2 when it cannot compare (a catalog that does not compile, an unreadable revision or directory)."""
    if (against is None) == (base is None):
        typer.echo("moncat diff: give exactly one of --against DIR or --base REV", err=True)
        raise typer.Exit(2)
    result = pipeline.compile_catalog(catalog)
    if result.report.has_errors():
        _emit(result, catalog, Format.text)
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="moncat-diff-") as tmp:
        if base is not None:
            try:
                old_catalog = revisions.extract_catalog(catalog, base, Path(tmp))
            except revisions.RevisionError as exc:
                typer.echo(f"moncat diff: cannot read {catalog} at {base}: {exc}", err=True)
                raise typer.Exit(2)
            old_result = pipeline.compile_catalog(old_catalog)
            if old_result.report.has_errors():
                typer.echo(f"moncat diff: the catalog at {base} does not compile:", err=True)
                _emit(old_result, old_catalog, Format.text)
                raise typer.Exit(2)
            old, label = old_result.files, base
        else:
            try:
                old, label = writer.read_tree(against), str(against)
            except writer.OutputError as exc:
                typer.echo(f"moncat diff: {exc}", err=True)
                raise typer.Exit(2)
    new = result.files
    if unified:
        sys.stdout.write(differ.unified(old, new, label, "catalog"))
        raise typer.Exit(1 if old != new else 0)
    found = differ.changes(old, new)
    if format is DiffFormat.markdown:
        sys.stdout.write(differ.render_markdown(found, f"moncat diff against {label}"))
    else:
        sys.stdout.write(visible(differ.render_text(found)))
    raise typer.Exit(1 if found or old != new else 0)


class ApplyTargetName(str, enum.Enum):
    grafana = "grafana"
    datadog = "datadog"
    ruler = "ruler"


@app.command()
def apply(
    target: Annotated[ApplyTargetName, typer.Argument(help="grafana, datadog or ruler.", show_default=False)],
    catalog: CatalogArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; make no write request.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete objects moncat owns that the catalog no longer has.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    url: Annotated[str | None, typer.Option("--url", help="API base URL (else from the environment / settings).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=32, help="Writes in flight at once.")] = 4,
    prune_service: Annotated[list[str] | None, typer.Option(
        "--prune-service", help="With --prune, also delete what moncat owns for this service, which "
        "the catalog does not have (repeatable).")] = None,
) -> None:
    """Plan, then push the compiled catalog to Grafana, Datadog or a Mimir/Cortex ruler.
    Credentials come from the environment only and are never printed."""
    import os

    from compiler.apply import client as api, plan as planning, registry, report, runner

    if prune_service and not prune:
        typer.echo("moncat apply: --prune-service deletes only with --prune", err=True)
        raise typer.Exit(2)
    result = pipeline.compile_catalog(catalog)
    if result.report.has_errors():
        _emit(result, catalog, Format.text)
        raise typer.Exit(1)
    remote = None
    try:
        remote = registry.connect(target.value, os.environ, url, result.catalog)
        desired = remote.desired(result.files)
        current = registry.in_scope(target.value, result.catalog, remote.current())
    except registry.ConfigError as exc:
        typer.echo(f"moncat apply {target.value}: {exc}", err=True)
        raise typer.Exit(2)
    except api.ApiError as exc:
        text = remote.client.redact(str(exc)) if remote else str(exc)
        typer.echo(f"moncat apply {target.value}: cannot read the server: {text}", err=True)
        raise typer.Exit(1)
    findings = list(getattr(remote, "findings", []))
    scope = planning.Scope(frozenset(s.id for s in result.catalog.services), frozenset(prune_service or ()))
    try:
        actions = planning.make_plan(desired, current, prune=prune, normalize=remote.normalize,
                                     order=remote.order, scope=scope, findings=findings)
    except planning.ShapeError as exc:
        typer.echo(f"moncat apply {target.value}: cannot read the server: {remote.client.redact(str(exc))}", err=True)
        raise typer.Exit(1)
    for line in report.plan_lines(actions, desired, current, prune=prune, scope=scope, findings=findings):
        typer.echo(remote.client.redact(line))
    if dry_run:
        return
    if all(a.op in ("unchanged", "blocked") for a in actions):
        if report.blocked_line(actions):
            typer.echo(report.blocked_line(actions), err=True)
            raise typer.Exit(1)
        return
    if not yes:
        if not sys.stdin.isatty():
            typer.echo("moncat apply: not a terminal; add --yes to apply this plan", err=True)
            raise typer.Exit(2)
        with remote.client.paused():
            if not typer.confirm("Apply this plan?"):
                raise typer.Exit(1)
    outcome = runner.execute(actions, remote.write, concurrency=concurrency)
    lines = report.outcome_lines(outcome, actions, remote.client.stats.retries)
    for line in lines.out:
        typer.echo(remote.client.redact(line))
    for line in lines.err:
        typer.echo(remote.client.redact(line), err=True)
    if lines.failed:
        raise typer.Exit(1)


@app.command()
def explain(
    alert: Annotated[str, typer.Argument(help="The alert: `service/Alert` or its name.", show_default=False)],
    catalog: CatalogArg = Path("catalog"),
) -> None:
    """Show one alert on every target side by side: the Prometheus rule, the Grafana rule, the
    Datadog monitor, each example's verdict per target, the routing and the detection delay."""
    from compiler import explain as report

    result = pipeline.compile_catalog(catalog)
    if result.catalog is None or result.report.has_errors():
        _emit(result, catalog, Format.text)
        raise typer.Exit(1)
    found = report.find(result.catalog, alert)
    if len(found) != 1:
        typer.echo(f"moncat explain: {alert}: {report.not_found(result.catalog, alert)}", err=True)
        raise typer.Exit(1)
    typer.echo(visible(report.explain(result, found[0])), nl=False)  # the catalog's own text


@app.command("test")
def test_(
    out: Annotated[Path, typer.Argument(help="Compiled output directory.", show_default=False)] = Path("output"),
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")] = None,
) -> None:
    """Run promtool (check rules, unit tests) and amtool (check-config, route tests) on an output
    directory. Exit 1 when any fails, 2 when a tool is missing."""
    if not (out / "prometheus").is_dir():
        typer.echo(f"{out} holds no prometheus/ directory: run `moncat compile` first", err=True)
        raise typer.Exit(2)
    from compiler import verify  # only this command runs the tools (its imports cost compile 40 ms)

    try:
        outcomes = verify.run(out)
    except verify.MissingTool as exc:
        typer.echo(f"moncat test: {exc}", err=True)
        raise typer.Exit(2)
    colour = console.use_colour(sys.stdout)
    for o in outcomes:
        status = "ok  " if o.ok else "FAIL"
        typer.echo(f"{console.paint_status(o.ok, status) if colour else status} {visible(f'{o.suite}: {o.name}')}")
        if not o.ok:
            typer.echo(visible("     " + o.output.replace("\n", "\n     ")))
    if junit is not None:
        junit.write_bytes(verify.junit(outcomes))
    failed = sum(not o.ok for o in outcomes)
    typer.echo(f"{len(outcomes) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


# --- getting started: version, init, new, schema -------------------------------------------------
def _print_version(value: bool) -> None:
    if value:
        import importlib.metadata  # only here: it costs every other command 50 ms to import

        typer.echo(f"moncat {importlib.metadata.version('moncat')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print moncat's version and exit.")] = False,
) -> None:
    pass


def _refused(command: str, exc: scaffold.Refused, root: Path | None) -> typer.Exit:
    lines = render_text([exc.diagnostic], root).splitlines()[:-1]  # no summary for one problem
    text = "\n".join(lines) + "\n"
    sys.stderr.write(console.paint_diagnostics(text) if console.use_colour(sys.stderr) else text)
    typer.echo(f"moncat {command}: nothing was written", err=True)
    return typer.Exit(1)


def _report_added(root: Path, added: list[scaffold.Added]) -> None:
    for item in added:
        typer.echo(f"added {item.what} at {root / item.loc.file}:{item.loc.line}")
    typer.echo(f"next: fill in the TODOs that `moncat validate {root}` lists")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="New catalog directory (must not hold files).")] = Path("catalog"),
) -> None:
    """Create a catalog skeleton that validates, compiles and passes `moncat test` as it is:
    settings for every target (options commented), one service with a metric, an alert with
    examples, a procedure, a dashboard and a contact, and the JSON Schema for editors."""
    try:
        written = scaffold.init(directory)
    except scaffold.Refused as exc:
        raise _refused("init", exc, None)
    for rel in written:
        typer.echo(f"created {directory / rel}")
    typer.echo(f"next: moncat validate {directory}")


new_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="Add a service or an alert to a catalog, TODO where only you know.")
app.add_typer(new_app, name="new")

CatalogOpt = Annotated[Path, typer.Option("--catalog", "-c", help="Catalog directory.")]


@new_app.command("service")
def new_service(
    name: Annotated[str, typer.Argument(help="Service id (lower case).", show_default=False)],
    catalog: CatalogOpt = Path("catalog"),
) -> None:
    """Add <catalog>/NAME/service.yaml: an owner contact, a first alert (the service is down)
    with its examples and procedure, TODO where you must fill in."""
    try:
        added = scaffold.new_service(catalog, name)
    except scaffold.Refused as exc:
        raise _refused("new service", exc, catalog)
    _report_added(catalog, added)


@new_app.command("alert")
def new_alert(
    service: Annotated[str, typer.Argument(help="The service's id.", show_default=False)],
    name: Annotated[str, typer.Argument(help="Alert name (CamelCase).", show_default=False)],
    catalog: CatalogOpt = Path("catalog"),
) -> None:
    """Add alert NAME to SERVICE (at the end of its `alerts:`) with a procedure of its own: the
    least urgent severity, placeholder PromQL and examples that pass, TODO where you must fill in."""
    try:
        added = scaffold.new_alert(catalog, service, name)
    except scaffold.Refused as exc:
        raise _refused("new alert", exc, catalog)
    _report_added(catalog, added)


class SchemaFormat(str, enum.Enum):
    json = "json"
    markdown = "markdown"


@app.command()
def schema(
    format: Annotated[SchemaFormat, typer.Option("--format", "-f",
                                                 help="json: the JSON Schema; markdown: the field reference.")] = SchemaFormat.json,
) -> None:
    """Print the catalog format's JSON Schema (for editors and other tools), or the field
    reference generated from it. Exit 1 when a field lacks a description or an example."""
    if format is SchemaFormat.json:
        sys.stdout.write(scaffold.schema_text())
        return
    from compiler.schema import reference

    found = reference.generate(json.loads(scaffold.schema_text()))
    sys.stdout.write(found.text)
    for problem in found.problems:
        typer.echo(f"moncat schema: {problem}: add it to {reference.SCHEMA_PATH}", err=True)
    if found.problems:
        raise typer.Exit(1)


# One example per command, shown under its --help.
EXAMPLES = {
    "validate": ["moncat validate catalog", "moncat validate catalog --format github --fail-on warning"],
    "compile": ["moncat compile catalog --out output", "moncat compile catalog --out output --check"],
    "diff": ["moncat diff catalog --base origin/main --format markdown > diff.md",
             "moncat diff catalog --against output"],
    "apply": ["GRAFANA_URL=https://grafana.example.com GRAFANA_TOKEN=... moncat apply grafana catalog --dry-run"],
    "test": ["moncat test output --junit junit.xml"],
    "init": ["moncat init catalog && moncat validate catalog"],
    "new service": ["moncat new service checkout"],
    "new alert": ["moncat new alert checkout CheckoutSlow --catalog catalog"],
    "explain": ["moncat explain shop/ShopCheckoutFailuresHigh catalog"],
    "import prometheus": ["moncat import prometheus rules/ --out imported",
                          "moncat import prometheus alerts.rules.yaml --service shop --into catalog"],
    "import mixin": ["moncat import mixin vendor/kubernetes-mixin --out imported"],
    "import grafana": ["moncat import grafana dashboards/ --service shop --into catalog"],
    "import datadog": ["moncat import datadog monitors/ --out imported"],
    "schema": ["moncat schema > catalog/catalog-v1.schema.json",
               "moncat schema --format markdown > docs/catalog-reference.md"],
}


def _add_examples() -> None:
    groups = [("", app)] + [(f"{g.name} ", g.typer_instance) for g in app.registered_groups]
    for prefix, group in groups:
        for command in group.registered_commands:
            name = prefix + (command.name or command.callback.__name__.rstrip("_").replace("_", "-"))
            if name in EXAMPLES:
                # "\b" keeps click from rewrapping the lines that follow.
                label = "Example" if len(EXAMPLES[name]) == 1 else "Examples"
                command.epilog = f"\b\n{label}:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name])


_add_examples()


def main() -> None:
    """The command's work, ending in SystemExit with its status: no Python traceback ever
    reaches a user."""
    # One short-lived run over many small acyclic objects: the cyclic collector only costs time.
    gc.disable()
    try:
        # Every command on a deep stack: trees from untrusted text (catalog, output files read
        # back by diff) are walked recursively, up to the depths limits.py allows.
        limits.run_deep(app)
    except KeyboardInterrupt:
        _mute_other_threads()
        writer.settle()  # the work thread keeps running: let it finish a write it began, no other
        sys.stderr.write("moncat: interrupted\n")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence, reported plainly
        sys.stderr.write(f"moncat: internal error: {type(exc).__name__}: {exc}\n"
                         "This is a bug in moncat; please report it with the catalog that caused it.\n")
        sys.exit(70)


class _OnlyFrom:
    """A text stream that passes on what one thread writes and drops what the others write."""

    def __init__(self, stream: TextIO, thread: threading.Thread) -> None:
        self._stream, self._thread = stream, thread

    def write(self, text: str) -> int:
        if threading.current_thread() is self._thread:
            return self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        if threading.current_thread() is self._thread:
            self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _mute_other_threads() -> None:
    """After Ctrl-C the work thread is abandoned, not stopped (Python cannot stop a thread), and
    until the process ends it would go on printing: a validation whose promtool died of the same
    Ctrl-C reported the catalog invalid after "moncat: interrupted". From here on only this
    thread reaches the user's stdout and stderr."""
    here = threading.current_thread()
    sys.stdout = _OnlyFrom(sys.stdout, here)  # type: ignore[assignment]
    sys.stderr = _OnlyFrom(sys.stderr, here)  # type: ignore[assignment]


def entry() -> NoReturn:
    """Console entry point (`moncat`, `python -m compiler`): `main()`, then the process ends."""
    try:
        main()
        status: int | str | None = 0
    except SystemExit as exc:
        status = exc.code
    _end(status)


def _end(status: int | str | None) -> NoReturn:
    """Exit once the command is done, without tearing down the objects it made: freeing a large
    catalog's millions of objects one by one took longer than an incremental compile itself
    (3.7 s of 9 s at 10,000 alerts). Other threads are joined, exit handlers run and the
    streams flushed first, so nothing the command wrote is lost."""
    if isinstance(status, str):
        sys.stderr.write(status + "\n")
        status = 1
    waiting = (threading.current_thread(), threading.main_thread())
    for thread in threading.enumerate():
        if thread not in waiting and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (`| head`): nothing to deliver
            pass
    os._exit(status or 0)
