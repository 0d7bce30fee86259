"""`moncat apply datadog` with SLO objects (`/api/v1/slo`) and the burn-rate monitors that name
them: through the same identity layer as monitors (a lost create makes no second SLO, a UI clone
is never taken for moncat's, extra copies and orphans show in every plan and --prune removes them
after the monitors that use them), and what Datadog refuses (deleting an SLO a monitor uses).
Each test checks what the fake holds and the exact writes it received."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from compiler.apply import datadog_slos
from fakes.datadog_fake import FakeDatadog
from test_apply_datadog import (assert_server_holds_catalog, bound, compiled, fake, moncat,  # noqa: F401
                                owned_monitors, plan_line, seed_services)
from test_apply_datadog_identity import writes
from test_apply_grafana import edit

SLO = "shop/checkout-success"
BURN = tuple(f"shop/checkoutsuccessburnrate{t}" for t in ("pagefast", "pageslow", "ticketfast"))
ALL = 15  # 1 SLO, 3 burn-rate monitors, 9 monitors, 1 composite, 1 dashboard


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """The seed catalog's settings with the shop service, whose checkout SLO goes to Datadog."""
    return seed_services(tmp_path, "shop")


def owned_slos(fake: FakeDatadog) -> dict[str, dict]:
    return {datadog_slos.slo_id(s): s for s in fake.slos.values() if "managed-by:moncat" in s["tags"]}


def burn_rate_slo_ids(fake: FakeDatadog) -> set[str]:
    """The SLO ids moncat's burn-rate monitors name."""
    held = owned_monitors(fake)
    return {re.search(r'burn_rate\("([^"]+)"\)', held[b]["query"]).group(1) for b in BURN}


def leave_slo_out_of_datadog(catalog: Path) -> None:
    edit(catalog / "shop" / "slos.yaml", "    procedure: checkout-failures\n",
         "    procedure: checkout-failures\n    targets: [prometheus, grafana]\n")


def test_the_catalog_compiles_to_one_slo_and_three_burn_rate_monitors_naming_it(catalog) -> None:
    want = compiled(catalog)
    assert len(want) == ALL
    assert [datadog_slos.slo_id(b) for p, b in want.items() if "/slos/" in p] == [SLO]
    burn = {p: b for p, b in want.items() if b.get("type") == "slo alert"}
    assert len(burn) == 3 and all(datadog_slos.references(b) == [SLO] for b in burn.values())


@pytest.mark.parametrize("kind", ["commit-then-500", "commit-then-drop", "cut"])
def test_a_lost_answer_to_the_slos_create_makes_no_second_slo(fake, catalog, kind) -> None:
    want = compiled(catalog)
    fake.misbehave(kind, methods={"POST"}, path="/api/v1/slo")
    run = moncat(fake, catalog, "--concurrency", "1")
    assert run.returncode == 0, run.stderr
    assert f"applied {ALL}, failed 0, not attempted 0 (1 retries)" in run.stdout
    # The SLO was made once, found by its identity tag, bound; its monitors name its id.
    lookups = [r.query["tags_query"] for r in fake.requests if r.path == "/api/v1/slo" and r.method == "GET"
               and r.query.get("tags_query") != ["managed-by:moncat"]]
    assert lookups == [[f"moncat-id:{SLO}"]]
    assert len(fake.slos) == 1 and bound(owned_slos(fake)[SLO])
    assert burn_rate_slo_ids(fake) == {owned_slos(fake)[SLO]["id"]}
    assert sorted(m for m, _ in writes(fake)) == ["POST"] * ALL + ["PUT"] * ALL
    assert_server_holds_catalog(fake, want)
    again = moncat(fake, catalog)
    assert plan_line(again) == f"plan: 0 to create, 0 to update, 0 to delete, {ALL} unchanged"
    assert len(writes(fake)) == 2 * ALL


