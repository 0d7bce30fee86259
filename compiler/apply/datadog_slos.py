"""Apply stage, Datadog SLOs: SLO objects through `/api/v1/slo`, and the SLO ids their burn-rate
monitors name.

Identity and ownership, as for monitors (compiler/apply/identity.py): an SLO is marked when
tagged `managed-by:moncat`, its moncat id is its `moncat-id:` tag (`<service>/<slo>`), and it is
moncat's when its `moncat-ref:` tag is its own id (written right after the create, so a UI clone,
which copies the tags, is never taken for it). A create whose answer was lost is looked up by its
`moncat-id:` tag before it is retried. Listing: `GET /api/v1/slo` filtered by `tags_query` (one
tag), pages of `limit` 1,000 from `offset` until a short page. PUT replaces the whole SLO, so the
binding write sends the whole body.

A burn-rate monitor's compiled query names its SLO by moncat id, `burn_rate("moncat-slo:<id>")`,
since Datadog gives the SLO its id on creation. Plans compare monitors with the server's SLO ids
read back as those references; writes put the ids in (from the resolved listing, or from the
answer to an SLO created earlier in the same run: SLOs are written before monitors and deleted
after them). Datadog refuses (409) to delete an SLO a monitor still uses.
"""
from __future__ import annotations

import re
import threading
from typing import Any, Callable, Mapping

from compiler.apply.client import ApiError, Client
from compiler.apply.identity import Claim

SLO = "slo"
# Why a --prune does not delete an SLO that a monitor moncat does not own uses
# (datadog_composite.held_by_foreign).
USED = ("uses it: Datadog refuses to delete an SLO a monitor uses; change or delete that monitor, "
        "then prune again")
SLOS = "/api/v1/slo"
PAGE = 1000
ID_TAG = "moncat-id:"
REFERENCE = "moncat-slo:"  # as compiler/targets/datadog/slos.py writes it
# The fields moncat writes; PUT replaces the SLO with the body given.
FIELDS = ("name", "type", "description", "query", "thresholds", "tags")
_BURN_ID = re.compile(r'(burn_rate\(")([^"]+)("\))')


def tags(body: Any) -> list[str]:
    """An SLO's tags ([] when the field is not a list: a server's oddity reads as absent)."""
    found = body.get("tags") if isinstance(body, dict) else None
    return [str(t) for t in found] if isinstance(found, list) else []


def slo_id(body: dict) -> str:
    """The moncat id in an SLO's tags ("" when it has none)."""
    return next((t[len(ID_TAG):] for t in tags(body) if t.startswith(ID_TAG)), "")


def normalize_slo(body: Any, plain: Callable[[Any], Any], ref_tag: str) -> Any:
    """An SLO as moncat writes it: read-only and display fields (id, creator, timestamps,
    target_display, type_id, monitor_tags) dropped, tags lowercase and sorted, the binding
    (`ref_tag`) left out."""
    if not isinstance(body, dict):
        return body
    out = {k: body[k] for k in FIELDS if k in body}
    if isinstance(out.get("thresholds"), list):
        out["thresholds"] = [{k: v for k, v in t.items() if not k.endswith("_display")}
                             for t in out["thresholds"] if isinstance(t, dict)]
    if isinstance(out.get("tags"), list):
        out["tags"] = sorted({str(t).lower() for t in out["tags"] if not str(t).startswith(ref_tag)})
    return plain(out)


def references(body: Any) -> list[str]:
    """The moncat ids of the SLOs a compiled monitor's query names."""
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str):
        return []
    return [m.group(2)[len(REFERENCE):] for m in _BURN_ID.finditer(query) if m.group(2).startswith(REFERENCE)]


def named(body: Any) -> set[str]:
    """The Datadog SLO ids a monitor on the server names."""
    query = body.get("query") if isinstance(body, dict) else None
    return {m.group(2) for m in _BURN_ID.finditer(query)} if isinstance(query, str) else set()


class SloIds:
    """moncat id <-> Datadog id of the SLOs moncat owns, from the resolved listing and from
    creates (written from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remote: dict[str, str] = {}  # moncat id -> Datadog id

    def reset(self, remote: Mapping[str, str]) -> None:
        with self._lock:
            self._remote = dict(remote)

    def learn(self, key: str, remote: str) -> None:
        with self._lock:
            self._remote[key] = remote

    def resolve(self, body: Any, method: str, path: str) -> Any:
        """A monitor body with its `moncat-slo:` references replaced by Datadog ids."""
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or REFERENCE not in query:
            return body

        def swap(m: re.Match) -> str:
            ref = m.group(2)
            if not ref.startswith(REFERENCE):
                return m.group(0)
            with self._lock:
                remote = self._remote.get(ref[len(REFERENCE):])
            if remote is None:
                raise ApiError(method, path, None, f"SLO {ref[len(REFERENCE):]} has no Datadog id "
                               "(it was not created)")
            return m.group(1) + remote + m.group(3)
        return dict(body, query=_BURN_ID.sub(swap, body["query"]))

    def unresolve(self, body: Any) -> Any:
        """A server monitor with the ids of our SLOs read back as `moncat-slo:` references."""
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or "burn_rate(" not in query:
            return body
        with self._lock:
            back = {remote: key for key, remote in self._remote.items()}
        return dict(body, query=_BURN_ID.sub(
            lambda m: m.group(1) + (REFERENCE + back[m.group(2)] if m.group(2) in back
                                    else m.group(2)) + m.group(3), body["query"]))


def listing(client: Client, params: dict[str, Any], claim: Callable[[str, dict], Claim],
            owner_tag: str) -> list[Claim]:
    """Every SLO `params` select (a `tags_query`) that carries `owner_tag`, as identity claims."""
    claims: list[Claim] = []
    offset = 0
    while True:
        resp = client.request("GET", SLOS, params={**params, "limit": PAGE, "offset": offset})
        items = client.json(resp, dict, "an object {data: [...]}").get("data")
        if not isinstance(items, list) or not all(isinstance(s, dict) and s.get("id") for s in items):
            raise ApiError("GET", resp.url, resp.status_code,
                           "expected an object {data: [...]}, each SLO with its 'id'")
        # The filter is the server's; check anyway.
        claims += [claim(SLO, s) for s in items if owner_tag in tags(s)]
        if len(items) < PAGE:
            return claims
        offset += len(items)


def created(answer: Any) -> Any:
    """The SLO in a create's or update's answer, `{"data": [slo], ...}` ({} when it holds none)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    return data[0] if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) else {}


def refusal_hint(text: str) -> str | None:
    """What to do when Datadog refuses (409) to delete an SLO that something still uses."""
    if "slo" in text.lower() or "service level" in text.lower():
        return ("a monitor or dashboard moncat does not own still uses this SLO: change or delete it "
                "in Datadog, then apply again")
    return None
