"""Apply stage, Datadog SLOs: SLO objects through `/api/v1/slo`, and the SLO ids their burn-rate
monitors name.

Identity and ownership: an SLO is ours when tagged `managed-by:moncat`; its moncat id is its
`moncat-id:` tag (`<service>/<slo>`), as for monitors. Listing: `GET /api/v1/slo` filtered by
`tags_query=managed-by:moncat`, pages of `limit` 1,000 from `offset` until a short page.

A burn-rate monitor's compiled query names its SLO by moncat id, `burn_rate("moncat-slo:<id>")`,
since Datadog gives the SLO its id on creation. Plans compare monitors with the server's SLO ids
read back as those references; writes put the ids in (from the listing, or from the answer to an
SLO created earlier in the same run: SLOs are written before monitors and deleted after them).
"""
from __future__ import annotations

import re
import threading
from typing import Any

from compiler.apply.base import OWNER_TAG
from compiler.apply.client import ApiError, Client
from compiler.apply.plan import Action

SLO = "slo"
SLOS = "/api/v1/slo"
PAGE = 1000
ID_TAG = "moncat-id:"
REFERENCE = "moncat-slo:"  # as compiler/targets/datadog/slos.py writes it
# The fields moncat writes; PUT replaces the SLO with the body given.
FIELDS = ("name", "type", "description", "query", "thresholds", "tags")
_BURN_ID = re.compile(r'(burn_rate\(")([^"]+)("\))')


def slo_id(body: dict) -> str:
    """The moncat id in an SLO's tags ("" when it has none)."""
    return next((t[len(ID_TAG):] for t in body.get("tags") or [] if t.startswith(ID_TAG)), "")


def normalize_slo(body: Any, plain) -> Any:
    """An SLO as moncat writes it: read-only and display fields (id, creator, timestamps,
    target_display, type_id, monitor_tags) dropped, tags lowercase and sorted."""
    if not isinstance(body, dict):
        return body
    out = {k: body[k] for k in FIELDS if k in body}
    if isinstance(out.get("thresholds"), list):
        out["thresholds"] = [{k: v for k, v in t.items() if not k.endswith("_display")}
                             for t in out["thresholds"] if isinstance(t, dict)]
    if isinstance(out.get("tags"), list):
        out["tags"] = sorted({str(t).lower() for t in out["tags"]})
    return plain(out)


class SloIds:
    """moncat id <-> Datadog id of the SLOs moncat owns, learnt from the listing and from
    creates (written from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remote: dict[str, str] = {}  # moncat id -> Datadog id

    def learn(self, key: str, remote: str, first: bool = False) -> None:
        """Remember an SLO's id; with `first`, only if the key has none yet (the oldest copy)."""
        with self._lock:
            if not (first and key in self._remote):
                self._remote[key] = remote

    def resolve(self, body: Any) -> Any:
        """A monitor body with its `moncat-slo:` references replaced by Datadog ids."""
        if not isinstance(body, dict) or REFERENCE not in str(body.get("query", "")):
            return body

        def swap(m: re.Match) -> str:
            ref = m.group(2)
            if not ref.startswith(REFERENCE):
                return m.group(0)
            with self._lock:
                remote = self._remote.get(ref[len(REFERENCE):])
            if remote is None:
                raise ApiError("POST", "/api/v1/monitor", 0,
                               f"SLO {ref[len(REFERENCE):]} has no Datadog id (it was not created)")
            return m.group(1) + remote + m.group(3)
        return dict(body, query=_BURN_ID.sub(swap, body["query"]))

    def unresolve(self, body: Any) -> Any:
        """A server monitor with the ids of our SLOs read back as `moncat-slo:` references."""
        if not isinstance(body, dict) or "burn_rate(" not in str(body.get("query", "")):
            return body
        with self._lock:
            back = {remote: key for key, remote in self._remote.items()}
        return dict(body, query=_BURN_ID.sub(
            lambda m: m.group(1) + (REFERENCE + back[m.group(2)] if m.group(2) in back
                                    else m.group(2)) + m.group(3), body["query"]))


def listing(client: Client, json_of, ids: SloIds) -> list[tuple[str, str, Any]]:
    """(moncat id, Datadog id, body) of every SLO carrying our mark."""
    found: list[tuple[str, str, Any]] = []
    offset = 0
    while True:
        params = {"tags_query": OWNER_TAG, "limit": PAGE, "offset": offset}
        page = json_of(client.request("GET", SLOS, params=params), "GET", SLOS)
        items = page.get("data") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise ApiError("GET", SLOS, 200, "expected {data: [...]}")
        for slo in items:
            if OWNER_TAG in (slo.get("tags") or []):
                found.append((slo_id(slo), str(slo["id"]), slo))
        if len(items) < PAGE:
            break
        offset += len(items)
    # The oldest keeps the moncat id when there are copies (ids carry no order: creation time).
    found.sort(key=lambda f: (int(f[2].get("created_at") or 0), f[1]))
    for key, remote, _ in found:
        if key:
            ids.learn(key, remote, first=True)
    return found


def write(client: Client, action: Action, ids: SloIds, json_of) -> None:
    if action.op == "create":
        resp = client.request("POST", SLOS, json=action.body)
        data = json_of(resp, "POST", SLOS).get("data") or [{}]
        remote = data[0].get("id")
        if not remote:
            raise ApiError("POST", SLOS, resp.status_code, "the answer names no SLO id")
        ids.learn(action.id, str(remote))
    elif action.op == "update":
        client.request("PUT", f"{SLOS}/{action.remote_id}", json=action.body)
    elif action.op == "delete":
        client.request("DELETE", f"{SLOS}/{action.remote_id}", ok=(404,))