def test_a_ui_clone_of_the_slo_is_never_taken_for_moncats_and_an_extra_copy_is_pruned(fake, catalog) -> None:
    want = compiled(catalog)
    assert moncat(fake, catalog).returncode == 0
    original = owned_slos(fake)[SLO]
    clone = fake.clone_slo(original["id"])
    assert f"moncat-ref:{original['id']}" in clone["tags"]
    # And an unbound object with the same identity: what a create whose answer was lost, and
    # whose look-up failed, leaves.
    extra = fake.seed_slo(next(b for p, b in want.items() if "/slos/" in p))
    before = len(writes(fake))

    plan = moncat(fake, catalog)
    assert plan.returncode == 0, plan.stderr
    assert plan_line(plan) == f"plan: 0 to create, 0 to update, 0 to delete, {ALL} unchanged"
    assert (f"! slo {SLO}: slo {clone['id']} (created " in plan.stdout
            and f"by alice@example.com) carries this identity but is a copy of {original['id']}" in plan.stdout)
    assert (f"! slo {SLO}: 2 objects share this identity: slo {original['id']} (created " in plan.stdout
            and f"slo {extra['id']} (created " in plan.stdout)
    assert f"? orphan slo {SLO} (extra copy {extra['id']})" in plan.stdout
    assert writes(fake, before) == []

    pruned = moncat(fake, catalog, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert plan_line(pruned) == f"plan: 0 to create, 0 to update, 1 to delete, {ALL} unchanged"
    assert writes(fake, before) == [("DELETE", f"/api/v1/slo/{extra['id']}")]
    assert set(fake.slos) == {original["id"], clone["id"]} and fake.slos[clone["id"]] == clone
    assert burn_rate_slo_ids(fake) == {original["id"]}


def test_an_slo_left_out_is_an_orphan_in_every_plan_and_pruned_after_its_monitors(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    slo_id = owned_slos(fake)[SLO]["id"]
    burn = {b: owned_monitors(fake)[b]["id"] for b in BURN}
    leave_slo_out_of_datadog(catalog)
    before = len(writes(fake))

    kept = moncat(fake, catalog)
    assert kept.returncode == 0, kept.stderr
    assert plan_line(kept) == f"plan: 0 to create, 0 to update, 0 to delete, {ALL - 4} unchanged"
    assert f"? orphan slo {SLO}\n" in kept.stdout and all(f"? orphan monitor {b}\n" in kept.stdout for b in BURN)
    assert "4 owned objects not in the catalog; --prune deletes them" in kept.stdout
    assert writes(fake, before) == []

    pruned = moncat(fake, catalog, "--prune", "--concurrency", "1")
    assert pruned.returncode == 0, pruned.stderr
    assert plan_line(pruned) == f"plan: 0 to create, 0 to update, 4 to delete, {ALL - 4} unchanged"
    # Datadog refuses to delete an SLO a monitor uses: the monitors go first.
    assert writes(fake, before) == [("DELETE", f"/api/v1/monitor/{burn[b]}") for b in BURN] + \
        [("DELETE", f"/api/v1/slo/{slo_id}")]
    assert not fake.slos
    assert_server_holds_catalog(fake, compiled(catalog))


def test_another_catalogs_slo_is_kept_until_its_service_is_named(fake, catalog, tmp_path) -> None:
    assert moncat(fake, catalog).returncode == 0
    (tmp_path / "other").mkdir()
    other = seed_services(tmp_path / "other", "store")
    kept = moncat(fake, other, "--prune")
    assert kept.returncode == 0, kept.stderr
    assert f"? orphan slo {SLO} (service shop)" in kept.stdout
    assert f"{ALL} owned objects of services the catalog does not have (shop)" in kept.stdout
    assert len(fake.slos) == 1
    before = len(writes(fake))
    named = moncat(fake, other, "--prune", "--prune-service", "shop", "--concurrency", "1")
    assert named.returncode == 0, named.stderr
    deleted = writes(fake, before)
    assert len(deleted) == ALL and deleted[-1][1].startswith("/api/v1/slo/") and not fake.slos


def test_an_slo_moncat_cannot_tell_apart_blocks_it_and_its_burn_rate_monitors(fake, catalog) -> None:
    want = compiled(catalog)
    body = next(b for p, b in want.items() if "/slos/" in p)
    first, second = fake.seed_slo(body), fake.seed_slo(body)
    run = moncat(fake, catalog)
    assert run.returncode == 1
    assert f"! blocked slo {SLO}: 2 objects share this identity and moncat cannot tell" in run.stdout
    for b in BURN:
        assert f"! blocked monitor {b}: its SLO {SLO} is not written in this run" in run.stdout
    assert plan_line(run) == f"plan: {ALL - 4} to create, 0 to update, 0 to delete, 0 unchanged, 4 blocked"
    assert "4 objects not applied" in run.stderr
    assert sorted(m for m, _ in writes(fake)) == ["POST"] * (ALL - 4) + ["PUT"] * (ALL - 4)
    assert not any(b in owned_monitors(fake) for b in BURN) and set(fake.slos) == {first["id"], second["id"]}
    # The user deletes one: moncat adopts the other, binds it, and writes the monitors naming it.
    del fake.slos[second["id"]]
    before = len(writes(fake))
    fixed = moncat(fake, catalog)
    assert fixed.returncode == 0, fixed.stderr
    assert plan_line(fixed) == f"plan: 3 to create, 1 to update, 0 to delete, {ALL - 4} unchanged"
    assert writes(fake, before)[0] == ("PUT", f"/api/v1/slo/{first['id']}")
    assert burn_rate_slo_ids(fake) == {first["id"]}
    assert_server_holds_catalog(fake, want)


def test_an_slo_a_clone_of_its_burn_rate_monitor_uses_is_not_pruned_and_the_plan_says_why(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    slo_id = owned_slos(fake)[SLO]["id"]
    burn = [owned_monitors(fake)[b]["id"] for b in BURN]
    clone = fake.clone_monitor(burn[0])
    leave_slo_out_of_datadog(catalog)
    before = len(writes(fake))
    pruned = moncat(fake, catalog, "--prune")
    assert pruned.returncode == 1
    assert plan_line(pruned) == f"plan: 0 to create, 0 to update, 3 to delete, {ALL - 4} unchanged, 1 blocked"
    assert (f"! blocked slo {SLO}: monitor {clone['id']} (created " in pruned.stdout
            and "not moncat's, uses it: Datadog refuses to delete an SLO a monitor uses" in pruned.stdout)
    # moncat's own three burn-rate monitors go; the clone, and the SLO it uses, stay.
    assert sorted(writes(fake, before)) == sorted(("DELETE", f"/api/v1/monitor/{i}") for i in burn)
    assert slo_id in fake.slos and fake.monitors[clone["id"]] == clone


def test_an_slo_a_monitor_outside_moncat_uses_is_refused_by_datadog_with_what_to_do(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    slo_id = owned_slos(fake)[SLO]["id"]
    # Someone's own burn-rate monitor (no mark, so moncat never lists it) on moncat's SLO.
    theirs = fake.seed_monitor({"name": "Checkout budget, by hand", "type": "slo alert", "message": "ours",
                                "query": f'burn_rate("{slo_id}").over("30d").long_window("1h")'
                                         '.short_window("5m") > 14', "tags": [], "options": {"thresholds": {"critical": 14}}})
    leave_slo_out_of_datadog(catalog)
    pruned = moncat(fake, catalog, "--prune", "--concurrency", "1")
    assert pruned.returncode == 1
    assert "applied 3, failed 1, not attempted 0" in pruned.stdout
    assert re.search(rf"failed: delete slo {SLO}: DELETE \S+/api/v1/slo/{slo_id}: 409: .*SLO is used by monitors "
                     rf"\[{theirs['id']}\].* \(a monitor or dashboard moncat does not own still uses this SLO: "
                     r"change or delete it in Datadog, then apply again\)", pruned.stderr)
    assert "run the same command again" not in pruned.stderr
    assert slo_id in fake.slos and theirs["id"] in fake.monitors


def test_an_error_echoing_the_keys_from_the_slo_api_is_redacted(fake, catalog) -> None:
    # Datadog's answer quotes the keys, as sent and JSON-escaped and URL-encoded.
    echoed = f"bad request from {fake.api_key} / {json.dumps(fake.app_key)} / {quote(fake.api_key, safe='')}"
    fake.misbehave("answer", methods={"POST"}, path="/api/v1/slo", status=400,
                   body=json.dumps({"errors": [echoed]}).encode(), content_type="application/json")
    run = moncat(fake, catalog)
    assert run.returncode == 1
    assert f"failed: create slo {SLO}: POST " in run.stderr and "400: " in run.stderr
    for secret in (fake.api_key, fake.app_key, quote(fake.api_key, safe="")):
        assert secret not in run.stdout + run.stderr
    assert "***" in run.stderr
    assert not fake.slos and not fake.monitors  # the monitors that need it are not attempted


def test_slo_fields_of_an_unexpected_type_read_as_absent_not_as_a_crash(fake, catalog) -> None:
    want = compiled(catalog)
    body = next(b for p, b in want.items() if "/slos/" in p)
    odd = fake.seed_slo(body, bound=True)
    fake.slos[odd["id"]].update(created_at=10**30, creator="someone")
    # Tags as one string: the fake's tag filter still matches it; moncat reads no tags, no mark.
    stray = fake.seed_slo(dict(body, name="stray"))
    fake.slos[stray["id"]]["tags"] = "managed-by:moncat"
    run = moncat(fake, catalog, "--dry-run")
    assert run.returncode == 0, run.stderr
    # The odd one is moncat's (bound), so only the rest is created; the stray is not listed.
    assert plan_line(run) == f"plan: {ALL - 1} to create, 0 to update, 0 to delete, 1 unchanged"
    assert stray["id"] not in run.stdout and "Traceback" not in run.stderr
