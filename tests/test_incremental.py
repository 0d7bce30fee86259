"""The incremental compile gives what a clean compile gives: files byte for byte and diagnostics,
after seeded random edits of the seed catalog and of a synthetic one, and whatever state the
cache or the output directory is left in."""
from __future__ import annotations

import hashlib
import os
import pickle
import random
import re
import shutil
from array import array
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from compiler import incremental, pipeline, writer
from compiler.artifacts import Artifact, ManagedObject
from compiler.checks import cross_target, datadog_output, routing_parity
from compiler.checks.routing_readback import Notification
from compiler.diagnostics import Loc
from compiler.incremental import output, output_record
from compiler.incremental.chunks import manifest_chunks, merge_chunks
from compiler.incremental.packed import unpack
from compiler.incremental import run as run_module
from compiler.incremental.run import Cache, RenderedArtifact
from compiler.manifest import MANIFEST, assemble, file_line, object_lines
from tests.benchmarks import synthetic
from tests.conftest import CATALOG


def _compile(catalog: Path, out: Path, cache_dir: Path) -> tuple[list, dict[str, bytes] | None]:
    """`moncat compile` with the cache, as the command runs it: diagnostics and, when it wrote,
    the output directory's files."""
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    result = pipeline.compile_catalog(catalog, cache=cache)
    diags = _diags(result)
    if result.report.has_errors():
        return diags, None
    output.write(out, result, cache, lambda: pipeline.compile_catalog(catalog))
    return diags, {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _clean(catalog: Path) -> tuple[list, dict[str, bytes] | None]:
    result = pipeline.compile_catalog(catalog)
    return _diags(result), None if result.report.has_errors() else result.files


def _diags(result: pipeline.Result) -> list:
    return [(d.severity.value, d.code, d.message, str(d.loc), d.hint) for d in result.report.sorted()]


def _same_as_clean(catalog: Path, out: Path, cache_dir: Path, what: str) -> None:
    diags, files = _compile(catalog, out, cache_dir)
    clean_diags, clean_files = _clean(catalog)
    assert diags == clean_diags, what
    assert (files is None) == (clean_files is None), what
    if files is not None:
        assert sorted(files) == sorted(clean_files), what
        differ = [p for p in files if files[p] != clean_files[p]]
        assert not differ, f"{what}: {differ[:5]}"


# --- edits ------------------------------------------------------------------------------------

def _docs(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d is not None]


def _save(path: Path, docs: list) -> None:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True), "utf-8")


def _pick(rng: random.Random, mapping: dict) -> str | None:
    return rng.choice(sorted(mapping)) if mapping else None


def _alert_ids(catalog: Path) -> list[str]:
    return sorted(f"{d['service']}/{name}" for p in catalog.rglob("*.yaml") for d in _docs(p)
                  if isinstance(d, dict) and "service" in d for name in d.get("alerts") or {})


def _intervals(catalog: Path) -> list[str]:
    return sorted(name for p in catalog.rglob("*.yaml") for d in _docs(p) if isinstance(d, dict)
                  for name in d.get("time_intervals") or {})


def _rename_intervals(doc: dict) -> None:
    """A copied service's own time intervals renamed (ids are catalog-wide), with its references."""
    own = doc.get("time_intervals") or {}
    if not own:
        return
    doc["time_intervals"] = {f"{k}-copy": v for k, v in own.items()}
    for holder in [doc, *(doc.get("alerts") or {}).values()]:
        for key in ("active_during", "muted_during"):
            if isinstance(holder.get(key), list):
                holder[key] = [f"{n}-copy" if n in own else n for n in holder[key]]


def _edit_routing(rng: random.Random, doc: dict, alerts: list[str], intervals: list[str]) -> str | None:
    """One change to what routing reads across services: a suppression (often by another
    service's alert), an alert's or the service's hours, a condition alert, a `team` label of
    an alert (which leads it into that team's route, if another service has that team)."""
    choice = rng.randrange(6)
    own = doc.get("alerts") or {}
    name = _pick(rng, own)
    if choice == 0 and name and alerts:
        by = rng.choice(alerts)
        if rng.random() < 0.3 or by == f"{doc['service']}/{name}":
            own[name].pop("suppressed_by", None)
            return f"suppression of {name} removed"
        own[name]["suppressed_by"] = {"alert": by}
        return f"{name} suppressed by {by}"
    if choice == 1 and name and intervals:
        key = rng.choice(["active_during", "muted_during"])
        if rng.random() < 0.3:
            own[name].pop(key, None)
            return f"{key} of {name} removed"
        own[name][key] = [rng.choice(intervals)]
        return f"{key} of {name}: {own[name][key]}"
    if choice == 2 and intervals:
        if rng.random() < 0.4:
            doc.pop("active_during", None)
            return f"active_during of {doc['service']} removed"
        doc["active_during"] = [rng.choice(intervals)]
        return f"active_during of {doc['service']}: {doc['active_during']}"
    if choice == 3 and name:
        if own[name].get("notify") == []:
            del own[name]["notify"]
            return f"{name} notifies again"
        own[name]["notify"] = []
        return f"{name} made a condition alert"
    if choice == 5 and name:
        labels = own[name].setdefault("labels", {})
        if labels.pop("team", None) is not None:
            return f"team label of {name} removed"
        labels["team"] = rng.choice(["team0", "team1", "team2", "team-a", "team-b", "team9"])
        return f"{name} labelled team {labels['team']}"
    if choice == 4:
        intervals_here = doc.setdefault("time_intervals", {})
        iid = f"{doc['service']}-hours"
        intervals_here[iid] = {"location": "Asia/Jakarta", "times": [f"0{rng.randrange(8)}:00-2{rng.randrange(4)}:00"]}
        return f"interval {iid} of {doc['service']}"
    return None


def _edit_entity(rng: random.Random, doc: dict, severities: list[str]) -> str | None:
    """One change to an alert, metric, recording rule or the service's own fields."""
    choice = rng.randrange(9)
    alerts = doc.get("alerts") or {}
    name = _pick(rng, alerts)
    if choice == 0 and name:
        alerts[name]["summary"] = f"{alerts[name].get('summary', '')} (edited {rng.randrange(99)})"
        return f"summary of {name}"
    if choice == 1 and name and severities:
        alerts[name]["severity"] = rng.choice(severities)
        return f"severity of {name}"
    if choice == 2 and name and isinstance(alerts[name].get("expr"), str):
        expr = alerts[name]["expr"]
        digits = [i for i, ch in enumerate(expr) if ch.isdigit()]
        if digits:
            i = digits[-1]
            alerts[name]["expr"] = expr[:i] + str((int(expr[i]) + 1) % 10) + expr[i + 1:]
            return f"expression of {name}"
    if choice == 3 and name:
        del alerts[name]  # panels or inhibitions naming it may now be errors: both must say so
        return f"alert {name} removed"
    metrics = doc.get("metrics") or {}
    metric = _pick(rng, metrics)
    if choice == 4 and metric and isinstance(metrics[metric], dict):
        metrics[metric]["help"] = f"Edited help {rng.randrange(99)}."
        return f"help of metric {metric}"
    if choice == 5 and metric and isinstance(metrics[metric], dict):
        metrics[metric]["type"] = rng.choice(["counter", "gauge"])
        return f"type of metric {metric} (read by other services too)"
    if choice == 6 and "service" in doc:
        doc["team"] = rng.choice(["team-a", "team-b", doc.get("team", "team-a")])
        return f"team of {doc['service']}"
    rules = doc.get("recording_rules") or {}
    rule = _pick(rng, rules)
    if choice == 7 and rule and isinstance(rules[rule], dict) and isinstance(rules[rule].get("expr"), str):
        rules[rule]["expr"] = f"({rules[rule]['expr']}) * 2"
        return f"recording rule {rule}"
    if choice == 8 and "service" in doc:
        doc["description"] = f"Edited description {rng.randrange(99)}."
        return f"description of {doc['service']}"
    return None


OUTPUTS = ("prometheus", "kubernetes", "alertmanager", "grafana", "grafana-dashboards",
           "grafana-alerting", "datadog", "runbooks")


