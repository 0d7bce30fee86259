"""CLI, import: `moncat import prometheus|mixin|grafana|datadog`, thin commands over run.py."""
# No `from __future__ import annotations`: typer reads these commands' annotations on every moncat
# run (the sub-app is registered for all), and as text each was compiled and evaluated again.

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable

import typer

from compiler.diagnostics import render_text
from compiler.terminal_text import visible

if TYPE_CHECKING:
    from compiler.importers.source import ImportSet

import_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Bring existing rules, mixins, dashboards and monitors into a catalog.")


class ServiceBy(str, enum.Enum):
    file = "file"
    group = "group"


Sources = Annotated[list[Path], typer.Argument(help="Files or directories to import.", show_default=False)]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write a fresh catalog here.")]
IntoOpt = Annotated[Path | None, typer.Option("--into", help="Merge into this existing catalog.")]
ServiceOpt = Annotated[str | None, typer.Option("--service", help="Put everything in this service.")]
OwnerOpt = Annotated[str, typer.Option("--owner", help="Contact notified by the imported services.")]
NoExamplesOpt = Annotated[bool, typer.Option("--no-examples", help="Write `examples: pending` "
                                             "instead of synthesising examples.")]


def _finish(read: Callable[[], "ImportSet"], out: Path | None, into: Path | None, owner: str,
            examples: bool, service: str | None) -> None:
    # Imported here: every moncat command registers this sub-app, only `import` needs the importers.
    from compiler.importers import run
    from compiler.importers.catalog import Existing, Options
    from compiler.importers.files import SERVICE_ID
    from compiler.importers.proof import PromtoolMissing

    if (out is None) == (into is None):
        typer.echo("moncat import: give exactly one of --out DIR or --into CATALOG", err=True)
        raise typer.Exit(2)
    existing = Existing()
    if service is not None and not SERVICE_ID.fullmatch(service):
        typer.echo(f"moncat import: --service {service!r} is not a catalog id (lower-case letters, "
                   "digits, '_', '.', '-')", err=True)
        raise typer.Exit(2)
    if into is not None:
        found, problems = run.existing_catalog(into)
        if found is None:
            sys.stderr.write(render_text(problems, into))
            typer.echo(f"moncat import: {into} does not validate; fix it before merging into it", err=True)
            raise typer.Exit(1)
        existing = found
        if owner not in existing.contacts:
            known = ", ".join(sorted(existing.contacts)) or "none"
            typer.echo(f"moncat import: contact {owner!r} is not in {into} (it has: {known}); "
                       "pass --owner <contact>", err=True)
            raise typer.Exit(2)
    imported = read()
    try:
        outcome = run.convert(imported, existing, Options(owner=owner), examples)
    except PromtoolMissing as exc:
        typer.echo(f"moncat import: {exc}; or pass --no-examples", err=True)
        raise typer.Exit(2)
    diags = outcome.report.sorted()
    if diags:
        sys.stderr.write(render_text(diags, None))
    if outcome.report.has_errors():
        typer.echo("moncat import: nothing written", err=True)
        raise typer.Exit(1)
    if out is not None:
        problem = run.write_out(out, outcome.files)
        if problem is not None:
            sys.stderr.write(render_text([problem], None))
            raise typer.Exit(1)
        target = out
    else:
        problems = run.write_into(into, outcome)  # type: ignore[arg-type]
        if problems:
            sys.stderr.write(render_text(problems, into))
            typer.echo(f"moncat import: the merged catalog would not validate; {into} left as it was",
                       err=True)
            raise typer.Exit(1)
        target = into  # type: ignore[assignment]
    for note in outcome.notes:
        typer.echo(visible(f"note: {note}"), err=True)  # notes name what was imported (terminal_text)
    typer.echo(f"imported into {target}: {outcome.stats.line()} ({len(outcome.files)} file{'s' if len(outcome.files) != 1 else ''})")


@import_app.command("prometheus")
def prometheus_(
    sources: Sources, out: OutOpt = None, into: IntoOpt = None, service: ServiceOpt = None,
    service_by: Annotated[ServiceBy, typer.Option("--service-by", help="A service per file or per rule group.")] = ServiceBy.file,
    service_label: Annotated[str | None, typer.Option("--service-label", help="A service per value of this label.")] = None,
    owner: OwnerOpt = "oncall", no_examples: NoExamplesOpt = False,
) -> None:
    """Prometheus rule files, PrometheusRule CRDs or a Mimir/Cortex ruler export."""
    from compiler.importers import rules

    grouping = rules.Grouping(service, service_by.value, service_label)
    _finish(lambda: rules.read(sources, grouping), out, into, owner, not no_examples, service)


@import_app.command("mixin")
def mixin_(
    directory: Annotated[Path, typer.Argument(help="The mixin's directory (holds mixin.libsonnet).", show_default=False)],
    out: OutOpt = None, into: IntoOpt = None, service: ServiceOpt = None,
    jpath: Annotated[list[Path] | None, typer.Option("--jpath", "-J", help="Library directory (default: DIR/vendor).")] = None,
    owner: OwnerOpt = "oncall", no_examples: NoExamplesOpt = False,
) -> None:
    """A Jsonnet monitoring mixin: its alerts, recording rules and dashboards."""
    from compiler.importers import mixin

    _finish(lambda: mixin.read(directory, jpath or [], service), out, into, owner, not no_examples, service)


@import_app.command("grafana")
def grafana_(sources: Sources, out: OutOpt = None, into: IntoOpt = None, service: ServiceOpt = None,
             owner: OwnerOpt = "oncall") -> None:
    """Grafana dashboard JSON files (as exported or provisioned)."""
    from compiler.importers import grafana

    _finish(lambda: grafana.read(sources, service), out, into, owner, False, service)


@import_app.command("datadog")
def datadog_(sources: Sources, out: OutOpt = None, into: IntoOpt = None, service: ServiceOpt = None,
             owner: OwnerOpt = "oncall", no_examples: NoExamplesOpt = False) -> None:
    """Datadog monitor JSON (API export or integration asset): PromQL alerts where the query has
    an exact PromQL form, datadog-only alerts kept verbatim otherwise."""
    from compiler.importers import datadog

    _finish(lambda: datadog.read(sources, service), out, into, owner, not no_examples, service)
