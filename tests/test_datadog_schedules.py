"""Datadog: active hours as recurring downtimes scoped to the monitor, suppressions as a
composite monitor `A && !B`; the payloads validate against the official OpenAPI v1 schemas, the
downtimes mute exactly the minutes Alertmanager's time intervals hold back, and messages speak
the service's language."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from compiler import pipeline
from compiler.targets.routing.hours import notified_at
from conftest import CATALOG, ROOT, compile_clean, run_moncat
from datadog_schemas import write_validators

DISPATCH = ROOT / "tests" / "dispatch" / "catalog"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # Python's weekday() order


@pytest.fixture(scope="module")
def dispatch() -> pipeline.Result:
    return compile_clean(DISPATCH)


@pytest.fixture(scope="module")
def validators():
    return write_validators("Monitor", "Downtime")


def _payloads(result, kind: str) -> dict[str, dict]:
    return {p: json.loads(b) for p, b in result.files.items() if p.startswith(f"datadog/{kind}/")}


def test_downtimes_and_the_composite_validate_against_the_official_schemas(dispatch, validators) -> None:
    downtimes = _payloads(dispatch, "downtimes")
    assert sorted(downtimes) == ["datadog/downtimes/dispatch/NoOrders.1.json",
                                 "datadog/downtimes/dispatch/NoOrders.2.json"]
    monitors = _payloads(dispatch, "monitors")
    assert monitors["datadog/monitors/dispatch/NoCourier.json"]["type"] == "composite"
    for kind, payloads in (("Downtime", downtimes), ("Monitor", monitors)):
        for path, body in payloads.items():
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validators[kind].iter_errors(body)]
            assert errors == [], path
    assert list(validators["Downtime"].iter_errors({"start": "tonight"}))


def _muted_by(downtimes: list[dict], moment: datetime) -> bool:
    """Whether one of the weekly recurring downtimes covers `moment`, as Datadog repeats them:
    the first occurrence's local start time and length, on each of `week_days`."""
    for body in downtimes:
        zone = ZoneInfo(body["timezone"])
        first = datetime.fromtimestamp(body["start"], zone)
        length = timedelta(seconds=body["end"] - body["start"])
        days = body.get("recurrence", {}).get("week_days") or [DAYS[first.weekday()]]
        local = moment.astimezone(zone)
        for back in range(8):
            day = (local - timedelta(days=back)).date()
            if DAYS[day.weekday()] not in days:
                continue
            start = datetime.combine(day, first.time(), zone)
            if start <= local < start + length:
                return True
    return False


def test_the_downtimes_mute_exactly_when_alertmanager_holds_the_notifications(dispatch) -> None:
    downtimes = list(_payloads(dispatch, "downtimes").values())
    service = dispatch.catalog.service("dispatch")
    alert = service.alerts["NoOrders"]
    moment = datetime(2024, 3, 4, tzinfo=timezone.utc)  # a Monday, 07:00 in Jakarta
    checked = 0
    while moment < datetime(2024, 3, 11, 1, tzinfo=timezone.utc):
        assert _muted_by(downtimes, moment) is not notified_at(dispatch.catalog, service, alert, moment), moment
        moment += timedelta(minutes=20)
        checked += 1
    assert checked > 500


def test_a_suppressed_alerts_monitor_tells_nobody_and_its_composite_does(dispatch) -> None:
    composite = json.loads(dispatch.files["datadog/monitors/dispatch/NoCourier.json"])
    own = json.loads(dispatch.files["datadog/monitors/dispatch/NoCourier.main.json"])
    assert composite["query"] == "${dispatch/nocourier.main} && !${dispatch/citysurgehigh}"
    assert composite["message"].endswith("@webhook-dispatch-oncall @dispatch-oncall@example.test")
    assert "moncat-id:dispatch/nocourier" in composite["tags"]
    assert "@" not in own["message"].replace("{{", "") and "moncat-id:dispatch/nocourier.main" in own["tags"]
    assert "alert ini ditahan selama dispatch/CitySurgeHigh menyala" in own["message"]
    condition = json.loads(dispatch.files["datadog/monitors/dispatch/CitySurgeHigh.json"])
    assert "@" not in condition["message"].replace("{{", "")  # a condition alert tells nobody
    # The query check reads the composite's references: every one is a monitor moncat wrote.
    from compiler.checks import datadog_output
    assert list(datadog_output.check(dispatch.catalog, dispatch.artifacts)) == []


def test_monitor_messages_speak_the_services_language(dispatch) -> None:
    monitor = json.loads(dispatch.files["datadog/monitors/dispatch/NoOrders.json"])["message"]
    assert "Pulih: Tidak ada order" in monitor and "respons dalam 15m" in monitor
    assert "Recovered" not in monitor
    seed = pipeline.compile_catalog(CATALOG)
    english = json.loads(seed.files["datadog/monitors/shop/ShopWebhookFailureRatioHigh.json"])["message"]
    assert "Recovered:" in english and "respond within" in english


