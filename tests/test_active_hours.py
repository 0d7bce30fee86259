"""Active hours: named time intervals (`active_during` / `muted_during`) compile to Alertmanager
`time_intervals` on the alert's routes and to Grafana mute timings on its policies; the examples
that say when they happen (`at:` a wall-clock time) are muted at night and delivered by day in a
real Alertmanager 0.25; the runbook page says the hours in the service's language."""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from alertmanager_run import Alertmanager, Sink, for_loopback, wait_for, zoneinfo_at
from compiler import pipeline
from compiler.time_intervals import contains, parse_spec, wall_clock
from conftest import ROOT, compile_into, run_moncat

DISPATCH = ROOT / "tests" / "dispatch" / "catalog"


@pytest.fixture(scope="module")
def dispatch(tmp_path_factory) -> Path:
    return compile_into(DISPATCH, tmp_path_factory.mktemp("dispatch") / "out")


def _yaml(out: Path, path: str):
    return yaml.safe_load((out / path).read_text())


def test_the_alerts_route_carries_its_active_and_muted_intervals(dispatch) -> None:
    config = _yaml(dispatch, "alertmanager/alertmanager.yaml")
    found = []

    def walk(node):
        if "active_time_intervals" in node or "mute_time_intervals" in node:
            found.append((node["matchers"], node.get("active_time_intervals"), node.get("mute_time_intervals")))
        for child in node.get("routes", []):
            walk(child)

    walk(config["route"])
    assert found == [(['alertname="NoOrders"'], ["jam-operasional"], ["maintenance"])]
    intervals = {t["name"]: t["time_intervals"] for t in config["time_intervals"]}
    assert intervals["jam-operasional"] == [
        {"times": [{"start_time": "07:00", "end_time": "23:00"}], "location": "Asia/Jakarta"}]


