"""Targets, routing tree: a route without a receiver shares what loses nothing, and with the
incremental cache each service's entries of the catalog-wide files (its route and inhibit rules
in alertmanager.yaml, its Grafana policy and dashboard provider) come back spelled and rendered
(render.Block), giving the clean compile's files."""
from __future__ import annotations

import pickle
from pathlib import Path

from compiler import pipeline
from compiler.render import Block
from compiler.targets.routing.tree import SILENT, Matcher, Route, service_routes
from test_incremental import _svc0002_edited


def _tree() -> Route:
    quiet = Route((Matcher("service", "=", "a"),), "oncall", routes=[
        Route((Matcher("alertname", "=", "Cond"),), SILENT),
        Route((Matcher("severity", "=", "P1"),), "oncall", {"group_wait": 30_000})])
    loud = Route((Matcher("service", "=", "b"),), "oncall", routes=[Route((Matcher("severity", "=", "P1"),))])
    loose = Route((Matcher("service", "=", "c"),), "ops")
    return Route(receiver="catch", routes=[Route((Matcher("team", "=", "t"),), routes=[quiet, loud]), loose])


def test_a_tree_without_a_receiver_copies_only_the_routes_above_one_to_it_and_shares_the_others() -> None:
    tree = _tree()
    team, loose = tree.routes
    quiet, loud = team.routes
    cut = tree.without(SILENT)
    assert cut is not tree and cut.routes[0] is not team and cut.routes[1] is loose
    assert cut.routes[0].routes[1] is loud and cut.routes[0].routes[0] is not quiet
    assert [r.receiver for r in cut.routes[0].routes[0].routes] == ["oncall"]
    assert [r.receiver for r in quiet.routes] == [SILENT, "oncall"]  # the tree is as built
    assert tree.without("nobody") is tree
    assert cut.data() == {**tree.data(), "routes": [
        {**tree.data()["routes"][0], "routes": [
            {**quiet.data(), "routes": [quiet.routes[1].data()]}, loud.data()]}, loose.data()]}


def test_each_service_route_is_given_with_the_indentation_of_the_list_holding_it() -> None:
    found = [(route.matchers[0].value, indent) for route, indent in service_routes(_tree())]
    assert found == [("a", "    "), ("b", "    "), ("c", "  ")]


def test_a_tree_with_routes_spelled_already_gives_the_data_of_the_tree() -> None:
    tree = _tree()
    blocks = {id(route): Block(route.data()).ready(indent) for route, indent in service_routes(tree)}
    assert tree.data(blocks=blocks) == tree.data()
    spliced = tree.data(blocks=blocks)["routes"][0]["routes"]
    assert all(type(route) is Block for route in spliced)


def test_an_unchanged_services_entries_of_catalog_wide_files_come_back_rendered_and_the_files_are_the_clean_compiles(
        tmp_path: Path) -> None:
    catalog, _, cache, result = _svc0002_edited(tmp_path)
    names = ("alertmanager.route", "grafana.policy", "grafana.provider", "alertmanager.inhibitions")
    stored = {name: pickle.loads(cache.run.clean["svc0001"][name]) for name in names}
    blocks = [stored["alertmanager.route"][0], stored["grafana.policy"], stored["grafana.provider"][0],
              *(inhibition.rule for inhibition in stored["alertmanager.inhibitions"])]
    assert len(blocks) > 3
    for block in blocks:
        assert type(block) is Block and block
        (lines,) = block.__dict__["rendered"].values()  # rendered at one indentation, when made
        assert "svc0001" in lines[0]
    clean = pipeline.compile_catalog(catalog).files
    for path in ("alertmanager/alertmanager.yaml", "grafana/alerting/_policies.yaml",
                 "grafana/provisioning/dashboards.yaml"):
        assert result.files[path] == clean[path]
