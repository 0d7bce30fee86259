"""Grafana target: dashboards (grafana-foundation-sdk), Grafana-managed alert rules, contact
points and notification policies as provisioning files, and the dashboard provider file."""
from __future__ import annotations

from compiler.artifacts import Artifact, ManagedObject
from compiler.checks import dashboard_json
from compiler.diagnostics import Diagnostic, Loc
from compiler.incremental import WriteOnly, cached
from compiler.model import Catalog, Service
from compiler.targets import links
from compiler.targets.grafana import alerting, interpolation, notifications, provisioning
from compiler.targets.grafana.uids import UidCheck, stored as uids_stored
from compiler.render import Block
from compiler.targets.prometheus import HEADER
from compiler.targets.routing import templates
from compiler.targets.routing.tree import SILENT, grafana_name, route_tree, service_routes, used_receivers

TARGET = "grafana"


def build(catalog: Catalog) -> tuple[list[Artifact], list[Diagnostic]]:
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    check = UidCheck()
    for service in catalog.services:
        # Kept: the files as the write needs them, and the uids as the check reads them.
        found, found_diags, uids = cached(catalog, "grafana", service, lambda: _service(catalog, service),
                                          stored=lambda value: (WriteOnly(value[0]), value[1],
                                                                uids_stored(value[2])))
        artifacts.extend(found)
        diags.extend(found_diags)
        diags.extend(check.add(uids))
    # Condition alerts have no Grafana rule (see Alert.compiled_for): no route for them.
    tree = route_tree(catalog, grafana_name).without(SILENT)
    points = notifications.contact_points(catalog, tree)
    if points:
        # A leading underscore: no service id starts with one, so no service's file is named so.
        used = {notifications.contact_point_name(name): cid for name, cid in used_receivers(tree).items()}
        artifacts.append(Artifact(
            "grafana/alerting/_contact-points.yaml",
            interpolation.whole_file({"apiVersion": 1, "contactPoints": points}),
            "yaml", tuple(ManagedObject(p["name"], "contact_point", TARGET,
                                        catalog.contacts[used[p["name"]]].loc,
                                        [{"name": p["name"], **r} for r in p["receivers"]])
                          for p in points), HEADER))
        blocks: dict[int, dict] = {}
        for route, indent in service_routes(tree):
            service = catalog.service(route.matchers[0].value)
            # An unchanged service's policy comes back spelled and rendered (render.Block).
            blocks[id(route)] = cached(catalog, "grafana.policy", service,
                                       lambda: Block(notifications.policy(route)).ready(indent))
        policies = notifications.policy_tree(catalog, tree, blocks)
        artifacts.append(Artifact(
            "grafana/alerting/_policies.yaml",
            interpolation.whole_file({"apiVersion": 1, "policies": [policies]}), "yaml",
            (ManagedObject("notification-policies", "notification_policy", TARGET,
                           catalog.settings.loc, policies),), HEADER))
        # Notification templates are read raw by Grafana, like mute timings.
        text = templates.template_file(catalog)
        artifacts.append(Artifact(
            "grafana/alerting/_templates.yaml",
            {"apiVersion": 1, "templates": [{"orgId": 1, "name": "moncat", "template": text}]}, "yaml",
            (ManagedObject("moncat", "notification_template", TARGET, catalog.settings.loc,
                           {"name": "moncat", "template": text}),), HEADER))
        timings = notifications.mute_timings(catalog, tree)
        if timings:
            # Read raw by Grafana (no environment expansion in mute timings).
            artifacts.append(Artifact(
                "grafana/alerting/_mute-timings.yaml", {"apiVersion": 1, "muteTimes": timings}, "yaml",
                tuple(ManagedObject(t["name"], "mute_timing", TARGET,
                                    catalog.time_intervals[t["name"]].loc, t) for t in timings), HEADER))
    # A provider per service with dashboards, as the file holds it (rendered) and its object.
    providers = [cached(catalog, "grafana.provider", s, lambda: _provider(catalog, s))
                 for s in catalog.services if s.dashboards]
    if providers:
        artifacts.append(Artifact(
            "grafana/provisioning/dashboards.yaml",
            interpolation.whole_file({"apiVersion": 1, "providers": [p for p, _ in providers]}), "yaml",
            tuple(o for _, o in providers), HEADER))
    return artifacts, diags


def _provider(catalog: Catalog, service: Service) -> tuple[Block, ManagedObject]:
    """The service's dashboard provider, rendered as an item of the file's top-level list, and
    its object: the cache keeps both (the file lists every service's)."""
    provider = Block(provisioning.provider(catalog, service)).ready("")
    return provider, ManagedObject(f"{service.id}/dashboards", "dashboard_provider", TARGET, service.loc,
                                   provider)


def _service(catalog: Catalog, service: Service) -> tuple[list[Artifact], list[Diagnostic], list[tuple]]:
    """One service's dashboards and alert rule file, with the uids they take (checked across
    services by uids.UidCheck): (kind, uid, moncat id, name, file, line, column), the position as
    plain fields that make a Loc only for an error (the incremental cache gives back 11,000 of
    them at 10,000 alerts: unpickled as Locs, 13 ms of a one-service recompile)."""
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    uids: list[tuple] = []
    # The dashboards' module, and grafana-foundation-sdk with it, imported when a dashboard is
    # built: from 40 alerts a first compile forks its pages' child once the catalog is linked,
    # before this target runs, and the child, which builds no dashboard, need not import it.
    from compiler.targets.grafana.dashboards import build_dashboard

    for dash in service.dashboards.values():
        data = build_dashboard(catalog, service, dash)
        _, ids = links.panel_ids(dash)
        panel_locs = {pid: panel.loc for row, row_ids in zip(dash.rows, ids)
                      for panel, pid in zip(row.panels, row_ids)}
        diags.extend(dashboard_json.check(data, dash.loc, panel_locs))
        uids.append(("dashboard", data["uid"], f"{service.id}/{dash.id}", dash.id, *_fields(dash.loc)))
        artifacts.append(Artifact(
            f"grafana/dashboards/{service.id}/{data['uid']}.json", data, "json",
            (ManagedObject(f"{service.id}/{dash.id}", "dashboard", TARGET, dash.loc, data),)))
    if not service.alerts:
        return artifacts, diags, uids
    group, group_diags = alerting.rule_group(catalog, service)
    diags.extend(group_diags)
    objects = [ManagedObject(f"{service.id}/{group['title']}", "rule_group", TARGET,
                             service.loc, group)]
    for alert, rule in zip([a for a in service.alerts.values() if a.compiled_for(TARGET)], group["rules"]):
        uids.append(("rule", rule["uid"], alert.id, alert.name, *_fields(alert.loc)))
        objects.append(ManagedObject(alert.id, "alert_rule", TARGET, alert.loc, rule))
    artifacts.append(Artifact(f"grafana/alerting/{service.id}.yaml",
                              interpolation.rule_groups_file(
                                  alerting.provisioning_file(catalog, service, group)),
                              "yaml", tuple(objects), HEADER))
    return artifacts, diags, uids


def _fields(loc: Loc) -> tuple[str, int, int]:
    return loc.file, loc.line, loc.column


__all__ = ["build"]
