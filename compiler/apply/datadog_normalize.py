"""Apply stage, Datadog: what a plan compares of a monitor, dashboard or SLO, with what the server
adds or changes on its own left out.

Server changes normalised before comparing: read-only fields (id, created, modified, creator,
overall_state, widget ids, author, url, ...), `metric alert` and `query alert` (the API returns
either for a metric monitor), option defaults the server fills in, nulls and empty lists, tag
case and order, and moncat's own binding (identity.REF), which apply writes and a catalog never
holds.
"""
from __future__ import annotations

import re
from typing import Any

from compiler.apply import identity

# The binding to the object's own id (identity.REF), written by apply, never compiled.
REF_TAG = identity.REF + ":"
DESCRIPTION_REF = re.compile(r"\s*\(" + identity.REF + r": ([^()\s]*)\)\s*$")

# Monitor fields moncat writes. PUT /api/v1/monitor/{id} changes only the fields it is given, so
# a field outside this list (restricted_roles set in the UI...) could never be reset by an
# update; comparing it would plan the same update forever.
MONITOR_FIELDS = ("name", "type", "query", "message", "tags", "priority", "options")
# Option values that mean "not set", as the server fills them in: the MonitorOptions defaults of
# the v1 OpenAPI document (`default:`, or "Defaults to" in the description), and what exported
# monitors show (`locked: false`, `escalation_message: ""`, `renotify_interval: 0` or "0",
# `timeout_h: 0`). Such a value compares as absent.
OPTION_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "escalation_message": ("",),
    "groupby_simple_monitor": (False,),
    "include_tags": (True,),
    "locked": (False,),
    "new_host_delay": (300,),
    "notification_preset_name": ("show_all",),
    "notify_audit": (False,),
    "notify_no_data": (False,),
    "renotify_interval": (0, "0"),
    "require_full_window": (False,),
    "timeout_h": (0,),
}
# "If renotify_interval is set, [renotify_statuses] defaults to renotify on Alert and No Data."
RENOTIFY_DEFAULT = ["alert", "no data"]
# Operational state, not configuration: a mute (v1 downtime) shows in options.silenced. It is
# left out of the comparison and carried over into an update, which would otherwise unmute.
OPTION_STATE = ("silenced",)
# Dashboard fields the server sets and ignores on write (readOnly in the OpenAPI document), and
# fields whose absence it spells as null, [] or a default.
DASHBOARD_READ_ONLY = ("id", "author_handle", "author_name", "created_at", "modified_at", "url")
DASHBOARD_DEFAULTS: dict[str, Any] = {"is_read_only": False, "reflow_type": None}


def plain(value: Any) -> Any:
    """Nulls and empty containers dropped, integral floats as ints (the API returns `5.0` for a
    threshold of 5)."""
    if isinstance(value, dict):
        out = {k: plain(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _is_default(option: str, value: Any) -> bool:
    # By type too: 0 == False in Python, and `notify_no_data: 0` is not a spelling of false.
    return any(type(value) is type(d) and value == d for d in OPTION_DEFAULTS.get(option, ()))


def normalize_monitor(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    out = {k: body[k] for k in MONITOR_FIELDS if k in body}
    if out.get("type") == "metric alert":
        out["type"] = "query alert"
    if isinstance(out.get("tags"), list):
        out["tags"] = sorted({str(t).lower() for t in out["tags"] if not str(t).startswith(REF_TAG)})
    options = out.get("options")
    if isinstance(options, dict):
        options = {k: v for k, v in options.items() if k not in OPTION_STATE
                   and not _is_default(k, v)}
        if options.get("renotify_interval") and options.get("renotify_statuses") and \
                sorted(options["renotify_statuses"]) == RENOTIFY_DEFAULT:
            del options["renotify_statuses"]
        out["options"] = options
    return plain(out)


def _widget(widget: Any) -> Any:
    """A widget without the id the server gives it, nested group widgets likewise."""
    if not isinstance(widget, dict):
        return widget
    out = {k: v for k, v in widget.items() if k != "id"}
    definition = out.get("definition")
    if isinstance(definition, dict) and isinstance(definition.get("widgets"), list):
        out["definition"] = dict(definition, widgets=[_widget(w) for w in definition["widgets"]])
    return out


def normalize_dashboard(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    out = {k: v for k, v in body.items() if k not in DASHBOARD_READ_ONLY
           and not (k in DASHBOARD_DEFAULTS and v == DASHBOARD_DEFAULTS[k])}
    if isinstance(out.get("widgets"), list):
        out["widgets"] = [_widget(w) for w in out["widgets"]]
    if isinstance(out.get("tags"), list):
        out["tags"] = sorted(out["tags"])
    if isinstance(out.get("description"), str):
        out["description"] = DESCRIPTION_REF.sub("", out["description"])
    return plain(out)
