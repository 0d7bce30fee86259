"""`moncat apply datadog` with composite monitors (an alert whose condition is `a or b`): written
after their component monitors, with the components' ids the server assigned, through the same
identity layer as every monitor (a lost create makes no second composite, a UI clone is never
taken for moncat's, orphans are reported and pruned composite first). Each test checks what the
fake holds and the exact writes it received."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.apply import datadog
from fakes.datadog_fake import FakeDatadog
from test_apply_datadog import (assert_server_holds_catalog, bound, compiled, fake, moncat,  # noqa: F401
                                owned_monitors, plan_line, seed_services)
from test_apply_datadog_identity import writes
from test_apply_grafana import edit

COMPOSITE = "shop/shopcheckoutfailureshigh"  # `rate(...) > 5 or ratio > 0.02`: components .a, .b
PARTS = (f"{COMPOSITE}.a", f"{COMPOSITE}.b")


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """The seed catalog's settings with the shop service, its SLOs left out (their objects and
    burn-rate monitors have tests of their own): 9 monitors, 1 composite, 1 dashboard."""
    root = seed_services(tmp_path, "shop")
    (root / "shop" / "slos.yaml").unlink()
    return root


def names_its_parts(fake: FakeDatadog, composite: dict | None = None) -> bool:
    """The composite on the server (moncat's, unless another is given) names, by id, the two
    monitors moncat holds for its parts."""
    held = owned_monitors(fake)
    query = (composite or held[COMPOSITE])["query"]
    return query == f"{held[PARTS[0]]['id']} || {held[PARTS[1]]['id']}"


def leave_out_of_datadog(catalog: Path) -> None:
    edit(catalog / "shop" / "alerts.yaml", "  ShopCheckoutFailuresHigh:\n",
         "  ShopCheckoutFailuresHigh:\n    targets: [prometheus, grafana]\n")


def test_the_catalog_compiles_to_one_composite_naming_its_two_components(catalog) -> None:
    want = compiled(catalog)
    kinds = sorted(datadog.monitor_kind(b) for p, b in want.items() if "/monitors/" in p)
    assert kinds == ["composite monitor"] + ["monitor"] * 9
    body = next(b for b in want.values() if b.get("type") == "composite")
    assert body["query"] == "${%s} || ${%s}" % PARTS


@pytest.mark.parametrize("kind", ["commit-then-500", "commit-then-drop", "cut"])
def test_lost_creates_of_a_component_and_of_its_composite_make_no_second_object(fake, catalog, kind) -> None:
    want = compiled(catalog)
    # One at a time: the 9 monitors (component .a first), then the composite. The first
    # component's create and the composite's are applied and their answers lost: the component's
    # id, which the composite needs, comes from the look-up.
    fake.misbehave(kind, methods={"POST"}, path="/api/v1/monitor")
    fake.misbehave(kind, methods={"POST"}, path="/api/v1/monitor", skip=8)
    run = moncat(fake, catalog, "--concurrency", "1")
    assert run.returncode == 0, run.stderr
    assert "applied 11, failed 0, not attempted 0 (2 retries)" in run.stdout
    # A create and a binding per object; the two lost answers cost a look-up each, no POST.
    sent = writes(fake)
    assert sorted(m for m, _ in sent) == ["POST"] * 11 + ["PUT"] * 11
    lookups = [r.query["monitor_tags"] for r in fake.requests if r.method == "GET"
               and r.query.get("monitor_tags", [""])[0].startswith("moncat-id:")]
    assert lookups == [[f"moncat-id:{PARTS[0]}"], [f"moncat-id:{COMPOSITE}"]]
    assert len(fake.monitors) == 10 and len(fake.dashboards) == 1
    assert names_its_parts(fake) and bound(owned_monitors(fake)[COMPOSITE])
    assert_server_holds_catalog(fake, want)
    again = moncat(fake, catalog)
    assert plan_line(again) == "plan: 0 to create, 0 to update, 0 to delete, 11 unchanged"
    assert len(writes(fake)) == 22


def test_a_ui_clone_of_a_composite_is_never_taken_for_moncats(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    original = owned_monitors(fake)[COMPOSITE]
    clone = fake.clone_monitor(original["id"])
    assert clone["query"] == original["query"] and f"moncat-ref:{original['id']}" in clone["tags"]
    before = len(writes(fake))

    plan = moncat(fake, catalog, "--prune")
    assert plan.returncode == 0, plan.stderr
    assert plan_line(plan) == "plan: 0 to create, 0 to update, 0 to delete, 11 unchanged"
    assert (f"! composite monitor {COMPOSITE}: composite monitor {clone['id']} (created " in plan.stdout
            and f"carries this identity but is a copy of {original['id']}" in plan.stdout)
    assert writes(fake, before) == []

    # A change to the alert's text reaches the original only; the clone keeps what it had.
    edit(catalog / "shop" / "alerts.yaml", "summary: Checkout failures above 5/min or",
         "summary: Checkout failures over 5/min or")
    changed = moncat(fake, catalog, "--prune")
    assert changed.returncode == 0, changed.stderr
    assert plan_line(changed).startswith("plan: 0 to create, 1 to update, 0 to delete,")
    assert writes(fake, before) == [("PUT", f"/api/v1/monitor/{original['id']}")]
    assert fake.monitors[original["id"]]["name"] == "[shop] Checkout failures over 5/min or above 2% of checkout requests"
    assert fake.monitors[clone["id"]] == clone
    mine = fake.monitors[original["id"]]
    assert bound(mine) and names_its_parts(fake, mine)
    # The original holds the changed catalog's composite; nothing else changed or was added.
    body = next(b for b in compiled(catalog).values() if datadog.monitor_id(b) == COMPOSITE)
    target = datadog.DatadogTarget(None)  # type: ignore[arg-type] - normalize needs no client
    target._ids = {p: str(owned_monitors(fake)[p]["id"]) for p in PARTS}
    assert target.normalize(datadog.COMPOSITE, mine) == target.normalize(datadog.COMPOSITE, body)
    assert len(fake.monitors) == 11 and set(fake.monitors) >= {original["id"], clone["id"]}


def test_pruning_an_alert_with_a_composite_deletes_the_composite_then_its_components(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    held = owned_monitors(fake)
    ids = {oid: held[oid]["id"] for oid in (COMPOSITE, *PARTS)}
    leave_out_of_datadog(catalog)
    before = len(writes(fake))

    # Every plan names the orphans; only --prune deletes them.
    kept = moncat(fake, catalog)
    assert kept.returncode == 0, kept.stderr
    # (The dashboard's panel stops drawing the alert's threshold: its one update.)
    assert plan_line(kept) == "plan: 0 to create, 1 to update, 0 to delete, 7 unchanged"
    assert f"? orphan composite monitor {COMPOSITE}\n" in kept.stdout
    assert all(f"? orphan monitor {p}\n" in kept.stdout for p in PARTS)
    assert "3 owned objects not in the catalog; --prune deletes them" in kept.stdout
    assert writes(fake, before) == [("PUT", f"/api/v1/dashboard/{next(iter(fake.dashboards))}")]
    before = len(writes(fake))

    pruned = moncat(fake, catalog, "--prune", "--concurrency", "1")
    assert pruned.returncode == 0, pruned.stderr
    assert plan_line(pruned) == "plan: 0 to create, 0 to update, 3 to delete, 8 unchanged"
    # Datadog refuses to delete a monitor a composite names: the composite goes first.
    assert writes(fake, before) == [("DELETE", f"/api/v1/monitor/{ids[COMPOSITE]}"),
                                    ("DELETE", f"/api/v1/monitor/{ids[PARTS[0]]}"),
                                    ("DELETE", f"/api/v1/monitor/{ids[PARTS[1]]}")]
    assert len(fake.monitors) == 7 and not any(i in fake.monitors for i in ids.values())
    assert_server_holds_catalog(fake, compiled(catalog))


def test_a_removed_service_keeps_its_composite_until_named_then_it_goes_before_its_components(fake, catalog,
                                                                                                tmp_path) -> None:
    assert moncat(fake, catalog).returncode == 0
    held = owned_monitors(fake)
    # Another catalog (store only) on the same organisation: shop's objects are not its to delete.
    (tmp_path / "other").mkdir()
    other = seed_services(tmp_path / "other", "store")
    before = len(writes(fake))
    kept = moncat(fake, other, "--prune")
    assert kept.returncode == 0, kept.stderr
    board = next(iter(fake.dashboards))
    assert plan_line(kept) == "plan: 5 to create, 0 to update, 0 to delete, 0 unchanged"
    assert f"? orphan composite monitor {COMPOSITE} (service shop)" in kept.stdout
    assert "11 owned objects of services the catalog does not have (shop)" in kept.stdout
    assert "--prune --prune-service shop deletes them" in kept.stdout
    assert sorted(m for m, _ in writes(fake, before)) == ["POST"] * 5 + ["PUT"] * 5
    assert all(oid in owned_monitors(fake) for oid in held)

    before = len(writes(fake))
    named = moncat(fake, other, "--prune", "--prune-service", "shop", "--concurrency", "1")
    assert named.returncode == 0, named.stderr
    assert plan_line(named) == "plan: 0 to create, 0 to update, 11 to delete, 5 unchanged"
    deleted = [p.rsplit("/", 1)[1] for _, p in writes(fake, before)]
    assert all(m == "DELETE" for m, _ in writes(fake, before)) and len(deleted) == 11
    # The dashboard, then the composite, then the monitors.
    assert deleted[:2] == [board, str(held[COMPOSITE]["id"])]
    assert sorted(deleted[2:]) == sorted(str(m["id"]) for oid, m in held.items() if oid != COMPOSITE)
    assert_server_holds_catalog(fake, compiled(other))


def test_a_composite_whose_component_moncat_cannot_tell_apart_is_not_written_either(fake, catalog) -> None:
    want = compiled(catalog)
    part = next(b for b in want.values() if datadog.monitor_id(b) == PARTS[0])
    # Two unbound objects carry component .a's identity: moncat will not guess which is its own.
    first, second = fake.seed_monitor(part), fake.seed_monitor(part)
    run = moncat(fake, catalog)
    assert run.returncode == 1
    assert f"! blocked monitor {PARTS[0]}: 2 objects share this identity" in run.stdout
    assert (f"! blocked composite monitor {COMPOSITE}: its component {PARTS[0]} is not written in "
            "this run") in run.stdout
    assert plan_line(run) == "plan: 9 to create, 0 to update, 0 to delete, 0 unchanged, 2 blocked"
    assert sorted(m for m, _ in writes(fake)) == ["POST"] * 9 + ["PUT"] * 9
    assert COMPOSITE not in owned_monitors(fake)
    # The user deletes one: moncat adopts the other and writes the composite naming it.
    del fake.monitors[second["id"]]
    before = len(writes(fake))
    fixed = moncat(fake, catalog)
    assert fixed.returncode == 0, fixed.stderr
    assert plan_line(fixed) == "plan: 1 to create, 1 to update, 0 to delete, 9 unchanged"
    assert sorted(m for m, _ in writes(fake, before)) == ["POST", "PUT", "PUT"]
    assert owned_monitors(fake)[PARTS[0]]["id"] == first["id"] and names_its_parts(fake)
    assert_server_holds_catalog(fake, want)


def test_components_a_ui_clone_of_the_composite_still_names_are_not_deleted_and_the_plan_says_why(fake,
                                                                                                  catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    held = owned_monitors(fake)
    clone = fake.clone_monitor(held[COMPOSITE]["id"])
    leave_out_of_datadog(catalog)
    before = len(writes(fake))
    pruned = moncat(fake, catalog, "--prune")
    assert pruned.returncode == 1
    assert plan_line(pruned) == "plan: 0 to create, 1 to update, 1 to delete, 7 unchanged, 2 blocked"
    for part in PARTS:
        assert (f"! blocked monitor {part}: composite monitor {clone['id']} (created ") in pruned.stdout
    assert "not moncat's, names it: Datadog refuses to delete a monitor a composite names" in pruned.stdout
    assert "2 objects not applied" in pruned.stderr and "Traceback" not in pruned.stderr
    # The dashboard's update and moncat's composite's delete only; the clone and the parts stay.
    assert writes(fake, before) == [("PUT", f"/api/v1/dashboard/{next(iter(fake.dashboards))}"),
                                    ("DELETE", f"/api/v1/monitor/{held[COMPOSITE]['id']}")]
    assert fake.monitors[clone["id"]] == clone
    assert all(held[p]["id"] in fake.monitors for p in PARTS)
    # Once the user deletes the clone, the parts go.
    del fake.monitors[clone["id"]]
    before = len(writes(fake))
    again = moncat(fake, catalog, "--prune")
    assert again.returncode == 0, again.stderr
    assert sorted(writes(fake, before)) == sorted(("DELETE", f"/api/v1/monitor/{held[p]['id']}") for p in PARTS)
    assert_server_holds_catalog(fake, compiled(catalog))


def test_a_component_a_composite_outside_moncat_names_is_refused_by_datadog_with_what_to_do(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    held = owned_monitors(fake)
    # Someone's own composite (no mark, so moncat never lists it) built on moncat's two parts.
    theirs = fake.seed_monitor({"name": "Checkout, by hand", "type": "composite", "message": "ours",
                                "query": f"{held[PARTS[0]]['id']} && {held[PARTS[1]]['id']}",
                                "tags": ["team:shop"], "options": {}})
    leave_out_of_datadog(catalog)
    before = len(writes(fake))
    pruned = moncat(fake, catalog, "--prune", "--concurrency", "1")
    assert pruned.returncode == 1
    assert plan_line(pruned) == "plan: 0 to create, 1 to update, 3 to delete, 7 unchanged"
    assert "applied 2, failed 2, not attempted 0" in pruned.stdout
    for part in PARTS:
        assert re.search(rf"failed: delete monitor {re.escape(part)}: DELETE \S+/api/v1/monitor/{held[part]['id']}: "
                         rf"400: .*referenced in composite monitors \[{theirs['id']}\].* \(a composite monitor "
                         "moncat does not own still names this monitor: change or delete that composite in "
                         r"Datadog, then apply again\)", pruned.stderr)
    assert "2 writes refused for a reason a re-run does not change" in pruned.stderr
    assert "run the same command again" not in pruned.stderr
    assert writes(fake, before)[:2] == [("PUT", f"/api/v1/dashboard/{next(iter(fake.dashboards))}"),
                                        ("DELETE", f"/api/v1/monitor/{held[COMPOSITE]['id']}")]
    assert len(writes(fake, before)) == 4 and theirs["id"] in fake.monitors
    assert all(held[p]["id"] in fake.monitors for p in PARTS)
