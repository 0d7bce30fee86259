"""Scaffold: `moncat init` writes a catalog skeleton; `moncat new` adds a service or an alert
whose fields are filled in, TODO where only the user knows (`moncat validate` lists them).

New pieces go where the user keeps that kind of thing: an alert is inserted at the end of the
service's `alerts:` block, keeping every comment and the file's indentation; only when no such
block exists (or the service is written in Jsonnet) does a new file hold it.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from compiler.diagnostics import Diagnostic, Loc, Severity, error
from compiler.documents import unpack
from compiler.loader import SETTINGS_NAMES, RawDocument, load_catalog, load_yaml
from compiler.validation import SCHEMA_FILE, catalog_schema

SKELETON = "init"


class Refused(Exception):
    """The command would overwrite or contradict the catalog; nothing was written."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class Added:
    """One piece written: what it is and where it starts."""

    what: str
    loc: Loc


def _package_text(*parts: str) -> str:
    return resources.files("compiler.scaffold").joinpath(*parts).read_text("utf-8")


def schema_text() -> str:
    """The catalog schema as shipped (what `moncat schema` prints and `init` copies)."""
    return resources.files("compiler.schema").joinpath(SCHEMA_FILE).read_text("utf-8")


def skeleton() -> dict[str, str]:
    """Path (relative to the new catalog) -> content of every file `moncat init` writes."""
    files = {SCHEMA_FILE: schema_text()}
    base = resources.files("compiler.scaffold").joinpath(SKELETON)

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith((".yaml", ".jsonnet", ".libsonnet")):
                files[prefix + child.name] = child.read_text("utf-8")

    walk(base, "")
    return dict(sorted(files.items()))


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a temporary file in the same directory, renamed over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def init(directory: Path) -> list[str]:
    """Write the skeleton into `directory` (created; an existing one must be empty)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise Refused(error("MC091", f"{directory} already exists and is not empty", None,
                            "name a new directory: `moncat init <dir>` never overwrites files"))
    files = skeleton()
    for rel, text in files.items():
        _write(directory / rel, text)
    return list(files)


# --- names ------------------------------------------------------------------------------------
def _pattern(kind: str) -> re.Pattern[str]:
    return re.compile(catalog_schema()["$defs"][kind]["pattern"])


def _check_name(name: str, kind: str, what: str, example: str) -> None:
    if not _pattern(kind).match(name):
        raise Refused(error("MC092", f"{name!r} is not a valid {what} name", None,
                            f"use letters, digits and '_' like {example!r}"
                            + (", lower case, '-' and '.' allowed" if kind == "id" else "")))


def camel(service: str) -> str:
    """`checkout-api` -> `CheckoutApi`: a service id as the start of an alert name."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", service) if p)


def kebab(alert: str) -> str:
    """`CheckoutSlow` -> `checkout-slow`: an alert name as a procedure id."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", alert).replace("_", "-").lower().strip("-") or "procedure"


# --- reading the catalog as written -----------------------------------------------------------
@dataclass
class _Catalog:
    root: Path
    docs: list[RawDocument]

    @classmethod
    def read(cls, root: Path) -> "_Catalog":
        if not any((root / n).is_file() for n in SETTINGS_NAMES):
            raise Refused(error("MC094", f"{root} holds no moncat.yaml", None,
                                f"pass the catalog directory, or create one with `moncat init {root}`"))
        docs, diags = load_catalog(root)
        broken = [d for d in diags if d.severity is Severity.ERROR]
        if broken:
            # A file that does not parse may hold the very service or alert asked about.
            first = broken[0]
            raise Refused(error(first.code, first.message, first.loc,
                                f"{first.hint}; `moncat new` edits only a catalog whose files all parse"))
        return cls(root, [d for d in docs if isinstance(d.data, dict)])

    def service_docs(self, service: str) -> list[RawDocument]:
        return [d for d in self.docs if d.data.get("service") == service]

    def services(self) -> list[str]:
        return sorted({str(d.data["service"]) for d in self.docs if "service" in d.data})

    def named(self, section: str, name: str, service: str) -> RawDocument | None:
        for doc in self.service_docs(service):
            if isinstance(doc.data.get(section), dict) and name in doc.data[section]:
                return doc
        return None

    def quietest_severity(self, service: str) -> str:
        """The least urgent level the service can use: a new alert pages no one by surprise."""
        levels: dict[str, int] = {}
        for doc in self.docs:
            if "version" in doc.data and isinstance(doc.data.get("severities"), dict):
                levels.update(_priorities(doc.data["severities"]))
        for doc in self.service_docs(service):
            if isinstance(doc.data.get("severities"), dict):
                levels.update(_priorities(doc.data["severities"]))
        if not levels:
            raise Refused(error("MC094", "the catalog defines no severity levels", None,
                                "add `severities:` to moncat.yaml (see `moncat init`)"))
        return max(levels.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def _section(self, service: str, section: str) -> dict:
        """A shared section of the settings, overridden entry by entry by the service's own."""
        merged: dict = {}
        for doc in [d for d in self.docs if "version" in d.data] + self.service_docs(service):
            if isinstance(doc.data.get(section), dict):
                merged.update(doc.data[section])
        return merged

    def reachable_at(self, service: str, severity: str) -> str:
        """Who a new alert of `severity` should name in `notify`, when the service's owner
        cannot be told at that level (a pager-only owner and a level that does not page): the
        first contact with email, Slack or a webhook. "" when the owner will do, or no one will."""
        level = self._section(service, "severities").get(severity)
        if isinstance(level, dict) and level.get("page") is True:
            return ""
        contacts = self._section(service, "contacts")
        owner = next((d.data["owner"] for d in self.service_docs(service) if "owner" in d.data), None)
        if owner not in contacts or _told_without_pager(contacts[owner]):
            return ""
        # The service's own contacts first: they are the people who know it.
        own = [c for d in self.service_docs(service) if isinstance(d.data.get("contacts"), dict)
               for c in d.data["contacts"]]
        for cid in dict.fromkeys([*own, *contacts]):
            if _told_without_pager(contacts[cid]):
                return str(cid)
        return ""

    def datadog(self) -> bool:
        """Whether the catalog compiles for Datadog (`targets.datadog` in the settings)."""
        return any("version" in d.data and "datadog" in (d.data.get("targets") or {}) for d in self.docs)

    def modeline(self, file: Path) -> str:
        """The editor's schema line for a new file, when the catalog holds the schema."""
        if not (self.root / SCHEMA_FILE).is_file():
            return ""
        rel = os.path.relpath(self.root / SCHEMA_FILE, file.parent)
        return f"# yaml-language-server: $schema={Path(rel).as_posix()}\n"