def _edit_settings(rng: random.Random, doc: dict) -> str:
    choice = rng.randrange(6)
    if choice == 3:
        intervals = doc.setdefault("time_intervals", {})
        iid = _pick(rng, intervals) or "business"
        intervals[iid] = {"location": "Asia/Jakarta", "weekdays": [rng.choice(["monday", "sunday"])],
                          "times": [f"0{rng.randrange(9)}:00-1{rng.randrange(10)}:00"]}
        return f"time interval {iid}"
    if choice == 4:
        targets = doc.setdefault("targets", {})
        if "outputs" in targets and rng.random() < 0.4:
            del targets["outputs"]
            return "targets.outputs removed"
        targets["outputs"] = sorted(rng.sample(OUTPUTS, rng.randrange(2, len(OUTPUTS))))
        return f"targets.outputs: {targets['outputs']}"
    if choice == 5:
        if "catch_all" in doc:
            del doc["catch_all"]
            return "catch_all removed"
        doc["catch_all"] = rng.choice(sorted(doc.get("contacts") or {"oncall": None}))
        return f"catch_all: {doc['catch_all']}"
    if choice == 0:
        doc.setdefault("runbooks", {})["base_url"] = f"https://runbooks{rng.randrange(9)}.example.com"
        return "runbooks base_url"
    if choice == 1:
        contacts = doc.setdefault("contacts", {})
        contacts[f"extra{rng.randrange(3)}"] = {"name": "Extra", "email": "extra@example.com"}
        return "a contact added"
    doc["title"] = f"Runbooks {rng.randrange(9)}"
    return "title"


def _random_edit(rng: random.Random, catalog: Path, history: list[tuple[Path, bytes | None]]) -> str:
    """Edit the catalog at random; remember each file's previous bytes so that an edit can be
    undone (back to contents the cache has seen)."""
    files = sorted(p for p in catalog.rglob("*.yaml"))
    roll = rng.random()
    if roll < 0.15 and history:
        path, before = history.pop()
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
        return f"undo in {path.name}"
    if roll < 0.25:
        source = rng.choice([p for p in files if p.name != "moncat.yaml"])
        docs = _docs(source)
        if docs and all("service" in d for d in docs):
            new = source.with_name(f"copy{rng.randrange(99)}-{source.name}")
            if not new.exists():
                for d in docs:
                    d["service"] = f"{d['service']}-copy"
                    _rename_intervals(d)
                history.append((new, None))
                _save(new, docs)
                return f"{source.name} copied into a new service"
    path = rng.choice(files)
    history.append((path, path.read_bytes()))
    docs = _docs(path)
    if path.name == "moncat.yaml" and path.parent == catalog:
        what = _edit_settings(rng, docs[0])
    else:
        severities = sorted(_docs(catalog / "moncat.yaml")[0].get("severities", {}))
        alerts, intervals = _alert_ids(catalog), _intervals(catalog)
        what = None
        for _ in range(10):
            doc = rng.choice(docs)
            if "service" in doc and rng.random() < 0.4:
                what = _edit_routing(rng, doc, alerts, intervals)
            else:
                what = _edit_entity(rng, doc, severities)
            if what:
                break
        what = what or "rewritten as is"
    _save(path, docs)
    return f"{path.relative_to(catalog)}: {what}"


def _small_synthetic(root: Path) -> None:
    """Three services of six alerts, one that reads a recording rule of the first, and two
    services written in Jsonnet; time intervals in the settings and in a service, an alert of one
    service suppressed by another's."""
    root.mkdir()
    (root / "moncat.yaml").write_text(synthetic.SETTINGS)
    for i in range(3):
        (root / f"svc{i:04d}.yaml").write_text(synthetic.service_yaml(i, alerts=6, dashboards=2))
    with (root / "svc0000.yaml").open("a") as f:
        f.write("recording_rules:\n  svc0000:queue:max:\n"
                "    help: Deepest queue.\n"
                "    expr: max(svc0000_g0_queue_depth)\n")
    shared = root / "shared.yaml"
    shared.write_text(
        "service: reader\nowner: oncall\nalerts:\n  ReadsAnotherService:\n"
        "    expr: svc0000:queue:max > 1\n    severity: P2\n    summary: Errors elsewhere\n"
        "    procedure: respond\n"
        "    datadog: {differs: \"the example gives the recorded series; Datadog reads its source\"}\n"
        "    examples:\n"
        "      fires: {datadog_differs: true, series: {'svc0000:queue:max': '5x30'}}\n"
        "      quiet: {series: {'svc0000:queue:max': '0x30'}}\n"
        "procedures:\n  respond: {title: Respond, recovery: [Fix it.]}\n")
    # Routing that crosses services: hours in the settings and in a service, a suppression by
    # another service's alert.
    with (root / "moncat.yaml").open("a") as f:
        f.write("time_intervals:\n  business:\n    location: Asia/Jakarta\n"
                "    weekdays: [monday, tuesday, wednesday, thursday, friday]\n"
                "    times: ['08:00-18:00']\n")
    with (root / "svc0002.yaml").open("a") as f:
        f.write("active_during: [business]\ntime_intervals:\n  svc0002-night:\n"
                "    location: Asia/Jakarta\n    times: ['22:00-23:00']\n")
    docs = _docs(root / "svc0001.yaml")
    docs[0]["alerts"]["Alert000"]["suppressed_by"] = {"alert": "svc0000/Alert000"}
    docs[0]["alerts"]["Alert003"]["muted_during"] = ["svc0002-night"]
    _save(root / "svc0001.yaml", docs)
    # Jsonnet is evaluated on every compile (its imports are other files); two documents here.
    (root / "generated.jsonnet").write_text(
        "[{service: 'gen' + i, owner: 'oncall', metrics: {['gen%d_up' % i]: "
        "{type: 'gauge', help: 'Up.'}}} for i in [1, 2]]\n")


@pytest.mark.parametrize("source, steps", [("synthetic", 20), ("seed", 3)])
def test_random_edits_compile_incrementally_to_what_a_clean_compile_gives(
        source: str, steps: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incremental, "MANY", 60)  # the pages of a few services at a time
    catalog = tmp_path / "catalog"
    if source == "seed":
        shutil.copytree(CATALOG, catalog)
    else:
        _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    rng = random.Random(f"moncat-incremental-{source}")
    history: list[tuple[Path, bytes | None]] = []
    assert _clean(catalog)[1] is not None  # the catalog compiles before it is edited
    _same_as_clean(catalog, out, cache_dir, "first compile")
    _same_as_clean(catalog, out, cache_dir, "unchanged")
    for step in range(steps):
        what = _random_edit(rng, catalog, history)
        _same_as_clean(catalog, out, cache_dir, f"step {step}: {what}")