def test_hours_datadog_cannot_repeat_weekly_are_refused_for_it_at_validate(tmp_path: Path) -> None:
    shutil.copytree(DISPATCH, tmp_path / "catalog")
    settings = tmp_path / "catalog" / "moncat.yaml"
    settings.write_text(settings.read_text().replace("    weekdays: [sunday]\n", "    months: [december]\n"))
    proc = run_moncat("validate", str(tmp_path / "catalog"), "--format", "json")
    found = [d for d in json.loads(proc.stdout) if d["severity"] == "error"]
    assert proc.returncode == 1 and [(d["code"], d["file"]) for d in found] == [("MC486", "dispatch.yaml")]
    line = (tmp_path / "catalog" / "dispatch.yaml").read_text().splitlines()[found[0]["line"] - 1]
    assert line.strip().startswith("active_during:")


def test_apply_creates_the_suppression_composite_with_its_monitors_ids_and_converges(tmp_path) -> None:
    import test_apply_datadog as dd
    from fakes.datadog_fake import FakeDatadog

    catalog = tmp_path / "catalog"
    shutil.copytree(DISPATCH, catalog)
    with FakeDatadog(dd.OPENAPI) as fake:
        run = dd.moncat(fake, catalog, "--yes")
        assert run.returncode == 0, run.stdout + run.stderr
        owned = dd.owned_monitors(fake)
        composite, own = owned["dispatch/nocourier"], owned["dispatch/nocourier.main"]
        surge = owned["dispatch/citysurgehigh"]
        assert composite["type"] == "composite"
        assert composite["query"] == f"{own['id']} && !{surge['id']}"
        again = dd.moncat(fake, catalog, "--yes")
        assert dd.plan_line(again).startswith("plan: 0 to create, 0 to update, 0 to delete")
        assert not fake.schema_errors


def test_apply_creates_the_downtimes_keeps_them_as_datadog_moves_them_on_and_prunes_them(tmp_path) -> None:
    """The downtimes are objects like the monitor: created (their first occurrence the next one,
    never a start in the past), unchanged while Datadog moves a recurring one's start and end on,
    updated when the hours change, and cancelled by --prune when the hours go."""
    import test_apply_datadog as dd
    from fakes.datadog_fake import FakeDatadog

    catalog = tmp_path / "catalog"
    shutil.copytree(DISPATCH, catalog)
    before = datetime.now(timezone.utc).timestamp()
    with FakeDatadog(dd.OPENAPI) as fake:
        first = dd.moncat(fake, catalog, "--yes")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "+ create downtime dispatch/NoOrders/downtime-1" in first.stdout
        live = {d["message"].rsplit("moncat-id: ", 1)[1].rstrip(")"): d for d in fake.live_downtimes()}
        assert sorted(live) == ["dispatch/NoOrders/downtime-1", "dispatch/NoOrders/downtime-2"]
        compiled = _payloads(dispatch_result(catalog), "downtimes")
        for n, downtime in live.items():
            want = compiled[f"datadog/downtimes/dispatch/NoOrders.{n[-1]}.json"]
            assert downtime["monitor_tags"] == ["moncat-id:dispatch/noorders"]
            assert downtime["start"] > before and downtime["start"] % 86400 == want["start"] % 86400
            assert downtime["end"] - downtime["start"] == want["end"] - want["start"]
            moment = datetime.fromtimestamp(downtime["start"] + 60, timezone.utc)
            assert _muted_by([want], moment) and _muted_by([downtime], moment)
        fake.advance_downtimes(3)
        again = dd.moncat(fake, catalog, "--yes")
        assert dd.plan_line(again).startswith("plan: 0 to create, 0 to update, 0 to delete")

        settings = catalog / "moncat.yaml"
        settings.write_text(settings.read_text().replace('times: ["07:00-23:00"]', 'times: ["06:00-23:00"]'))
        changed = dd.moncat(fake, catalog, "--yes")
        # The nights start an hour earlier: both weekly windows (the Sunday one runs into the
        # maintenance) change; the monitors do not.
        assert "~ update downtime dispatch/NoOrders/downtime-1: length_s, recurrence.week_days, starts_at" in changed.stdout
        assert dd.plan_line(changed).startswith("plan: 0 to create, 2 to update, 0 to delete"), changed.stdout

        alerts = catalog / "dispatch.yaml"
        alerts.write_text(alerts.read_text().replace("    active_during: [jam-operasional]\n", "")
                          .replace("    muted_during: [maintenance]\n", ""))
        kept = dd.moncat(fake, catalog, "--yes")
        assert len(fake.live_downtimes()) == 2 and " 0 to delete" in dd.plan_line(kept)
        pruned = dd.moncat(fake, catalog, "--yes", "--prune")
        assert pruned.returncode == 0, pruned.stdout + pruned.stderr
        assert "2 to delete" in dd.plan_line(pruned) and fake.live_downtimes() == []
        assert len(fake.downtimes) == 2  # cancelled, still listed: a later plan ignores them
        assert dd.plan_line(dd.moncat(fake, catalog, "--yes")).startswith("plan: 0 to create, 0 to update, 0 to delete")
        assert not fake.schema_errors