def _told_without_pager(contact: object) -> bool:
    """A contact a level that does not page still reaches: email, Slack or a webhook."""
    return (isinstance(contact, dict) and contact.get("receives_alerts") is not False
            and any(contact.get(k) for k in ("email", "slack", "webhook")))


def _priorities(levels: dict) -> dict[str, int]:
    return {str(k): v["priority"] for k, v in levels.items()
            if isinstance(v, dict) and isinstance(v.get("priority"), int)}


# --- inserting into a block mapping -------------------------------------------------------------
_DOC_MARK = re.compile(r"^(---|\.\.\.)(\s|$)")


def _section_end(doc: RawDocument, section: str) -> tuple[int, int] | None:
    """Where to insert a new entry of the block mapping `section` of `doc`: (0-based line index
    after its last entry, indentation of its entries); None when it is no block mapping."""
    at = doc.keys.get((section,))
    entries = doc.data.get(section)
    if at is None or not isinstance(entries, dict) or not entries:
        return None
    key = unpack(at)
    first_at = doc.keys.get((section, next(iter(entries))))
    if first_at is None or unpack(first_at).line <= key.line:
        return None  # a flow mapping on the key's line: `alerts: {A: ...}`
    first = unpack(first_at)
    lines = doc.text.split("\n")
    end = len(lines)
    later = [line for path, p in doc.keys.items()
             if len(path) == 1 and (line := unpack(p).line) > key.line]
    if later:
        end = min(later)
    for i in range(key.line + 1, end):
        if _DOC_MARK.match(lines[i]):
            end = i
            break
    # Blank lines and column-0 comments before the next key belong to that key.
    while end > key.line + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return end, first.column


def _indent(block: str, unit: int, level: int) -> str:
    """Re-indent a template written with two spaces per level to `unit` spaces, `level` deep."""
    out = []
    for line in block.rstrip("\n").split("\n"):
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // 2
        out.append(" " * (unit * (depth + level)) + stripped if stripped else "")
    return "\n".join(out) + "\n"


def _add_entry(cat: _Catalog, service: str, section: str, name: str, block: str,
               prefer: Path | None = None) -> Added:
    """Insert `block` (the entry `name`, two-space indented) into the service's `section`."""
    candidates = [d for d in cat.service_docs(service) if not d.from_jsonnet]
    # The file asked for, else the one that holds most of the section, else most of the service.
    candidates.sort(key=lambda d: (prefer is None or cat.root / d.file != prefer,
                                   -len(d.data.get(section) or {}), -_size(d.data), d.file))
    for doc in candidates:
        found = _section_end(doc, section)
        if found is None:
            continue
        end, column = found
        path = cat.root / doc.file
        lines = doc.text.split("\n")
        unit = max(column, 1)
        new = _indent(block, unit, 1).rstrip("\n").split("\n")
        spaced = [""] if lines[end - 1].strip() else []
        text = "\n".join(lines[:end] + spaced + new + lines[end:])
        if _holds(doc.file, text, section, name, service):
            _write(path, text)
            return Added(f"{section[:-1] if section.endswith('s') else section} {name}",
                         Loc(doc.file, end + len(spaced) + 1, column + 1))
    # No block to extend: a file of its own, next to the service's first file.
    docs = candidates or cat.service_docs(service)
    home = (cat.root / docs[0].file).parent if docs else cat.root / service
    path = home / f"{kebab(name)}.yaml"
    while path.exists():
        path = path.with_name(path.stem + "-new.yaml")
    text = cat.modeline(path) + f"service: {service}\n{section}:\n" + _indent(block, 2, 1)
    _write(path, text)
    rel = path.relative_to(cat.root).as_posix()
    return Added(f"{section[:-1]} {name}", Loc(rel, text.count("\n", 0, text.index(f"{section}:")) + 2, 3))


