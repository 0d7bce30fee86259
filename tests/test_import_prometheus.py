"""`moncat import prometheus`: public rule files and kubernetes-mixin's evaluated rules become a
catalog that compiles back to the same rules, with examples promtool proves."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from compiler.importers import roundtrip, rules
from conftest import ROOT, SHARED, run_moncat, tree_bytes
from import_helpers import analysed, compile_errors, compiled_rules, promtool_check, prove_examples

CORPUS = SHARED / "corpora" / "awesome-prometheus-alerts" / "dist" / "rules"
KUBE = ROOT / "tests" / "fixtures" / "kubernetes-mixin"
# A fixed sample of the corpus (the whole of it runs in tests/benchmarks/bench_import.py):
# ratios, rates, absent(), quantiles, `and`/`unless`, on()/group_left, long `for`s.
SAMPLE = ["minio/embedded-exporter.yml", "thanos/thanos-component-absent.yml",
          "kafka/danielqsj-kafka-exporter.yml", "haproxy/embedded-exporter-v2.yml",
          "host-and-hardware/node-exporter.yml", "zookeeper/cloudflare-kafka-zookeeper-exporter.yml"]


def _import(tmp: Path, *args: str) -> Path:
    return _imported(tmp, *args)[0]


def _imported(tmp: Path, *args: str) -> tuple[Path, dict[str, int]]:
    """The catalog written, and the counts the import printed (alerts, synthesised, proven, pending)."""
    out = tmp / "catalog"
    done = run_moncat("import", "prometheus", *args, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    found = re.search(r": (\d+) alerts .*examples: (\d+) synthesised, (\d+) proven by promtool, "
                      r"(\d+) pending", done.stdout)
    assert found, done.stdout
    return out, dict(zip(("alerts", "synthesised", "proven", "pending"), map(int, found.groups())))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, list[rules.Rule]]:
    tmp = tmp_path_factory.mktemp("sample")
    src = tmp / "rules"
    for rel in SAMPLE:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / rel, src / rel)
    read = rules.read([src], rules.Grouping())
    return _import(tmp, str(src)), read.rules


@pytest.fixture(scope="module")
def kube(tmp_path_factory) -> tuple[Path, list[rules.Rule], dict[str, int]]:
    tmp = tmp_path_factory.mktemp("kube")
    files = [KUBE / "prometheus_alerts.yaml", KUBE / "prometheus_rules.yaml"]
    read = rules.read(files, rules.Grouping("kubernetes"))
    out, counts = _imported(tmp, *map(str, files), "--service", "kubernetes")
    return out, read.rules, counts


def test_the_sample_compiles_back_to_the_same_rules(sample) -> None:
    out, source = sample
    verdict = roundtrip.compare(source, compiled_rules(analysed(out)))
    assert verdict.differences == []
    assert verdict.identical == len(source) > 50
    # moncat adds its routing label and the runbook page, nothing else.
    assert set(verdict.added) == {"label service", "annotation runbook_url"}


def test_promtool_accepts_the_compiled_sample_and_proves_its_examples(sample, promtool, tmp_path) -> None:
    out, _ = sample
    catalog = analysed(out)
    check = promtool_check(promtool, catalog, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    count, run = prove_examples(promtool, catalog, tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    pending = sum(a.examples_pending for s in catalog.services for a in s.alerts.values())
    alerts = sum(len(s.alerts) for s in catalog.services)
    assert count == 2 * (alerts - pending) and alerts - pending > 0.7 * alerts


def test_the_sample_validates_with_its_examples_annotations_rendered(sample) -> None:
    # `moncat validate` runs every example's generated test under promtool, annotations rendered
    # as Prometheus renders them: `{{ $labels }}` (with the metric name where the expression
    # keeps it), `{{ $value }}` and `humanize` in the source annotations included.
    out, _ = sample
    assert compile_errors(out) == []
    done = run_moncat("validate", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    catalog = analysed(out)
    proven = sum(2 for s in catalog.services for a in s.alerts.values() if not a.examples_pending)
    assert f"valid; {proven} examples checked with promtool" in done.stdout


def test_kubernetes_mixin_round_trips_with_names_recorded_several_times(kube, promtool, tmp_path) -> None:
    out, source, counts = kube
    catalog = analysed(out)
    svc = catalog.service("kubernetes")
    alerts = [r for r in source if r.kind == "alert"]
    records = [r for r in source if r.kind == "record"]
    assert (len(alerts), len(records)) == (65, 71)
    assert len(svc.recording_rules) < len(records)  # names several rules record stay one entry
    assert sum(len(r.definitions()) for r in svc.recording_rules.values()) == 71
    shared = [a for a in svc.alerts.values() if a.alertname]  # 6 names, each defined 2 to 4 times
    assert len({a.alertname for a in shared}) == 6
    verdict = roundtrip.compare(source, compiled_rules(catalog))
    assert verdict.differences == []
    assert verdict.identical == 136 and dict(verdict.added) == {"label service": 65}
    linked = {r.name for r in alerts if dict(r.annotations).get("runbook_url")}
    assert len(linked) > 50 and {a.rule_name for a in svc.alerts.values() if a.runbook_url} == linked
    check = promtool_check(promtool, catalog, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    count, run = prove_examples(promtool, catalog, tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    # What the import printed is what it wrote: every proven alert has a fires and a quiet
    # example (promtool passes them against the compiled rules), every other one is pending.
    pending = sum(a.examples_pending for a in svc.alerts.values())
    assert counts["alerts"] == 65 and counts["pending"] == pending == 65 - counts["proven"]
    assert counts["proven"] <= counts["synthesised"] and count == 2 * counts["proven"] >= 2 * 50


def test_every_imported_object_names_its_source_line(kube) -> None:
    out, source, _ = kube
    text = (out / "kubernetes" / "kubernetes.yaml").read_text()
    data = yaml.safe_load(text)
    for rule in source:
        assert f"# from {rule.origin}" in text or f"{rule.origin}" in text, rule.name
    lines = text.splitlines()
    for key in data["alerts"]:
        at = lines.index(f"  {key}:")
        assert lines[at - 1].startswith("  # from "), key
    first = next(r for r in source if r.name == "KubePodCrashLooping")
    assert yaml.safe_load(KUBE.joinpath("prometheus_alerts.yaml").read_text().splitlines()[first.origin.line - 1]
                          .strip().removeprefix("- ")) == {"alert": "KubePodCrashLooping"}


def test_every_rule_of_the_whole_corpus_compiles_back_to_the_same_rule(promtool, tmp_path) -> None:
    # All 112 files, without examples (their synthesis and proof run in bench_import.py).
    out, counts = _imported(tmp_path, str(CORPUS), "--no-examples")
    source = rules.read([CORPUS], rules.Grouping()).rules
    assert len(list(CORPUS.rglob("*.yml"))) == 112 and counts["alerts"] == len(source) == 954
    catalog = analysed(out)
    verdict = roundtrip.compare(source, compiled_rules(catalog))
    assert verdict.differences == []
    assert verdict.identical == 954
    assert dict(verdict.added) == {"label service": 954, "annotation runbook_url": 954}
    check = promtool_check(promtool, catalog, tmp_path)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert check.stdout.count("SUCCESS: ") == len(catalog.services) == 111  # one file is empty


def test_importing_twice_gives_the_same_bytes(tmp_path) -> None:
    src = CORPUS / "minio" / "embedded-exporter.yml"
    first = tree_bytes(_import(tmp_path / "a", str(src)))
    again = run_moncat("import", "prometheus", str(src), "--out", str(tmp_path / "a" / "catalog"))
    assert again.returncode == 0, again.stderr
    assert tree_bytes(tmp_path / "a" / "catalog") == first
    assert tree_bytes(_import(tmp_path / "b", str(src))) == first


def _e2e_catalog(tmp: Path) -> tuple[Path, dict[str, bytes], str]:
    """A copy of the e2e catalog, its bytes, and a contact it has (to own imported alerts)."""
    catalog = tmp / "catalog"
    shutil.copytree(ROOT / "tests" / "e2e" / "catalog", catalog)
    contact = sorted(yaml.safe_load((catalog / "moncat.yaml").read_text()).get("contacts", {}))[0]
    return catalog, tree_bytes(catalog), contact


def test_into_merges_into_an_existing_catalog_and_refuses_collisions(tmp_path) -> None:
    catalog, before, contact = _e2e_catalog(tmp_path)
    src = CORPUS / "minio" / "embedded-exporter.yml"
    done = run_moncat("import", "prometheus", str(src), "--into", str(catalog), "--owner", contact)
    assert done.returncode == 0, done.stderr
    added = set(tree_bytes(catalog)) - set(before)
    assert added == {"embedded-exporter/embedded-exporter.yaml"}
    assert run_moncat("validate", str(catalog)).returncode == 0
    merged = tree_bytes(catalog)
    again = run_moncat("import", "prometheus", str(src), "--into", str(catalog), "--owner", contact)
    assert again.returncode == 1
    assert "MC810" in again.stderr and "embedded-exporter/MinioClusterDiskOffline" in again.stderr
    assert "is already in the catalog" in again.stderr and "Traceback" not in again.stderr
    assert tree_bytes(catalog) == merged


EITHER = """groups:
- name: g
  rules:
  - alert: EitherBad
    expr: foo_temp > 80 or foo_fan_rpm < 100
    annotations: {description: "LABELS = {{ $labels }}"}
  - alert: ErrorsOrHot
    expr: rate(foo_errors_total[5m]) > 1 or foo_temp > 200
    annotations: {description: "LABELS = {{ $labels }}"}
  - alert: OnlyInstance
    expr: foo_temp > 80 or foo_fan_rpm < 100
    annotations: {description: "on {{ $labels.instance }}"}