def dispatch_result(catalog: Path) -> pipeline.Result:
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors()
    return result


def test_hours_muted_all_week_are_one_downtime_without_end_in_effect_from_its_creation(tmp_path, validators) -> None:
    from compiler.apply.datadog_downtimes import rebased

    catalog = tmp_path / "catalog"
    shutil.copytree(DISPATCH, catalog)
    settings = catalog / "moncat.yaml"
    settings.write_text(settings.read_text().replace("    weekdays: [sunday]\n    times: [\"07:00-09:00\"]\n",
                                                     "    weekdays: [sunday:saturday]\n"))
    downtimes = _payloads(dispatch_result(catalog), "downtimes")
    assert list(downtimes) == ["datadog/downtimes/dispatch/NoOrders.1.json"]
    body = downtimes["datadog/downtimes/dispatch/NoOrders.1.json"]
    assert "end" not in body and "recurrence" not in body  # a week from 2024 would be over
    sent = rebased(body, datetime.now(timezone.utc))
    assert "start" not in sent and list(validators["Downtime"].iter_errors(sent)) == []


@pytest.mark.parametrize("now, start", [
    ("2026-03-28T12:00:00+01:00", "2026-03-28T23:00:00+01:00"),  # Saturday, the night ahead
    ("2026-03-28T23:30:00+01:00", "2026-03-29T23:00:00+02:00"),  # past it: the next day, summer time
    ("2026-03-29T22:59:30+02:00", "2026-03-30T23:00:00+02:00"),  # within the margin: the next one
])
def test_apply_starts_a_recurring_downtime_at_its_next_occurrence_at_the_local_time(now, start) -> None:
    """The compiled first occurrence (the fixed week of 2024, in winter) at 23:00 Berlin time,
    eight hours a day: apply keeps the wall-clock time across the change to summer time."""
    from compiler.apply.datadog_downtimes import rebased

    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2024, 1, 7, 23, 0, tzinfo=berlin)
    body = {"timezone": "Europe/Berlin", "start": int(first.timestamp()), "end": int(first.timestamp()) + 8 * 3600,
            "recurrence": {"type": "weeks", "period": 1, "week_days": list(DAYS)}}
    sent = rebased(body, datetime.fromisoformat(now))
    assert sent["start"] == int(datetime.fromisoformat(start).timestamp())
    assert sent["end"] - sent["start"] == 8 * 3600


def test_the_seed_webhook_alert_runs_its_examples_on_its_datadog_monitor_as_its_difference_states() -> None:
    """WebhookNotReceived holds in the busy hours: once clock arithmetic in the PromQL (no Datadog
    form), now `active_during`, so Datadog has a monitor and a downtime for the nights. The
    evaluator runs each example on the monitor: the quiet one agrees, the fires ones alert one
    evaluation after Prometheus, as the override's `differs` says (10m against 11m)."""
    from compiler.dialects.datadog_names import naming
    from compiler.examples import timing
    from compiler.targets.datadog import agent
    from compiler.targets.datadog.conditions import condition
    from compiler.targets.datadog.verdicts import _outcome, verdicts

    result = pipeline.compile_catalog(CATALOG)
    catalog = result.catalog
    service = catalog.service("agentbar")
    alert = service.alerts["WebhookNotReceived"]
    assert alert.compiled_for("datadog") and alert.active_during == ("jam-ramai",)
    assert "10m against 11m" not in alert.datadog.differs and "Datadog at 11m" in alert.datadog.differs
    assert "datadog/downtimes/agentbar/WebhookNotReceived.1.json" in result.files
    names = naming(catalog, service)
    cond, _ = condition(catalog, alert, names)
    found = {(v.example.fires, v.at_ms // 60000, v.datadog) for v in verdicts(catalog, alert, cond, names)}
    assert found == {(True, 70, False), (False, 80, False)}
    for example in alert.examples:
        if example.fires:
            when = timing(catalog, alert, example)
            data = agent.store(example.series, names, when.step_ms, when.eval_ms + 60_000,
                               catalog.settings.datadog.check_interval_ms)
            assert _outcome(catalog, cond, data, when.eval_ms + 60_000, None).notifies