def _size(data: dict) -> int:
    return sum(len(v) if isinstance(v, (dict, list)) else 1 for v in data.values())


def _holds(file: str, text: str, section: str, name: str, service: str) -> bool:
    """The edited file still parses and its service document now has the entry."""
    docs, diags = load_yaml(file, text)
    return not diags and any(isinstance(d.data, dict) and d.data.get("service") == service
                             and name in (d.data.get(section) or {}) for d in docs)


# --- commands -----------------------------------------------------------------------------------
def _unique_procedure(cat: _Catalog, service: str, wanted: str) -> str:
    pid, n = wanted, 2
    while cat.named("procedures", pid, service) is not None:
        pid, n = f"{wanted}-{n}", n + 1
    return pid


# `up` is Prometheus' own series: Datadog's Agent reports a failed scrape as a service check, and
# moncat writes metric monitors only. A placeholder expression must not reach Datadog either.
_PROMETHEUS_ONLY = ("    # `up` exists only in Prometheus: Datadog's Agent reports a failed scrape as a service check.\n"
                    "    targets: [prometheus, grafana]\n")
_UNTIL_REAL = ("  # Leaves Datadog out while expr is a placeholder: delete it then (moncat translates most PromQL).\n"
               "  targets: [prometheus, grafana]\n")


def _render(template: str, **values: str) -> str:
    return Template(_package_text("templates", template)).substitute(values)


def new_alert(root: Path, service: str, name: str) -> list[Added]:
    """Add alert `name` to `service`, with a procedure of its own; both TODO where needed."""
    _check_name(name, "alertName", "alert", "CheckoutSlow")
    cat = _Catalog.read(root)
    if not cat.service_docs(service):
        known = ", ".join(cat.services()) or "none"
        raise Refused(error("MC094", f"no service {service!r} in {root}", None,
                            f"known services: {known}; `moncat new service {service}` adds one"))
    existing = cat.named("alerts", name, service)
    if existing is not None:
        raise Refused(error("MC095", f"service {service!r} already has an alert {name!r}",
                            existing.loc(("alerts", name), key=True), "choose another name"))
    severity = cat.quietest_severity(service)
    procedure = _unique_procedure(cat, service, kebab(name))
    values = {"alert": name, "severity": severity, "procedure": procedure, "service": service,
              "targets": _UNTIL_REAL if cat.datadog() else "", "notify": ""}
    told = cat.reachable_at(service, severity)
    if told:
        # Else the new alert would reach no one (MC462) and the catalog would stop validating.
        values["notify"] = (f"  # The owner has only a pager, which {severity} does not reach.\n"
                            f"  notify: [{told}]\n")
    added = [_add_entry(cat, service, "alerts", name, _render("alert.yaml", **values))]
    cat = _Catalog.read(root)  # positions moved
    added.append(_add_entry(cat, service, "procedures", procedure, _render("procedure.yaml", **values),
                            prefer=root / added[0].loc.file))
    return added


def new_service(root: Path, name: str) -> list[Added]:
    """Add service `name` in `<root>/<name>/service.yaml`: an owner contact, a first alert (the
    service is down) with its procedure, TODO where only the user knows."""
    _check_name(name, "id", "service", "checkout")
    cat = _Catalog.read(root)
    if cat.service_docs(name):
        first = cat.service_docs(name)[0]
        raise Refused(error("MC093", f"service {name!r} already exists", first.loc(("service",)),
                            f"add to it with `moncat new alert {name} NAME`"))
    path = root / name / "service.yaml"
    if path.exists():
        raise Refused(error("MC093", f"{path} already exists", None, "move it away or pick another name"))
    alert = f"{camel(name)}Down"
    values = {"alert": alert, "procedure": f"{name}-down", "service": name,
              "targets": _PROMETHEUS_ONLY if cat.datadog() else ""}
    values["severity"] = cat.quietest_severity(name)
    values["procedure_block"] = _indent(_render("procedure.yaml", **values), 2, 1).rstrip("\n")
    values["modeline"] = cat.modeline(path)
    text = _render("service.yaml", **values)
    _write(path, text)
    rel = path.relative_to(root).as_posix()
    line = 1 + text.split("\n").index(f"service: {name}")
    return [Added(f"service {name}", Loc(rel, line, 1))]


__all__ = ["Added", "Refused", "camel", "init", "kebab", "new_alert", "new_service", "schema_text",
           "skeleton"]
