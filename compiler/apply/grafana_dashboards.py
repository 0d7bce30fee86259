"""Apply stage, Grafana dashboards: one folder per service and the service's dashboards, read
from output/grafana/dashboards and pushed through the folder and dashboard HTTP APIs."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping
from urllib.parse import quote

from compiler.apply import grafana_normalize as norm
from compiler.apply.client import ApiError, Client
from compiler.apply.plan import Action, Current, Desired, Finding
from compiler.model import Catalog
from compiler.targets.grafana.alerting import folder_title, folder_uid
from compiler.targets.grafana.dashboards import OWNER_TAG

DASHBOARDS_DIR = "grafana/dashboards/"
ALERTING_DIR = "grafana/alerting/"
# Ownership: a folder is moncat's when its uid starts with "moncat-" (the Grafana target names
# every service folder so); a dashboard when it carries the `moncat` tag and a uid moncat gives
# (`<service>` or `<service>-...`, <service> among its tags): a copy saved in Grafana's UI keeps
# the tags but gets a new uid, so it is never taken for moncat's.
FOLDER_UID_PREFIX = "moncat-"
# Page size of the folder and search lists (Grafana's default; its search takes at most 5000).
PAGE = 1000
MESSAGE = "moncat apply"
# Dashboards read at once when planning: a no-op plan reads every dashboard of the catalog.
READERS = 32  # the dashboard version history's note


def folder_owned(folder: Mapping[str, Any]) -> bool:
    return str(folder.get("uid", "")).startswith(FOLDER_UID_PREFIX)


def folder_service(uid: str, catalog: Catalog | None) -> str:
    """The service a moncat folder belongs to (its uid is the target's folder_uid)."""
    for service in catalog.services if catalog else ():
        if folder_uid(service) == uid:
            return service.id
    return uid[len(FOLDER_UID_PREFIX):]


def dashboard_service(model: Mapping[str, Any]) -> str | None:
    """The service among the dashboard's tags whose uid scheme its uid follows
    (compiler/targets/links.dashboard_uid); None when none does."""
    uid = str(model.get("uid", ""))
    tags = model.get("tags") if isinstance(model.get("tags"), list) else []
    tags = [t for t in tags if isinstance(t, str) and t and t != OWNER_TAG]
    return next((t for t in tags if uid == t or uid.startswith(t + "-")), None)


def dashboard_owned(model: Mapping[str, Any]) -> bool:
    tags = model.get("tags")
    return isinstance(tags, list) and OWNER_TAG in tags and dashboard_service(model) is not None


def lookalike(kind: str, uid: str, mark: str) -> Finding:
    return Finding(kind, uid, f"carries {mark} but its uid is not one moncat gives (a copy made in "
                   "Grafana?): not moncat's, never changed or deleted; remove the mark to silence this note")


# --- desired --------------------------------------------------------------------------------

def _services_with_files(files: Mapping[str, bytes]) -> list[str]:
    found = set()
    for path in files:
        if path.startswith(DASHBOARDS_DIR) and path.count("/") == 3:
            found.add(path.split("/")[2])
        elif path.startswith(ALERTING_DIR) and path.count("/") == 2 and not path.split("/")[2].startswith("_"):
            found.add(path.split("/")[2].rsplit(".", 1)[0])
    return sorted(found)


def desired_folders_and_dashboards(files: Mapping[str, bytes], catalog: Catalog) -> list[Desired]:
    """A folder for every service with dashboards or Grafana alert rules (its uid and title are
    the ones the target gives the rules' folderUID and the dashboard provider), then each
    dashboard, in its service's folder."""
    services = {s.id: s for s in catalog.services}
    out: list[Desired] = []
    uids: dict[str, str] = {}
    for sid in _services_with_files(files):
        if sid not in services:
            continue
        uids[sid] = folder_uid(services[sid])
        out.append(Desired("folder", uids[sid], {"uid": uids[sid], "title": folder_title(services[sid])}))
    for path in sorted(files):
        parts = path.split("/")
        if path.startswith(DASHBOARDS_DIR) and len(parts) == 4 and path.endswith(".json") and parts[2] in uids:
            model = json.loads(files[path])
            out.append(Desired("dashboard", model["uid"], {"dashboard": model, "folderUid": uids[parts[2]]}))
    return out


# --- current --------------------------------------------------------------------------------

def _pages(client: Client, path: str, params: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """Every item of a list that pages with `limit` and `page` (numbered from 1)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = client.objects(client.request("GET", path, params={**params, "limit": PAGE, "page": page}),
                               what, "uid")
        items += batch
        if len(batch) < PAGE:
            return items
        page += 1


def current_folders(client: Client, catalog: Catalog | None = None) -> list[Current]:
    return [Current("folder", str(f["uid"]), f, folder_owned(f),
                    service=folder_service(str(f["uid"]), catalog) if folder_owned(f) else None)
            for f in _pages(client, "/api/folders", {}, "folders")]


def _full(client: Client, uid: str) -> dict[str, Any] | None:
    resp = client.request("GET", f"/api/dashboards/uid/{quote(uid, safe='')}", ok=(404,))
    if resp.status_code == 404:
        return None
    data = client.json(resp, dict, "an object {dashboard, meta}")
    model = data.get("dashboard")
    if not isinstance(model, dict):
        raise ApiError("GET", resp.url, resp.status_code, "expected an object {dashboard, meta}, "
                       "without a dashboard object in it")
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    return {"dashboard": model, "folderUid": meta.get("folderUid") or "", "version": model.get("version")}


def current_dashboards(client: Client, wanted: set[str] | None) -> list[Current]:
    """Every dashboard the search lists (all pages). The ones the catalog has (or, when it is not
    known, the ones we own) are read in full, a few at a time; the others are known by their
    search hit, which is all a prune needs."""
    hits = _pages(client, "/api/search", {"type": "dash-db"}, "dashboards")
    full_uids = [h["uid"] for h in hits
                 if (h.get("uid") in wanted if wanted is not None else OWNER_TAG in (h.get("tags") or []))]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        full = dict(zip(full_uids, pool.map(lambda uid: _full(client, uid), full_uids)))
    out = []
    for hit in hits:
        uid = str(hit.get("uid"))
        body = full.get(uid) or {"dashboard": {"uid": uid, "title": hit.get("title"), "tags": hit.get("tags") or []},
                                 "folderUid": hit.get("folderUid") or ""}
        model = body["dashboard"]
        out.append(Current("dashboard", uid, body, dashboard_owned(model), service=dashboard_service(model)))
    return out


def lookalike_dashboards(currents: list[Current]) -> list[Finding]:
    return [lookalike("dashboard", c.id, f"the {OWNER_TAG!r} tag") for c in currents
            if c.kind == "dashboard" and not c.owned and OWNER_TAG in (c.body["dashboard"].get("tags") or [])]


# --- writes ---------------------------------------------------------------------------------

def write_folder(client: Client, action: Action) -> None:
    one = f"/api/folders/{quote(action.id, safe='')}"
    if action.op == "create":
        resp = client.request("POST", "/api/folders", json=action.body, ok=(409,))
        if resp.status_code == 409:
            # Taken: fine when it is our folder (a create whose answer was lost), else a conflict.
            read = client.request("GET", one, ok=(404,))
            if read.status_code != 200 or norm.folder(client.json(read, dict, "a folder")) != norm.folder(action.body):
                raise ApiError("POST", "/api/folders", 409, f"a folder with uid {action.id} or title "
                               f"{action.body['title']!r} already exists: rename or remove it")
    elif action.op == "update":
        version = client.json(client.request("GET", one), dict, "a folder").get("version")
        resp = client.request("PUT", one, json={"title": action.body["title"], "version": version,
                                                "overwrite": False}, ok=(412,))
        if resp.status_code == 412:
            raise ApiError("PUT", one, 412, "the folder changed on the server since it was read; run the apply again",
                           transient=True)
    elif action.op == "delete":
        # Grafana deletes a folder with every dashboard in it: only an empty one goes, and
        # forceDeleteRules=false makes Grafana refuse (400) while alert rules remain.
        left = client.json(client.request("GET", "/api/search", params={
            "folderUIDs": action.id, "type": "dash-db", "limit": 1}), list, "a list of dashboards")
        if left:
            title = left[0].get("title") if isinstance(left[0], dict) else None
            raise ApiError("DELETE", one, None, f"folder {action.id} still holds dashboards "
                           f"(e.g. {title!r}) that moncat does not prune: not deleted")
        client.request("DELETE", one, params={"forceDeleteRules": "false"}, ok=(404,))


def _save(client: Client, model: dict[str, Any], folder: str) -> tuple[int, dict[str, Any]]:
    resp = client.request("POST", "/api/dashboards/db", ok=(412,), json={
        "dashboard": model, "folderUid": folder, "message": MESSAGE, "overwrite": False})
    if resp.status_code != 412:
        return resp.status_code, client.json(resp, dict, "the saved dashboard's {id, uid, version}")
    try:
        data = resp.json()
    except ValueError:
        data = {}
    return resp.status_code, data if isinstance(data, dict) else {}


def write_dashboard(client: Client, action: Action) -> None:
    """Create with overwrite false; update with the version the plan read (overwrite false), so
    Grafana refuses (412 version-mismatch) when someone changed it after the plan. A 412 is
    settled as the API documents it: the dashboard is read again; if it already is what we
    meant (our own earlier attempt) that is success; if only its version moved, the save is
    retried once with the new version; otherwise nothing is overwritten and the action fails."""
    one = f"/api/dashboards/uid/{quote(action.id, safe='')}"
    if action.op == "delete":
        client.request("DELETE", one, ok=(404,))
        return
    body = action.body
    model = dict(body["dashboard"])
    if action.op == "update":
        if not dashboard_owned((action.current or {}).get("dashboard") or {}):
            raise ApiError("POST", "/api/dashboards/db", None, f"the server's dashboard {action.id} has no "
                           f"{OWNER_TAG!r} tag: moncat does not overwrite it (delete it, or tag it)")
        model["version"] = (action.current or {}).get("version")
    status, data = _save(client, model, body["folderUid"])
    if status != 412:
        return
    again = _full(client, action.id)
    if again is not None and norm.dashboard(again) == norm.dashboard(body):
        return
    reason = data.get("status", "")
    planned = action.current
    if (reason == "version-mismatch" and action.op == "update" and again is not None and planned
            and dashboard_owned(again["dashboard"]) and norm.dashboard(again) == norm.dashboard(planned)):
        model["version"] = again["version"]
        status, data = _save(client, model, body["folderUid"])
        if status != 412:
            return
        reason = data.get("status", "")
    if reason == "name-exists":
        why = (f"a dashboard titled {model.get('title')!r} or with uid {action.id} already exists "
               "in that folder and is not the one planned: rename or remove it")
    elif reason == "version-mismatch":
        why = "the dashboard changed on the server since the plan; run the apply again to see it"
    else:
        why = client.excerpt(str(data.get("message") or "precondition failed"))
    raise ApiError("POST", "/api/dashboards/db", 412, f"{action.id}: {why}", transient=reason == "version-mismatch")
