"""Grafana target: the check that no two dashboards, nor two alert rules, get one Grafana uid,
over services' uids as computed and as the incremental cache keeps them (grafana.uids)."""
from __future__ import annotations

import pickle

from compiler.diagnostics import Loc
from compiler.targets.grafana.uids import UidCheck, UidKeys, stored


def _service(sid: str, rules: list[str], dashboards: list[str] = ()) -> list[tuple]:
    return ([("dashboard", uid, f"{sid}/{uid}", uid, f"{sid}.yaml", 3, 5) for uid in dashboards]
            + [("rule", uid, f"{sid}/{uid}", uid.upper(), f"{sid}.yaml", 10 + n, 3) for n, uid in enumerate(rules)])


def _kept(entries: list[tuple]) -> UidKeys:
    """As the cache gives a stored service's uids back."""
    return pickle.loads(pickle.dumps(stored(entries)))


def _check(services: list) -> list[tuple[str, str, Loc]]:
    check = UidCheck()
    return [(d.code, d.message, d.loc) for uids in services for d in check.add(uids)]


def test_uids_none_of_which_is_taken_twice_give_no_diagnostic_kept_or_computed() -> None:
    services = [_service("a", ["r1", "r2"], ["d1"]), _service("b", ["r3"], ["d2", "r1"]), _service("c", [])]
    assert _check(services) == []
    assert _check([_kept(s) for s in services]) == []
    assert _check([services[0], _kept(services[1]), services[2]]) == []


def test_a_uid_taken_twice_is_reported_at_its_second_taker_naming_the_first_kept_or_computed() -> None:
    services = [_service("a", ["r1", "r2"], ["d1"]), _service("b", ["r3"]), _service("c", ["r2", "r4"], ["d1"]),
                _service("d", ["r4", "r5"])]
    expected = [
        ("MC451", "dashboard 'd1' gets Grafana uid 'd1', already the uid of a/d1", Loc("c.yaml", 3, 5)),
        ("MC451", "alert 'R2' gets Grafana rule uid 'r2', already the uid of a/r2", Loc("c.yaml", 10, 3)),
        ("MC451", "alert 'R4' gets Grafana rule uid 'r4', already the uid of c/r4", Loc("d.yaml", 10, 3)),
    ]
    assert _check(services) == expected
    assert _check([_kept(s) for s in services]) == expected
    assert _check([_kept(services[0]), services[1], _kept(services[2]), services[3]]) == expected


def test_one_object_listing_its_uid_twice_is_no_clash_but_two_objects_of_one_service_are() -> None:
    same = [("rule", "r1", "a/x", "X", "a.yaml", 1, 1)] * 2
    assert _check([_kept(same), _service("b", ["r2"])]) == []
    two = [("rule", "r1", "a/x", "X", "a.yaml", 1, 1), ("rule", "r1", "a/y", "Y", "a.yaml", 2, 1)]
    assert _check([_service("z", ["r0"]), _kept(two)]) == [
        ("MC451", "alert 'Y' gets Grafana rule uid 'r1', already the uid of a/x", Loc("a.yaml", 2, 1))]