def test_a_damaged_cache_is_ignored(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    _same_as_clean(catalog, out, cache_dir, "first compile")
    records = [p for p in cache_dir.rglob("*") if p.suffix in (".pickle", ".bin")]
    assert len(records) > 5
    for i, record in enumerate(sorted(records)):
        # Truncated, garbage, and records of the right format but the wrong shape.
        record.write_bytes([record.read_bytes()[:40], b"not a pickle",
                            pickle.dumps({"values": "x", "files": 3, "parts": [1], "nodes": "n"}),
                            pickle.dumps([("x", 1)])][i % 4])
    _same_as_clean(catalog, out, cache_dir, "after damage")
    _same_as_clean(catalog, out, cache_dir, "after damage, again")


def test_an_unchanged_services_alerts_and_dashboards_are_not_read_and_a_missing_blob_is_a_miss(
        tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    _compiled_after_one_edit(catalog, out, cache_dir)
    reused = {s.id: s for s in _linked(catalog, out, cache_dir).services}
    # Its sections are kept in a blob beside its file's record and read only when needed.
    assert {"alerts", "dashboards"} <= reused["svc0002"].__dict__["_pending"]
    assert len(reused["svc0002"].alerts) == 6 and "alerts" in reused["svc0002"].__dict__["_pending"]
    blobs = list(cache_dir.rglob("*.bin"))
    assert blobs
    for blob in blobs:
        blob.unlink()
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    result = pipeline.compile_catalog(catalog, cache=cache)
    assert not [f for f in cache.front.reused if not f.endswith(".jsonnet")]  # parsed again
    assert not result.report.has_errors()
    _same_as_clean(catalog, out, cache_dir, "blobs removed")


def test_the_routing_parity_runs_with_the_cache_and_what_it_found_is_kept_per_service(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A Grafana setup that notifies one more contact for Alert002 of every service: a difference
    # MC470 reports. With the cache, the check ran on no setup at all (the contact points and
    # policies were taken for a service's files), and reported nothing.
    real = routing_parity.Setups.grafana

    def skewed(self: routing_parity.Setups, labels: dict[str, str]) -> set:
        found = real(self, labels)
        if labels.get("alertname") == "Alert002":
            found = found | {Notification("someone-else", "email", "30s", "5m", "4h")}
        return found

    monkeypatch.setattr(routing_parity.Setups, "grafana", skewed)
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    clean = [d for d in _clean(catalog)[0] if d[1] == routing_parity.DIFFER]
    assert len(clean) == 3  # Alert002 of svc0000, svc0001 and svc0002
    assert [d for d in _compile(catalog, out, cache_dir)[0] if d[1] == routing_parity.DIFFER] == clean
    monkeypatch.undo()  # (moncat's code as it is: another cache, since its keys cover the code)
    cache_dir = tmp_path / "cache2"
    _same_as_clean(catalog, out, cache_dir, "the routing as generated")
    edited = catalog / "svc0002.yaml"
    edited.write_text(edited.read_text().replace("Synthetic alert number 3.", "Edited."))
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    result = pipeline.compile_catalog(catalog, cache=cache)
    assert _diags(result) == _clean(catalog)[0]
    # svc0002 was compiled again; the unchanged services' findings came from the record, their
    # alerts unread.
    assert "svc0002" not in cache.run.clean and "reader" in cache.run.clean
    reader = next(s for s in result.catalog.services if s.id == "reader")
    assert "alerts" in reader.__dict__["_pending"]


def _linked(catalog: Path, out: Path, cache_dir: Path):
    """The catalog as a compile with the cache links it (without writing)."""
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    return pipeline.compile_catalog(catalog, cache=cache).catalog


def _first_compile(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The small synthetic catalog compiled once with a cache: catalog, output, cache."""
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    _same_as_clean(catalog, out, cache_dir, "first compile")
    return catalog, out, cache_dir


def _svc0002_edited(tmp_path: Path) -> tuple[Path, Path, Cache, pipeline.Result]:
    """The small synthetic catalog compiled with a cache, then again with one text of svc0002
    edited: catalog, output, the cache (of the second compile) and its result (not written)."""
    catalog, out, cache_dir = _first_compile(tmp_path)
    edited = catalog / "svc0002.yaml"
    edited.write_text(edited.read_text().replace("Synthetic alert number 3.", "Edited."))
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    return catalog, out, cache, pipeline.compile_catalog(catalog, cache=cache)


def test_output_files_changed_by_hand_are_written_again(tmp_path: Path) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    rules = out / "prometheus" / "svc0001.rules.yaml"
    rules.write_text("tampered\n")
    (out / "grafana").rename(tmp_path / "elsewhere")
    _same_as_clean(catalog, out, cache_dir, "files changed and removed in the output")


def test_a_file_changed_by_hand_is_found_under_the_lock_and_only_its_service_is_compiled_again(
        tmp_path: Path) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    rules = out / "prometheus" / "svc0002.rules.yaml"
    rules.write_text("tampered\n")
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    result = pipeline.compile_catalog(catalog, cache=cache)
    # The compile trusts the record of the output; the write checks each file it keeps.
    assert "prometheus/svc0002.rules.yaml" in result.unchanged

    def everything() -> pipeline.Result:
        raise AssertionError("a file changed by hand made moncat compile everything")

    assert output.write(out, result, cache, everything)
    clean = pipeline.compile_catalog(catalog).files
    assert rules.read_bytes() == clean["prometheus/svc0002.rules.yaml"]
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == clean


def test_another_moncat_version_does_not_read_the_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    _same_as_clean(catalog, out, cache_dir, "first compile")
    from compiler.incremental import front
    monkeypatch.setattr(front, "code_fingerprint", lambda store=None: "another version")
    cache = Cache.open(catalog, out, cache_dir)
    result = pipeline.compile_catalog(catalog, cache=cache)
    assert not cache.front.reused and not cache.run.clean  # nothing reused across versions
    assert result.files.keys() == pipeline.compile_catalog(catalog).files.keys()


def _compiled_after_one_edit(catalog: Path, out: Path, cache_dir: Path) -> tuple[Cache, pipeline.Result]:
    """A compile that fills the cache, a description of svc0001 edited, and the compile after
    (not written yet)."""
    _same_as_clean(catalog, out, cache_dir, "first compile")
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("Synthetic alert number 3.", "Edited."))
    cache = Cache.open(catalog, out, cache_dir)
    return cache, pipeline.compile_catalog(catalog, cache=cache)


def test_an_unchanged_service_is_not_compiled_again(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    cache, result = _compiled_after_one_edit(catalog, out, cache_dir)
    assert sorted(cache.front.reused) == ["shared.yaml", "svc0000.yaml", "svc0002.yaml"]
    # svc0000 is computed again too: an alert of svc0001 is suppressed by one of its alerts.
    assert sorted(cache.run.clean) == ["gen1", "gen2", "reader", "svc0002"]
    assert cache.run.group("svc0000") == cache.run.group("svc0001") == ["svc0000", "svc0001"]
    assert "prometheus/svc0001.rules.yaml" in result.files
    assert "prometheus/svc0000.rules.yaml" in result.files
    assert "prometheus/svc0002.rules.yaml" in result.unchanged


def test_the_cache_is_kept_where_the_user_can_delete_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.incremental.store import default_dir
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "moncat"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_dir() == tmp_path / "home" / ".cache" / "moncat"
    os.makedirs(tmp_path / "shared", mode=0o777)
    os.chmod(tmp_path / "shared", 0o777)
    (tmp_path / "catalog").mkdir()
    shared = Cache.open(tmp_path / "catalog", None, tmp_path / "shared")
    assert shared is not None  # its own subdirectory is the user's alone
    writable = tmp_path / "shared" / next(p.name for p in (tmp_path / "shared").iterdir() if p.is_dir())
    os.chmod(writable, 0o777)
    assert Cache.open(tmp_path / "catalog", None, tmp_path / "shared") is None  # others could write


def test_another_compile_writing_the_output_meanwhile_makes_this_one_write_everything(tmp_path: Path) -> None:
    catalog, other = tmp_path / "catalog", tmp_path / "other"
    _small_synthetic(catalog)
    _small_synthetic(other)
    (other / "svc0002.yaml").unlink()
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    cache, result = _compiled_after_one_edit(catalog, out, cache_dir)
    assert result.unchanged  # it means to keep files the output holds now...
    writer.write(out, pipeline.compile_catalog(other).files)  # ...which another compile replaces
    assert output.write(out, result, cache, lambda: pipeline.compile_catalog(catalog))
    have = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert have == pipeline.compile_catalog(catalog).files
    _same_as_clean(catalog, out, cache_dir, "the compile after")


def test_edits_read_across_services_recompile_the_services_that_read_them(tmp_path: Path) -> None:
    """A suppressing alert's query is folded into the suppressed alert's Grafana rule in another
    service, and a time interval of the settings or of one service is named by others: editing
    them changes those other services' files, which must not be taken from the cache."""
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    _same_as_clean(catalog, out, cache_dir, "first compile")
    grafana_rule = out / "grafana" / "alerting" / "svc0001.yaml"
    before = grafana_rule.read_bytes()
    source = catalog / "svc0000.yaml"
    source.write_text(source.read_text().replace("> 0.01'", "> 0.07'", 1))
    _same_as_clean(catalog, out, cache_dir, "the suppressing alert's threshold")
    assert b"0.07" in grafana_rule.read_bytes() and grafana_rule.read_bytes() != before

    page = out / "runbooks" / "svc0002" / "alerts" / "Alert000.md"
    assert b"08:00" in page.read_bytes()  # the page states its service's hours
    settings = catalog / "moncat.yaml"
    settings.write_text(settings.read_text().replace("'08:00-18:00'", "'09:00-17:00'"))
    _same_as_clean(catalog, out, cache_dir, "a time interval of the settings")
    assert b"09:00" in page.read_bytes()

    page = out / "runbooks" / "svc0001" / "alerts" / "Alert003.md"
    before = page.read_bytes()
    night = catalog / "svc0002.yaml"
    night.write_text(night.read_text().replace("'22:00-23:00'", "'21:00-23:00'"))
    _same_as_clean(catalog, out, cache_dir, "a time interval of another service")
    assert page.read_bytes() != before and b"21:00" in page.read_bytes()


def test_an_incremental_compile_keeps_files_moncat_did_not_write_and_drops_a_disabled_outputs(
        tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    _same_as_clean(catalog, out, cache_dir, "first compile")
    (out / "prometheus" / "local.rules.yaml").write_text("groups: []\n")
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("Synthetic alert number 3.", "Edited."))
    _, files = _compile(catalog, out, cache_dir)
    assert files is not None and files["prometheus/local.rules.yaml"] == b"groups: []\n"
    assert b"Edited." in files["runbooks/svc0001/alerts/Alert003.md"]
    settings = catalog / "moncat.yaml"
    settings.write_text(settings.read_text().replace("targets:\n", "targets:\n  outputs: [prometheus, runbooks]\n"))
    _, files = _compile(catalog, out, cache_dir)
    assert files is not None and not [p for p in files if p.startswith(("datadog/", "grafana/"))]
    assert files["prometheus/local.rules.yaml"] == b"groups: []\n"
    (out / "prometheus" / "local.rules.yaml").unlink()
    _same_as_clean(catalog, out, cache_dir, "outputs chosen")


def test_a_service_gaining_the_team_another_service_labels_its_alert_with_reroutes_that_alert(tmp_path: Path) -> None:
    # An alert of a service without a team, labelled `team: team9`, takes the route of team9
    # once some service has that team: the service of the alert is unchanged, its routing not.
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    docs = _docs(catalog / "svc0002.yaml")
    docs[0].pop("team")
    docs[0]["alerts"]["Alert001"]["labels"] = {"team": "team9"}
    _save(catalog / "svc0002.yaml", docs)
    first, _ = _compile(catalog, out, cache_dir)
    docs = _docs(catalog / "svc0000.yaml")
    docs[0]["team"] = "team9"
    _save(catalog / "svc0000.yaml", docs)
    _same_as_clean(catalog, out, cache_dir, "svc0000 took team9")
    assert _diags(pipeline.compile_catalog(catalog)) != first  # the edit changes what svc0002's alert reaches


def test_an_incremental_write_replaces_the_changed_files_in_place_and_leaves_nothing_beside(
        tmp_path: Path) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    kept = out / "prometheus" / "svc0002.rules.yaml"
    before_kept, before_root = kept.stat().st_ino, out.stat().st_ino
    docs = _docs(catalog / "svc0001.yaml")
    docs[0]["description"] = "Edited."
    _save(catalog / "svc0001.yaml", docs)
    _same_as_clean(catalog, out, cache_dir, "one service edited")
    assert out.stat().st_ino == before_root  # the few changed files landed in the same directory
    assert kept.stat().st_ino == before_kept  # untouched, not written again
    assert [p.name for p in tmp_path.iterdir() if ".moncat-" in p.name] == []
    assert kept.stat().st_nlink == 1


def test_pages_rendered_in_the_child_process_are_stored_for_the_next_compile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS", 1)  # the small catalog's pages fork too
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS_WARM", 1)  # in a process that compiled before
    monkeypatch.setattr(incremental, "MANY", 60)  # and come back in several batches
    monkeypatch.setattr(pipeline, "_tracked_batches", partial(pipeline._tracked_batches, size=7))
    catalog, out, cache_dir = _first_compile(tmp_path)
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    result = pipeline.compile_catalog(catalog, cache=cache)
    # An unchanged service's pages are not rendered again: they come from the record the child
    # sent back. (svc0000 and svc0001, joined by a suppression, too: their record lists the
    # suppressed alert's Datadog file as written, its composite.)
    assert sorted(cache.run.clean) == ["gen1", "gen2", "reader", "svc0000", "svc0001", "svc0002"]
    assert all("runbooks" in values for values in cache.run.clean.values())
    assert [p for p in result.files if p.startswith(("runbooks/svc0002/", "site/svc0002/"))] == []
    assert "runbooks/svc0002/alerts/Alert000.md" in result.unchanged


def test_the_pages_child_sends_each_batch_with_what_it_stored_as_it_renders_and_keeps_none_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.incremental.run import RenderedArtifact, StoredArtifact
    from compiler.render import render
    from compiler.targets import runbooks

    monkeypatch.setattr(incremental, "MANY", 8)  # about a service a batch
    root = tmp_path / "catalog"
    _small_synthetic(root)
    cache = Cache.open(root, tmp_path / "out", tmp_path / "cache")
    assert cache is not None
    catalog = pipeline.analyse(root, cache=cache).catalog
    assert catalog is not None
    batches, records, paths = [], [], []
    # The work as the pages' child runs it (`home`, its parent, is another process), taken a
    # message at a time as its parent's receiver takes them.
    for batch, (_, stored, written, _) in pipeline._tracked_batches(runbooks.batches, cache, catalog,
                                                                    home=-1, size=7):
        for earlier in records:  # what went with an earlier message is no longer held
            assert not any(earlier.get(sid, {}).keys() & names.keys()
                           for sid, names in cache.run.pending.items())
        assert len(batch) <= 7 and all(type(a) in (RenderedArtifact, StoredArtifact) for a in batch)
        batches.append(batch)
        records.append(stored)
        paths += [path for files in written.values() for path, _ in files]
    # Sent as it rendered: with the catalog-wide pages, then with each batch of services.
    assert sum(1 for stored in records if stored) >= 3
    assert {sid for stored in records for sid, names in stored.items() if "runbooks" in names} \
        == {s.id for s in catalog.services}
    assert sorted(paths) == sorted(a.path for batch in batches for a in batch if a.service)
    assert not any(name.startswith("runbooks") for names in cache.run.pending.values() for name in names)
    assert not any(files for files in cache.run.written.values())
    assert ("runbooks", catalog.services[0].id) not in cache.run.memo  # nor the pages it sent
    clean = pipeline.analyse(root).catalog
    assert clean is not None
    assert [(a.path, a.data) for batch in batches for a in batch] == \
        [(a.path, render(a)) for a in runbooks.build(clean)[0]]  # build's pages, in its order


def test_the_manifest_from_chunks_lists_objects_as_the_manifest_of_their_lines_does() -> None:
    # The cache keeps each artifact's manifest lines joined per target (manifest_chunks); the
    # manifest assembled from them is the one its objects' lines give, even for objects of two
    # targets in one file and for two artifacts of one path (whose lines interleave by kind and id).
    def obj(oid: str, kind: str, target: str) -> ManagedObject:
        return ManagedObject(oid, kind, target, Loc("svc.yaml", 3, 1), {"id": oid, "kind": kind})

    artifacts = [
        Artifact("b/one.yaml", {}, "yaml", (obj("z", "rule", "prometheus"), obj("a", "test", "kubernetes"),
                                             obj("m", "alert", "prometheus"), obj("c", "alert", "prometheus"))),
        Artifact("a/two.json", {}, "json", (obj("x", "dashboard", "grafana"),)),
        Artifact("b/one.yaml", {}, "yaml", (obj("d", "alert", "prometheus"), obj("b", "rule", "prometheus"))),
        Artifact("c/empty.txt", "", "text"),
    ]
    lines = [line for art in artifacts for line in object_lines(art)]
    chunks = [chunk for art in artifacts for chunk in manifest_chunks(art)]
    assert assemble(merge_chunks(chunks), []) == assemble(lines, [])
    distinct = [artifacts[0], artifacts[1], artifacts[3]]
    assert (assemble(merge_chunks([c for art in distinct for c in manifest_chunks(art)]), [])
            == assemble([line for art in distinct for line in object_lines(art)], []))


def test_blocks_of_stored_manifest_lines_give_the_chunks_of_the_objects_they_stand_for() -> None:
    # A service's route tests come back from the cache as one block of manifest lines per target
    # and kind (chunks.stored_lines). Among other blocks and objects the artifact's chunks are
    # those of the objects themselves: blocks joined whole where none falls among another's
    # lines, and line by line where their ids interleave or meet (an id written twice keeps
    # the objects' order).
    from compiler.incremental.chunks import stored_lines
    from compiler.incremental.stored import StoredLines

    def obj(oid: str, kind: str = "route_test", target: str = "amtool", n: int = 0) -> ManagedObject:
        return ManagedObject(oid, kind, target, Loc("svc.yaml", 3 + n, 1), {"name": oid, "n": n})

    path = "alertmanager/routes.tests.yaml"
    services = {
        "b": [obj("b/z"), obj("b/a"), obj("b/m", "other")],
        "a": [obj("a/y"), obj("a/b")],
        "c": [obj("c/x", target="grafana")],
        "d": [obj("b/q"), obj("d/a")],  # interleaves with b's route tests
        "e": [obj("a/y", n=1)],  # the same id as one of a's
    }
    cases = [["b", "a", "c"], ["a", "c", "b", "fresh"], ["b", "d", "a"], ["e", "a", "fresh"], ["a", "e"]]
    for names in cases:
        fresh = [obj("aa/k"), obj("b/b", "other")] if "fresh" in names else []
        first, rest = names[0], [name for name in names[1:] if name != "fresh"]
        mixed = [*stored_lines(path, services[first]), *fresh,
                 *[b for name in rest for b in stored_lines(path, services[name])]]
        ordered = [*services[first], *fresh, *[o for name in rest for o in services[name]]]
        expected = manifest_chunks(Artifact(path, {}, "yaml", tuple(ordered)))
        assert manifest_chunks(Artifact(path, {}, "yaml", tuple(mixed))) == expected, names
    assert [(b.target, b.kind, b.first, b.last) for b in stored_lines(path, services["b"])] == [
        ("amtool", "route_test", ("route_test", "b/a"), ("route_test", "b/z")),
        ("amtool", "other", ("other", "b/m"), ("other", "b/m"))]
    # A block belongs to the artifact whose path its lines name.
    with pytest.raises(ValueError):
        manifest_chunks(Artifact("elsewhere.yaml", {}, "yaml", stored_lines(path, services["a"])))


def test_the_manifest_from_stored_files_runs_is_the_manifest_of_their_objects_lines_even_where_services_interleave(
        ) -> None:
    # An unchanged service's files come back as StoredFiles: per folder, runs of manifest lines
    # joined in order. The manifest made from such runs, single chunks and file lines mixed, is
    # the one every object's line gives: runs taken whole where they do not interleave, line by
    # line where they do (services `a` and `a.s` share prometheus/: a.s.rules.yaml sorts
    # between a.rules.yaml and a.tests.yaml), and merged where two artifacts share a path.
    from compiler.incremental.chunks import manifest, stored_files
    from compiler.incremental.stored import StoredFiles

    def obj(oid: str, kind: str, target: str) -> ManagedObject:
        return ManagedObject(oid, kind, target, Loc("svc.yaml", 3, 1), {"id": oid, "kind": kind})

    def artifacts(sid: str) -> list[Artifact]:
        return [Artifact(f"prometheus/{sid}.rules.yaml", {}, "yaml",
                         (obj(f"{sid}/Z", "alert", "prometheus"), obj(f"{sid}/r", "record", "prometheus"),
                          obj(f"{sid}/A", "alert", "prometheus"))),
                Artifact(f"prometheus/{sid}.tests.yaml", {}, "yaml", (obj(f"{sid}/t", "test", "prometheus"),)),
                Artifact(f"kubernetes/{sid}.prometheusrule.yaml", {}, "yaml",
                         (obj(f"{sid}/Z", "alert", "kubernetes"),)),
                Artifact(f"runbooks/{sid}/index.md", "", "text"),
                Artifact(f"runbooks/{sid}/alerts/Z.md", "", "text", (obj(f"{sid}/Z", "page", "runbooks"),))]

    def sha(art: Artifact) -> str:
        return hashlib.sha256(art.path.encode()).hexdigest()

    def expected(arts: list[Artifact]) -> bytes:
        return assemble([line for art in arts for line in object_lines(art)],
                        [file_line(art.path, sha(art)) for art in arts])

    def made(stored: dict[str, list[Artifact]], single: list[Artifact], merge: bool = False) -> bytes:
        objects, files = [], []
        for sid, arts in stored.items():
            folders: dict[str, list] = {}
            for art in arts:
                folders.setdefault(art.path.rpartition("/")[0], []).append((art.path, sha(art), manifest_chunks(art)))
            for members in folders.values():
                block = stored_files(sid, members)
                assert type(block) is StoredFiles and block.path == min(m[0] for m in members)
                objects += block.objects
                files += block.files
        for art in single:
            objects += [(key, key, text) for key, text in manifest_chunks(art)]
            files.append((art.path, art.path, file_line(art.path, sha(art))[1]))
        return manifest(objects, files, merge)

    services = {sid: artifacts(sid) for sid in ("a.s", "b", "a", "a-c")}
    every = [art for arts in services.values() for art in arts]
    assert made(services, []) == expected(every)
    assert made({"b": services["b"]}, [a for sid in ("a.s", "a", "a-c") for a in services[sid]]) == expected(every)
    assert made({"a": services["a"], "a.s": services["a.s"]}, services["b"] + services["a-c"]) == expected(every)
    assert made({"a": services["a"]}, services["a.s"] + services["b"] + services["a-c"]) == expected(every)
    # The same path made twice (two services' files, which no target makes): merged by kind and id.
    twice = Artifact("prometheus/a.rules.yaml", {}, "yaml", (obj("x/B", "alert", "prometheus"),))
    assert made(services, [twice], merge=True) == expected(every + [twice])
    # Without runs that interleave, each is joined whole: nothing is read back from its lines.
    calm = {sid: services[sid] for sid in ("b", "a-c")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("compiler.incremental.chunks.json.loads", None)
        assert made(calm, []) == expected([a for arts in calm.values() for a in arts])


def test_the_manifest_from_lines_kept_as_utf8_bytes_is_the_manifest_of_the_same_lines_as_text() -> None:
    # The cache keeps an artifact's manifest lines as UTF-8 bytes; the manifest joins them as
    # they are, and one line of either kind among the others' (lines of both kinds) changes nothing.
    def obj(oid: str) -> ManagedObject:
        return ManagedObject(oid, "alert", "prometheus", Loc("sérvice.yaml", 3, 1), {"id": oid, "summary": "→ ü"})

    artifacts = [Artifact(f"prometheus/ü{n}.yaml", {}, "yaml", (obj(f"svc/Älert{n}"), obj(f"svc/b{n}")))
                 for n in range(3)]
    files = [file_line(a.path, hashlib.sha256(a.path.encode()).hexdigest()) for a in artifacts]
    text = assemble([line for art in artifacts for line in object_lines(art)], files)
    chunks = [chunk for art in artifacts for chunk in manifest_chunks(art)]
    assert all(type(lines) is bytes for _, lines in chunks)
    assert assemble(chunks, files) == text
    mixed = [(key, lines.decode("utf-8") if n == 1 else lines) for n, (key, lines) in enumerate(chunks)]
    assert assemble(mixed, files) == text
    # The head and the tail ride on the first and last lines (one join): also when they are one
    # line, and when the last line, of the other kind, is found only once the first was changed.
    last = [(key, lines.decode("utf-8") if n == len(chunks) - 1 else lines) for n, (key, lines) in enumerate(chunks)]
    assert assemble(last, files) == text
    one = [line for line in object_lines(artifacts[0])][:1]
    assert assemble([(key, line.encode("utf-8")) for key, line in one], files) == assemble(one, files)
    assert assemble(one, files).endswith(b'"target": "prometheus"}\n  ]\n}\n')
    assert "svc/Älert0".encode("utf-8") in text and "sérvice.yaml:3:1".encode("utf-8") in text


def test_the_cache_ignores_itself_for_git_only_in_a_folder_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    assert Cache.open(tmp_path / "catalog", None, tmp_path / ".moncat-cache") is not None
    assert (tmp_path / ".moncat-cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    project = tmp_path / "project"  # `--cache-dir .` in a repository: the user's own files
    project.mkdir()
    (project / "README.md").write_text("mine\n")
    assert Cache.open(tmp_path / "catalog", None, project) is not None
    assert not (project / ".gitignore").exists()
    assert Cache.open(tmp_path / "catalog", None, tmp_path / ".moncat-cache") is not None  # again: kept
    assert (tmp_path / ".moncat-cache" / ".gitignore").exists()


def test_a_blob_damaged_or_gone_mid_compile_costs_a_compile_again_without_blobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Blobs are read lazily, long after the compile checked their size: one found with other
    # bytes of the same size (or gone) then must not end the compile with an internal error.
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    _same_as_clean(catalog, out, cache_dir, "first compile")
    again = []
    without = Cache.without_blobs
    monkeypatch.setattr(Cache, "without_blobs", lambda self: again.append(1) or without(self))
    for damage in ("same size, other bytes", "gone"):
        blobs = sorted(cache_dir.rglob("*.bin"))
        assert blobs
        for blob in blobs:
            data = blob.read_bytes()
            if damage == "gone":
                blob.unlink()
            else:
                blob.write_bytes(bytes(b ^ 0x55 for b in data))
        # The settings changed: every service is built again from its file's reused record.
        (catalog / "moncat.yaml").write_text(synthetic.SETTINGS + f"title: {damage}\n")
        if damage == "gone":
            # Checked present when reused, gone when read: as another process pruning it.
            from compiler.incremental import front
            monkeypatch.setattr(front.Store, "blob", lambda self, key, size: cache_dir / "gone.bin")
        again.clear()
        _same_as_clean(catalog, out, cache_dir, damage)
        assert again == [1], damage


def test_a_catalog_wide_page_rendered_to_the_bytes_its_file_holds_is_not_hashed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("Synthetic alert number 3.", "Edited."))
    hashed: list[str] = []
    chunks = run_module.manifest_chunks
    monkeypatch.setattr(run_module, "manifest_chunks", lambda art: hashed.append(art.path) or chunks(art))
    _same_as_clean(catalog, out, cache_dir, "a description edited")
    assert "runbooks/svc0001/alerts/Alert003.md" in hashed  # the edited page
    assert "runbooks/index.md" not in hashed and "site/contacts.html" not in hashed  # as written


def test_a_catalog_wide_page_of_the_same_bytes_from_another_place_gets_its_new_manifest_line(
        tmp_path: Path) -> None:
    # A comment above the settings moves them a line down: the index's Markdown is the same
    # bytes, its manifest line names the new place (reusing the page by its bytes alone kept
    # the old one).
    catalog, out, cache_dir = _first_compile(tmp_path)
    settings = catalog / "moncat.yaml"
    settings.write_text("# the settings\n" + settings.read_text())
    before = (out / "runbooks" / "index.md").read_bytes()
    _same_as_clean(catalog, out, cache_dir, "the settings a line down")
    assert (out / "runbooks" / "index.md").read_bytes() == before
    assert '"source": "moncat.yaml:2:1"' in (out / "manifest.json").read_text()


def test_a_catalog_wide_page_whose_file_changed_since_it_was_written_is_hashed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    index = out / "runbooks" / "index.md"
    index.write_bytes(index.read_bytes().replace(b"#", b"%", 1))  # same size, another time
    hashed: list[str] = []
    chunks = run_module.manifest_chunks
    monkeypatch.setattr(run_module, "manifest_chunks", lambda art: hashed.append(art.path) or chunks(art))
    _same_as_clean(catalog, out, cache_dir, "the index changed by hand")
    assert "runbooks/index.md" in hashed


def test_a_catalog_wide_page_rendered_to_other_bytes_of_the_same_size_is_hashed_again(tmp_path: Path) -> None:
    # The index lists every alert's summary: one edited (same length) makes an index of the same
    # size as the file written last, whose hash no longer holds.
    catalog, out, cache_dir = _first_compile(tmp_path)
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("Alert 3 of service", "Alert 3 of servic3"))
    before = (out / "runbooks" / "index.md").read_bytes()
    _same_as_clean(catalog, out, cache_dir, "a summary edited")
    after = (out / "runbooks" / "index.md").read_bytes()
    assert len(after) == len(before) and after != before


def test_the_manifest_is_compared_by_its_bytes_kept_when_nothing_changed_written_when_one_byte_did(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    manifest = out / "manifest.json"
    hashed: list[int] = []
    sha256 = output.hashlib.sha256
    monkeypatch.setattr(output.hashlib, "sha256", lambda data=b"": hashed.append(len(data)) or sha256(data))
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    inode = manifest.stat().st_ino
    assert output.write(out, pipeline.compile_catalog(catalog, cache=cache), cache, pipeline.compile_catalog) is False
    assert manifest.stat().st_ino == inode and manifest.stat().st_size not in hashed  # never hashed
    # A threshold's digit: every file and the manifest keep their sizes.
    edited = catalog / "svc0001.yaml"
    text = edited.read_text()
    digit = text.index("> 0.0") + 5
    edited.write_text(text[:digit] + str(int(text[digit]) % 7 + 2) + text[digit + 1:])
    before = manifest.read_bytes()
    _same_as_clean(catalog, out, cache_dir, "a threshold edited")
    assert len(manifest.read_bytes()) == len(before) and manifest.read_bytes() != before


def test_a_services_record_whose_values_end_short_is_a_miss(tmp_path: Path) -> None:
    # Each value is read in place from the bytes after the record's index: an index that places
    # a value beyond them (a record cut short) makes the service compile again.
    catalog, out, cache_dir = _first_compile(tmp_path)
    records = sorted(cache_dir.rglob("values/*.pickle"))
    assert records
    for record in records:
        record.write_bytes(record.read_bytes()[:-1])
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    pipeline.compile_catalog(catalog, cache=cache)
    assert not cache.run.clean
    _same_as_clean(catalog, out, cache_dir, "records cut short")


def test_the_record_of_the_output_after_an_incremental_write_is_every_file_as_it_stands(tmp_path: Path) -> None:
    # The record is the last one less the files gone, with the files written: a service removed
    # (its files gone) and a threshold edited (files rewritten).
    catalog, out, cache_dir = _first_compile(tmp_path)
    (catalog / "shared.yaml").unlink()
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("[5m])) > 4", "[5m])) > 5"))
    _same_as_clean(catalog, out, cache_dir, "a service removed, a threshold edited")
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    record = output_record.read(cache.store, run_module._out_key(out)).state
    standing = {}
    for path in out.rglob("*"):
        if path.is_file():
            st = path.lstat()
            rel = path.relative_to(out).as_posix()
            sha = "" if rel == "manifest.json" else hashlib.sha256(path.read_bytes()).hexdigest()
            standing[rel] = (sha, st.st_size, st.st_mtime_ns, st.st_ino)
    assert not any(p.startswith("runbooks/reader/") for p in standing) and record["manifest.json"][0] == ""
    assert record == standing


def test_after_a_write_keeping_a_suppressed_monitors_composite_each_service_is_recorded_as_it_stands(
        tmp_path: Path) -> None:
    # svc0002 edited: svc0000 and svc0001 come back from the cache, svc0001's suppressed
    # monitor's file (its composite, made again every compile) kept as it was. Each service's
    # group lists its files as its own record does, the record holds every file as it stands, and
    # the next compile reuses both services again.
    catalog, out, cache, result = _svc0002_edited(tmp_path)
    assert {"svc0000", "svc0001"} <= cache.run.clean.keys()
    assert output.write(out, result, cache, lambda: pytest.fail("compiled everything"))
    record = output_record.read(cache.store, run_module._out_key(out))
    monitor = "datadog/monitors/svc0001/Alert000.json"
    assert monitor in record.groups["svc0001"][0].split("\0") and monitor not in record.loose
    for sid in ("svc0000", "svc0001"):
        assert record.groups[sid][:2] == cache.run.files[sid]
    standing = {}
    for path in out.rglob("*"):
        if path.is_file():
            rel, st = path.relative_to(out).as_posix(), path.lstat()
            sha = "" if rel == MANIFEST else hashlib.sha256(path.read_bytes()).hexdigest()
            standing[rel] = (sha, st.st_size, st.st_mtime_ns, st.st_ino)
    assert record.state == standing
    again = Cache.open(catalog, out, cache.store.dir.parent)
    assert again is not None
    pipeline.compile_catalog(catalog, cache=again)
    assert {"svc0000", "svc0001", "svc0002"} <= again.run.clean.keys()


def test_an_incremental_write_records_its_changes_as_a_patch_leaving_the_whole_record_unwritten(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output_record, "PATCH_SHARE", 1)  # the small catalog: any patch is small
    catalog, out, cache_dir = _first_compile(tmp_path)
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    key = run_module._out_key(out)
    whole = cache.store._path(output_record.WHOLE, key)
    before = whole.read_bytes()
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("[5m])) > 4", "[5m])) > 5"))
    _same_as_clean(catalog, out, cache_dir, "a threshold edited")
    record = output_record.read(cache.store, key)
    assert whole.read_bytes() == before and "svc0001" in record.patch_groups
    assert "prometheus/svc0001.rules.yaml" in record.patch_groups["svc0001"][0].split("\0")
    assert record.state["prometheus/svc0001.rules.yaml"][2] == (out / "prometheus/svc0001.rules.yaml").stat().st_mtime_ns


def test_a_damaged_patch_of_the_output_record_reuses_nothing_of_the_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The whole record alone no longer matches the output's manifest (written anew by the write
    # the patch recorded): nothing of the output is reused, and the output is the clean one.
    monkeypatch.setattr(output_record, "PATCH_SHARE", 1)
    catalog, out, cache_dir = _first_compile(tmp_path)
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("[5m])) > 4", "[5m])) > 5"))
    _same_as_clean(catalog, out, cache_dir, "a threshold edited")
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    patch = cache.store._path(output_record.PATCH, run_module._out_key(out))
    patch.write_bytes(patch.read_bytes()[:-3])
    pipeline.compile_catalog(catalog, cache=cache)
    assert not cache.run.out_record and not cache.run.clean
    edited.write_text(edited.read_text().replace("[5m])) > 5", "[5m])) > 6"))
    _same_as_clean(catalog, out, cache_dir, "a patch cut short")


def test_a_catalog_wide_pages_record_of_another_moncat_version_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The record holds manifest lines, which another version may write otherwise.
    catalog, out, cache_dir = _first_compile(tmp_path)
    _same_as_clean(catalog, out, cache_dir, "the pages recorded")
    from compiler.incremental import front
    monkeypatch.setattr(front, "code_fingerprint", lambda store=None: "another version")
    hashed: list[str] = []
    chunks = run_module.manifest_chunks
    monkeypatch.setattr(run_module, "manifest_chunks", lambda art: hashed.append(art.path) or chunks(art))
    _same_as_clean(catalog, out, cache_dir, "another version")
    assert "runbooks/index.md" in hashed


def test_a_catalog_wide_file_rendered_to_the_bytes_its_file_holds_takes_its_recorded_hash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    edited = catalog / "svc0001.yaml"
    edited.write_text(edited.read_text().replace("Synthetic alert number 3.", "Edited."))
    tests = (out / "alertmanager" / "routes.tests.yaml").read_bytes()
    hashed: list[bytes] = []
    sha256 = run_module.hashlib.sha256
    monkeypatch.setattr(run_module.hashlib, "sha256", lambda data=b"": hashed.append(data) or sha256(data))
    _compile(catalog, out, cache_dir)
    monkeypatch.undo()
    assert (out / "alertmanager" / "routes.tests.yaml").read_bytes() == tests and tests not in hashed
    _same_as_clean(catalog, out, cache_dir, "a description edited")


def test_the_catalog_wide_pages_rendered_in_the_child_process_are_recorded_for_the_next_compile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS", 1)  # the small catalog's pages fork too
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ALERTS_WARM", 1)
    catalog, out, cache_dir = _first_compile(tmp_path)
    cache = Cache.open(catalog, out, cache_dir)
    assert cache is not None
    record = cache.store.read(run_module.PAGES, run_module._out_key(out))
    assert {"runbooks/index.md", "site/index.html", "runbooks/contacts.md", "site/contacts.html"} \
        <= record["pages"].keys()


def test_the_code_fingerprint_is_kept_while_the_code_files_status_is_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.incremental import store as store_module
    store = store_module.Store.open(tmp_path / "cache", tmp_path / "catalog")
    assert store is not None
    monkeypatch.setattr(store_module, "_known", None)
    first = store_module.code_fingerprint(store)
    assert first == store_module._code_hash()

    def hashed() -> str:
        raise AssertionError("the code was hashed again while its files' status is unchanged")

    monkeypatch.setattr(store_module, "_known", None)
    monkeypatch.setattr(store_module, "_code_hash", hashed)
    assert store_module.code_fingerprint(store) == first


def test_a_code_file_changed_since_the_fingerprint_was_kept_is_hashed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.incremental import store as store_module
    store = store_module.Store.open(tmp_path / "cache", tmp_path / "catalog")
    assert store is not None
    # The record of another state of the code (a file saved since: its size, time or inode differ).
    store.write("code", "fingerprint", ("the status before the edit", "the fingerprint before the edit"),
                plain=True)
    monkeypatch.setattr(store_module, "_known", None)
    assert store_module.code_fingerprint(store) == store_module._code_hash()
    assert store.read("code", "fingerprint", plain=True) == (store_module._code_status(), store_module._code_hash())


@pytest.mark.parametrize("record", [b"not marshal at all", b"", None])
def test_a_damaged_or_foreign_record_of_the_code_fingerprint_is_a_miss(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record: bytes | None) -> None:
    from compiler.incremental import store as store_module
    store = store_module.Store.open(tmp_path / "cache", tmp_path / "catalog")
    assert store is not None
    if record is None:  # well formed, of another shape
        store.write("code", "fingerprint", {"status": store_module._code_status()}, plain=True)
    else:
        (store.dir / "code-fingerprint.pickle").write_bytes(record)
    monkeypatch.setattr(store_module, "_known", None)
    assert store_module.code_fingerprint(store) == store_module._code_hash()


def test_a_compile_writing_a_file_writes_the_manifest_without_reading_the_output_s_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, out, cache_dir = _first_compile(tmp_path)
    asked: list[str] = []
    holds = run_module.Run.holds
    monkeypatch.setattr(run_module.Run, "holds", lambda self, path, *a: asked.append(path) or holds(self, path, *a))
    # Nothing changed: the manifest holds the same bytes and is kept (read back to know it).
    manifest = (out / "manifest.json").stat()
    _compile(catalog, out, cache_dir)
    assert "manifest.json" in asked and (out / "manifest.json").stat().st_ino == manifest.st_ino
    # A threshold edited: its rules file is written, the manifest lists its new hash and is
    # written without reading the output's.
    asked.clear()
    edited = catalog / "svc0001.yaml"
    edited.write_text(re.sub(r"> 0\.0\d", "> 0.09", edited.read_text(), count=1))
    _same_as_clean(catalog, out, cache_dir, "a threshold edited")
    assert "manifest.json" not in asked
    assert (out / "manifest.json").stat().st_ino != manifest.st_ino


def test_the_cache_keeps_a_services_route_tests_as_their_block_and_manifest_lines_that_render_as_computed(
        tmp_path: Path) -> None:
    # An unchanged service's route tests come back from the cache without their cases (the block
    # of the test file rendered, one text) and without their objects (the block of their manifest
    # lines): the test file and its manifest lines are those of the tests as computed.
    from compiler.incremental.stored import StoredLines
    from compiler.render import Splice, render
    from compiler.targets import alertmanager

    catalog = pipeline.analyse(CATALOG).catalog
    tested = 0
    for service in catalog.services:
        computed = alertmanager._route_tests(catalog, service)
        stored = pickle.loads(pickle.dumps(alertmanager._stored_tests(computed), protocol=pickle.HIGHEST_PROTOCOL))
        assert bool(stored[1]) == bool(computed[0])  # the build keeps a service's tests by its objects
        assert all(type(o) is StoredLines for o in stored[1]) and not stored[0]  # no case kept
        assert len(stored[0].lines("")) <= 1
        both = [Artifact(alertmanager.TESTS, {"config": "alertmanager.yaml", "tests": [tests]}, "yaml",
                         tuple(objects), alertmanager.HEADER) for tests, objects in (computed, stored)]
        assert render(both[1]) == render(both[0])
        assert manifest_chunks(both[1]) == manifest_chunks(both[0])
        tested += len(computed[1])
    assert tested > 10
    # What a compile with the cache stores is that form, and the next compile, reusing it, writes
    # what a clean compile writes.
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog_dir)
    cache = Cache.open(catalog_dir, tmp_path / "out", tmp_path / "cache")
    assert cache is not None
    first = pipeline.compile_catalog(catalog_dir, cache=cache)
    output.write(tmp_path / "out", first, cache, lambda: pipeline.compile_catalog(catalog_dir))
    kept = [unpack(values["alertmanager.tests"]) for values in cache.run.pending.values()]
    assert kept and all(not tests and all(type(o) is StoredLines for o in objects) for tests, objects in kept)
    _same_as_clean(catalog_dir, tmp_path / "out", tmp_path / "cache", "reusing the stored route tests")
    # Kept only at the top level: asked for another indentation, it fails rather than render nothing.
    bare = Splice([{"name": "a"}]).bare()
    with pytest.raises(ValueError):
        bare.lines("  ")


def _recording(check, seen: set):
    def wrapped(catalog, artifacts, *args):
        for art in artifacts:
            if cross_target.reads(art) or datadog_output.reads(art):
                seen.add((art.path, tuple(o.id for o in art.objects)))
        return check(catalog, artifacts, *args)
    return wrapped


def test_with_the_cache_the_cross_checks_read_every_rule_and_monitor_they_read_without_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With the cache, what no cross check reads goes to the form the write needs as soon as its
    # target made it: the checks still get, whole, every artifact they read without the cache.
    catalog = tmp_path / "catalog"
    _small_synthetic(catalog)
    seen: dict[str, set] = {"clean": set(), "cached": set()}
    monkeypatch.setattr(pipeline, "CROSS_CHECKS", tuple(_recording(c, seen["clean"]) for c in pipeline.CROSS_CHECKS))
    monkeypatch.setattr(pipeline, "PER_SERVICE_CHECKS",
                        tuple(_recording(c, seen["cached"]) for c in pipeline.PER_SERVICE_CHECKS))
    made: list = []
    grafana_build = next(t for t in pipeline.TARGETS if t.__module__ == "compiler.targets.grafana")

    def grafana(catalog):  # noqa: ANN001, ANN202
        artifacts, diags = grafana_build(catalog)
        made.extend(artifacts)
        return artifacts, diags

    monkeypatch.setattr(pipeline, "TARGETS", tuple(grafana if t is grafana_build else t for t in pipeline.TARGETS))
    diags, files = _compile(catalog, tmp_path / "out", tmp_path / "cache")
    cached = list(made)
    assert (diags, files) == _clean(catalog)
    assert seen["cached"] == seen["clean"]
    assert any(p.startswith("datadog/monitors/") for p, _ in seen["clean"])
    assert any(p.startswith("grafana/alerting/") for p, _ in seen["clean"])
    # What the Grafana target gave with the cache: its services' dashboards light already, their
    # alert rules whole (for the checks).
    dashboards = [a for a in cached if a.path.startswith("grafana/dashboards/")]
    assert dashboards and all(type(a) is RenderedArtifact for a in dashboards)
    assert {a.path for a in cached if type(a) is Artifact} >= {p for p, _ in seen["clean"] if p.startswith("grafana/")}


def test_a_value_that_holds_nothing_to_let_go_of_comes_back_as_it_is() -> None:
    # Once the checks ran, every value a target computes goes through Run._lightened: a value
    # holding no artifact to make light (a named tuple of facts, the artifacts a check reads)
    # is the same object, not a copy of another type.
    class Pair(NamedTuple):
        a: int
        b: list

    run = run_module.Run.__new__(run_module.Run)
    kept = Artifact("prometheus/svc.rules.yaml", {"groups": []}, "yaml")
    value = (Pair(1, [2]), [Pair(3, [kept])], kept)
    assert run._lightened(value, lambda art: True) is value
    assert type(run._lightened(Pair(1, [2]), None)) is Pair


def test_the_write_keeps_unchanged_services_files_only_as_recorded_with_their_hashes() -> None:
    # The write takes the files of unchanged services from their groups in the record of the
    # output without a step per file: each must be recorded, with the hash the service's record
    # gives; else nothing is kept and the compile runs again careful. A group's file the
    # services' values do not name (a file a catalog-wide step made in its place) is not kept
    # blindly: it joins the record's other files, which the write compares with what it made.
    record = output_record.OutputRecord(
        {"s1": output_record.group([("a.yaml", ("h1", 10, 7, 99)), ("b/c.json", ("h2", 20, 8, 98))]),
         "s2": output_record.group([("d.yaml", ("h4", 30, 6, 96))])},
        {"manifest.json": ("", 5, 9, 97)})
    others: dict = {}
    kept = output._unchanged(record, ["s1", "s2"], {"b/c.json": "h2", "a.yaml": "h1", "d.yaml": "h4"}, others)
    assert kept is not None and others == {}
    assert {path: kept.state(path) for path in kept} == {
        "a.yaml": ("h1", 10, 7, 99), "b/c.json": ("h2", 20, 8, 98), "d.yaml": ("h4", 30, 6, 96)}
    kept = output._unchanged(record, ["s1"], {"a.yaml": "h1"}, others)
    assert kept is not None and list(kept) == ["a.yaml"] and others == {"b/c.json": ("h2", 20, 8, 98)}
    assert output._unchanged(record, [], {}, {}) == {}
    assert output._unchanged(record, ["s1"], {"a.yaml": "h1", "gone.yaml": "h3"}, {}) is None
    assert output._unchanged(record, ["s1"], {"a.yaml": "h1", "b/c.json": "other"}, {}) is None
    assert output._unchanged(record, ["s2"], {"a.yaml": "h1"}, {}) is None  # another service's file


def test_a_services_files_are_on_disk_only_while_its_group_in_the_output_record_holds_exactly_them(
        tmp_path: Path) -> None:
    # A service's record keeps its files as two joined strings, compared whole with its group
    # in the output's record: another path, another hash, one file more or less, or another
    # service's group is not on disk; careful, each file's status must be the one recorded.
    out = tmp_path / "out"
    (out / "p").mkdir(parents=True)
    for name in ("a.yaml", "b.yaml"):
        (out / "p" / name).write_text(name)
    states = [(f"p/{n}", (f"h{n}", (out / "p" / n).lstat().st_size, (out / "p" / n).lstat().st_mtime_ns,
                          (out / "p" / n).lstat().st_ino)) for n in ("a.yaml", "b.yaml")]
    run = run_module.Run.__new__(run_module.Run)
    run.out, run.careful = out, False
    run.out_record = output_record.OutputRecord({"s1": output_record.group(states)}, {})
    files = run_module._files([(path, state[0]) for path, state in states])
    assert run._on_disk("s1", files)
    assert not run._on_disk("s2", files)
    assert not run._on_disk("s1", run_module._files([("p/a.yaml", "ha.yaml")]))
    assert not run._on_disk("s1", run_module._files([("p/a.yaml", "ha.yaml"), ("p/b.yaml", "other")]))
    assert not run._on_disk("s1", run_module._files([("p/a.yaml", "ha.yaml"), ("p/c.yaml", "hb.yaml")]))
    assert run._on_disk("s2", run_module._files([]))  # a service without files
    run.careful = True
    assert run._on_disk("s1", files)
    (out / "p" / "b.yaml").write_text("edited by hand")
    assert not run._on_disk("s1", files)


@pytest.mark.parametrize("files", [[("p/a.yaml", "h")], ("p/a.yaml", "h", "x"), ("p/a.yaml", b"h"), None])
def test_a_services_record_whose_files_are_of_another_shape_is_a_miss(files: object) -> None:
    # An older moncat's record listed (path, hash) pairs; any other shape is no record either.
    record = {"values": {"v": (0, 1)}} if files is None else {"values": {"v": (0, 1)}, "files": files}
    assert run_module._values((record, memoryview(b"x"))) is None
    assert run_module._values(({"values": {"v": (0, 1)}, "files": ("p/a.yaml", "h")}, memoryview(b"x"))) is not None


def test_the_write_checks_each_kept_file_against_the_status_its_record_holds(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    for name in ("a", "b"):
        (root / name).write_text(name)
    stats = {n: (root / n).lstat() for n in ("a", "b")}
    flat = array("q", [x for n in ("a", "b") for x in (stats[n].st_size, stats[n].st_mtime_ns, stats[n].st_ino)])
    recorded = writer.Recorded([("a", 0), ("b", 3)], {"a": "ha", "b": "hb"}, flat)
    assert recorded.state("b") == ("hb", stats["b"].st_size, stats["b"].st_mtime_ns, stats["b"].st_ino)
    states = {n: recorded.state(n) for n in ("a", "b")}
    assert {n: writer.Recorded.of(states).state(n) for n in ("a", "b")} == states
    found = writer._still_as_recorded(str(root) + os.sep, recorded)
    assert found is not None and [s.st_ino for s in found] == [stats["a"].st_ino, stats["b"].st_ino]
    recorded.keep("c", ("hc", 1, 2, 3))  # one the write made as it was, recorded otherwise
    assert recorded.state("c") == ("hc", 1, 2, 3)
    assert writer._still_as_recorded(str(root) + os.sep, recorded) is None
    del recorded["c"]
    (root / "b").write_text("changed")
    assert writer._still_as_recorded(str(root) + os.sep, recorded, keep=False) is None


def test_an_unchanged_services_files_come_back_as_stored_files_per_folder_and_its_suppressed_monitors_as_themselves(
        tmp_path: Path) -> None:
    # svc0001's Alert000 is suppressed by svc0000's: with svc0002 edited, both come back from the
    # cache. Their files come back as StoredFiles (a folder's paths, hashes and manifest lines),
    # but the suppressed alert's monitor, which the Datadog target replaces by its composite; its
    # monitors' index holds that monitor alone, Grafana's uids hold plain positions; and the
    # output is the clean compile's. (Their record lists the composite, the file written at that
    # path: listing the monitor, such a group was never reused.)
    from compiler.incremental.stored import StoredFiles

    catalog, out, cache, result = _svc0002_edited(tmp_path)
    blocks: dict[str, list[StoredFiles]] = {}
    for art in result.artifacts:
        if type(art) is StoredFiles:
            blocks.setdefault(art.service, []).append(art)
    assert {"svc0000", "svc0001"} <= blocks.keys() and "svc0002" not in blocks
    for block in [b for found in blocks.values() for b in found]:
        assert list(block.paths) == sorted(block.paths) and len(block.paths) == len(block.hashes)
        assert len({p.rpartition("/")[0] for p in block.paths}) == 1 and block.path == block.paths[0]
    folders = {b.path.rpartition("/")[0] for b in blocks["svc0001"]}
    assert {"datadog/monitors/svc0001", "runbooks/svc0001/alerts", "prometheus", "grafana/alerting"} <= folders
    paths = [p for b in blocks["svc0001"] for p in b.paths]
    assert len(folders) == len(blocks["svc0001"]) < len(paths)  # a block per folder
    assert "datadog/monitors/svc0001/Alert000.json" not in paths
    stored = unpack(cache.run.clean["svc0001"]["datadog"])
    assert list(stored[2]) == ["svc0001/Alert000"]
    assert [a.path for a in stored[0] if type(a) is not StoredFiles] == ["datadog/monitors/svc0001/Alert000.json"]
    kept = unpack(cache.run.clean["svc0000"]["grafana"])[2]  # the uids as the check reads them
    uids = kept.entries()
    assert uids and all(len(u) == 7 and u[4] == "svc0000.yaml" and type(u[5]) is int for u in uids)
    assert sorted(uid for _, found in kept.kinds for uid in found) == sorted(u[1] for u in uids)
    output.write(out, result, cache, lambda: pipeline.compile_catalog(catalog))
    clean = _clean(catalog)[1]
    assert clean is not None
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == clean