"""


def test_an_example_states_the_metric_name_its_series_leave_open(tmp_path) -> None:
    # With both series given, which side of `or` fires (and so which metric name `$labels`
    # holds, if any) is what promtool saw; the example states it where a template reads it.
    (tmp_path / "rules.yaml").write_text(EITHER)
    out = _import(tmp_path, str(tmp_path / "rules.yaml"))
    alerts = yaml.safe_load((out / "rules" / "rules.yaml").read_text())["alerts"]
    named = {k: a["examples"]["fires"].get("labels", {}).get("__name__") for k, a in alerts.items()}
    both = {k for k, a in alerts.items() if len(a["examples"]["fires"]["series"]) == 2}
    assert both == set(alerts)  # the search gave every example both sides' series
    assert named["EitherBad"] in ("foo_temp", "foo_fan_rpm") and named["ErrorsOrHot"] in ("", "foo_temp")
    assert named["OnlyInstance"] is None  # its template reads no name
    done = run_moncat("validate", str(out))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "valid; 6 examples checked with promtool" in done.stdout


CRD = """apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: api}
spec:
  groups:
  - name: api
    rules:
    - alert: ApiDown
      expr: up{job="api"} == 0
      for: 5m
      keep_firing_for: 10m
      labels: {severity: critical, team: web}
      annotations: {summary: API down}