def test_amtool_accepts_the_configuration_and_routes_every_alert(dispatch) -> None:
    am = dispatch / "alertmanager"
    proc = subprocess.run(["amtool", "check-config", "alertmanager.yaml"], cwd=am, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for case in _yaml(dispatch, "alertmanager/routes.tests.yaml")["tests"]:
        labels = [f"{k}={v}" for k, v in sorted(case["labels"].items())]
        proc = subprocess.run(["amtool", "config", "routes", "test", "--config.file=alertmanager.yaml",
                               f"--verify.receivers={','.join(case['receivers'])}", *labels],
                              cwd=am, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, (case["name"], proc.stdout)


def test_grafana_mute_timings_are_alertmanagers_intervals_and_amtool_reads_them(dispatch, tmp_path) -> None:
    timings = _yaml(dispatch, "grafana/alerting/_mute-timings.yaml")["muteTimes"]
    config = _yaml(dispatch, "alertmanager/alertmanager.yaml")
    assert [{k: v for k, v in t.items() if k != "orgId"} for t in timings] == config["time_intervals"]
    # Grafana's mute timings are Alertmanager's timeinterval type: its parser is the judge.
    check = {"route": {"receiver": "x"}, "receivers": [{"name": "x"}],
             "time_intervals": [{"name": t["name"], "time_intervals": t["time_intervals"]} for t in timings]}
    (tmp_path / "check.yaml").write_text(yaml.safe_dump(check))
    proc = subprocess.run(["amtool", "check-config", str(tmp_path / "check.yaml")], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    policies = _yaml(dispatch, "grafana/alerting/_policies.yaml")["policies"][0]
    names = []

    def walk(node):
        names.extend(node.get("active_time_intervals", []) + node.get("mute_time_intervals", []))
        for child in node.get("routes", []):
            walk(child)

    walk(policies)
    assert sorted(names) == ["jam-operasional", "maintenance"]


def test_promtool_runs_the_rule_tests_the_wall_clock_examples_included(dispatch) -> None:
    proc = subprocess.run(["promtool", "test", "rules", "dispatch.tests.yaml"], cwd=dispatch / "prometheus",
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


WALL_CLOCK = [("2024-01-08T03:00:00+07:00", False), ("2024-01-08T12:00:00+07:00", True),
              ("2024-01-07T08:00:00+07:00", False), ("2024-01-07T10:00:00+07:00", True)]


def test_the_route_tests_say_which_examples_are_notified(dispatch) -> None:
    cases = {c["name"]: c for c in _yaml(dispatch, "alertmanager/routes.tests.yaml")["tests"]}
    assert cases["dispatch/NoOrders"]["at"] == [
        {"time": "2024-01-08T12:00:00+07:00", "notified": True},
        {"time": "2024-01-08T03:00:00+07:00", "notified": False}]
    assert cases["dispatch/CitySurgeHigh"]["receivers"] == ["moncat-silent"]


@pytest.mark.parametrize("moment,notified", WALL_CLOCK, ids=[m for m, _ in WALL_CLOCK])
def test_a_real_alertmanager_mutes_at_night_and_delivers_by_day(dispatch, tmp_path, moment, notified) -> None:
    """Monday 03:00 is outside 07:00-23:00; Sunday 08:00 is inside it but also inside the
    maintenance window; Monday 12:00 and Sunday 10:00 are active and not muted. NoCourier, which
    has no hours, is the control: it must arrive every time."""
    if not shutil.which("zic"):
        pytest.fail("zic is missing (Debian's libc-bin)")
    zones = zoneinfo_at(tmp_path, "Asia/Jakarta", wall_clock(moment))
    with Sink() as sink:
        config = for_loopback(_yaml(dispatch, "alertmanager/alertmanager.yaml"), sink.url)
        am = Alertmanager(config, tmp_path, env={**os.environ, "ZONEINFO": str(zones)})
        try:
            labels = {"service": "dispatch", "team": "dispatch", "severity": "P1", "city": "jakarta"}
            am.post([{"labels": {**labels, "alertname": "NoOrders"}},
                     {"labels": {**labels, "alertname": "NoCourier"}}])
            assert wait_for(lambda: ("NoCourier", "jakarta") in sink.names()), am.log.read_text()
            wait_for(lambda: ("NoOrders", "jakarta") in sink.names(), seconds=4)
            assert (("NoOrders", "jakarta") in sink.names()) is notified
        finally:
            am.stop()


@pytest.mark.parametrize("spec,moment,inside", [
    ({"times": ["07:00-23:00"], "location": "Asia/Jakarta"}, "2024-01-08T22:59:00+07:00", True),
    ({"times": ["07:00-23:00"], "location": "Asia/Jakarta"}, "2024-01-08T23:00:00+07:00", False),
    ({"times": ["22:00-06:00"]}, "2024-01-08T05:59:00Z", True),
    ({"times": ["22:00-06:00"]}, "2024-01-08T12:00:00Z", False),
    ({"weekdays": ["monday:friday"], "location": "Asia/Jakarta"}, "2024-01-07T23:30:00Z", True),
    ({"weekdays": ["saturday", "sunday"]}, "2024-01-08T00:00:00Z", False),
    ({"days_of_month": ["-1"]}, "2024-02-29T10:00:00Z", True),
    ({"days_of_month": ["-3:-2"]}, "2024-02-29T10:00:00Z", False),
    ({"months": ["december:december", "1:2"]}, "2024-02-10T10:00:00Z", True),
    ({"years": ["2023"]}, "2024-02-10T10:00:00Z", False),
])
def test_when_a_moment_is_inside_an_interval(spec, moment, inside) -> None:
    assert contains((parse_spec(spec),), wall_clock(moment)) is inside


def test_the_alert_page_states_the_hours_in_the_services_language(dispatch) -> None:
    page = (dispatch / "runbooks" / "dispatch" / "alerts" / "NoOrders.md").read_text()
    assert "**Hanya memberi tahu pada `jam-operasional`:** setiap hari, 07:00–23:00 (Asia/Jakarta)" in page
    assert "**Tidak memberi tahu siapa pun pada `maintenance`:** Minggu, 07:00–09:00 (Asia/Jakarta)" in page
    html = (dispatch / "site" / "dispatch" / "alerts" / "NoOrders.html").read_text()
    assert "setiap hari, 07:00–23:00 (Asia/Jakarta)" in html


BAD = [
    # (case, old text, new text, code, what the message or hint says, text on the reported line)
    ("unknown-interval", "    active_during: [jam-operasional]\n", "    active_during: [jam-operasinal]\n",
     "MC481", "did you mean 'jam-operasional'?", "active_during"),
    ("bad-time", '    times: ["07:00-23:00"]', '    times: ["07:00-25:00"]', "MC480", "HH:MM", "07:00-25:00"),
    ("empty-range", '    times: ["07:00-23:00"]', '    times: ["07:00-07:00"]', "MC480", "empty", "07:00-07:00"),
    ("bad-weekday", "    weekdays: [sunday]", "    weekdays: [sundae]", "MC480", "sundae", "sundae"),
    ("weekday-range-with-a-dash", "    weekdays: [sunday]", "    weekdays: [Monday-Friday]", "MC480",
     "'Monday-Friday' is a range: write it monday:friday", "Monday-Friday"),
    ("bad-zone", "    location: Asia/Jakarta\n    times", "    location: Asia/Jakrta\n    times", "MC480",
     "IANA time zone", "Asia/Jakrta"),
    ("alertmanager-0.23", 'alertmanager: {version: "0.25"}', 'alertmanager: {version: "0.23"}', "MC460",
     "0.24", '"0.23"'),
]


@pytest.mark.parametrize("case,old,new,code,says,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_active_hours_are_reported_at_their_position(tmp_path, case, old, new, code, says, needle) -> None:
    shutil.copytree(DISPATCH, tmp_path / "catalog")
    for name in ("moncat.yaml", "dispatch.yaml"):
        path = tmp_path / "catalog" / name
        text = path.read_text()
        if old in text:
            path.write_text(text.replace(old, new, 1))
            break
    else:
        pytest.fail(f"{old!r} is in no catalog file")
    proc = run_moncat("validate", str(tmp_path / "catalog"), "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = [d for d in yaml.safe_load(proc.stdout) if d["severity"] == "error"]  # not MC714's warning
    assert [d["code"] for d in found] == [code], found
    assert says in found[0]["message"] + found[0]["hint"]
    line = (tmp_path / "catalog" / found[0]["file"]).read_text().splitlines()[found[0]["line"] - 1]
    assert needle in line[found[0]["column"] - 1:] or needle in line, (line, found[0])


def _check_after(change) -> list[str]:
    from compiler.checks import routing_parity
    result = pipeline.compile_catalog(DISPATCH)
    artifacts = copy.deepcopy(result.artifacts)
    for art in artifacts:
        change(art.path, art.data)
    return [d.message for d in routing_parity.check(result.catalog, artifacts)]


def test_the_routing_check_compares_the_hours_of_both_targets() -> None:
    assert _check_after(lambda path, data: None) == []

    def drop_active(path, data):
        if path == "grafana/alerting/_policies.yaml":
            def walk(node):
                node.pop("active_time_intervals", None)
                for child in node.get("routes", []):
                    walk(child)
            walk(data["policies"][0])

    found = _check_after(drop_active)
    assert len(found) == 1 and "alert dispatch/NoOrders" in found[0] and "active jam-operasional" in found[0]

    def night_shift(path, data):
        if path == "grafana/alerting/_mute-timings.yaml":
            data["muteTimes"][0]["time_intervals"][0]["times"][0]["start_time"] = "06:00"

    assert _check_after(night_shift) == [
        "Alertmanager's time intervals and Grafana's mute timings differ: jam-operasional"]