"""
RULER = """billing:
- name: billing-alerts
  rules:
  - alert: InvoicesStuck
    expr: sum(invoices_pending) > 100
    labels: {severity: warning, service: invoicing}
    annotations: {summary: Invoices stuck}
- name: billing-records
  rules:
  - record: job:invoices:sum
    expr: sum by (job) (invoices_pending)
"""


def test_crds_and_ruler_exports_import_with_their_services(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "api.yaml").write_text(CRD)
    (src / "ruler.yaml").write_text(RULER)
    out = tmp_path / "catalog"
    done = run_moncat("import", "prometheus", str(src / "api.yaml"), str(src / "ruler.yaml"),
                      "--out", str(out), "--no-examples")
    assert done.returncode == 0, done.stderr
    catalog = analysed(out)
    api = catalog.service("api").alerts["ApiDown"]
    assert (api.for_ms, api.keep_firing_for_ms, dict(api.labels)) == (300_000, 600_000, {"team": "web"})
    # a `service` label names the service (moncat writes that label itself); else the namespace
    assert set(catalog.service("invoicing").alerts) == {"InvoicesStuck"}
    assert set(catalog.service("billing").recording_rules) == {"job:invoices:sum"}
    verdict = roundtrip.compare(rules.read([src], rules.Grouping()).rules, compiled_rules(catalog))
    assert verdict.differences == [] and verdict.identical == 3


def test_ctrl_c_while_an_import_into_validates_leaves_the_catalog_as_it_was(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    catalog, before, contact = _e2e_catalog(tmp_path)
    imported = catalog / "embedded-exporter" / "embedded-exporter.yaml"
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "import", "prometheus",
                             str(CORPUS / "minio" / "embedded-exporter.yml"), "--into", str(catalog),
                             "--owner", contact], start_new_session=True, text=True, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not imported.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    if proc.poll() is not None:
        proc.communicate(timeout=60)
        pytest.skip("the import ended before its validation could be interrupted")
    os.killpg(proc.pid, signal.SIGINT)  # the file is in the catalog: the validation is under way
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "moncat: interrupted" and "Traceback" not in err
    assert tree_bytes(catalog) == before
    assert not (catalog / "embedded-exporter").exists()
