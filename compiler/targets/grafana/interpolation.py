"""Grafana target, interpolation: the fields of each provisioning file that Grafana's file reader
expands environment variables in, and `$` written `$$` in exactly those.

Grafana's reader (pkg/services/provisioning/values) expands `$NAME`, `${NAME}` and
`$__env{...}`-style variables in the fields typed as its `values.*Value`s, and turns `$$` into a
literal `$`; it reads every other field as written, where `$$` stays two dollars. Field by field,
as its alerting types declare them (pkg/services/provisioning/alerting, Grafana 9.1.7 and later):

- rule groups: `name`, `folder`, `interval`; each rule's `uid`, `title`, `condition`,
  `dashboardUid`, `noDataState`, `execErrState`, `for`, `keepFiringFor`, the values of `labels`
  and its `notification_settings`; each query's `refId`, `queryType` and `datasourceUid`.
  Annotations and query models are read raw (their `Raw` side: a query's `$__interval` or a
  math expression's `$B` must reach Grafana intact), as is `relativeTimeRange`.
- contact points: every string under `name`, `uid`, `type` and `settings` (9.1.7 added settings).
- notification policies: every string of the tree.
- mute timings and notification templates: nothing (plain types, read as written).
- dashboard providers: every string (`options` included).

Over the HTTP API nothing is expanded: `apply` sends the raw text.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import orjson

# Our own secret references, which Grafana is meant to expand from its environment.
PLACEHOLDER = re.compile(r"\$\{MONCAT_[A-Z0-9_]+\}")

RULE_GROUP_FIELDS = ("name", "folder", "interval")
RULE_FIELDS = ("uid", "title", "condition", "dashboardUid", "dasboardUid", "noDataState",
               "execErrState", "for", "keepFiringFor")
QUERY_FIELDS = ("refId", "queryType", "datasourceUid")

Convert = Callable[[str], str]


def escape(text: str) -> str:
    """A literal text as an interpolated field must spell it: every `$` doubled, except in our
    `${MONCAT_...}` placeholders."""
    if "$" not in text:  # nearly every string of a policy tree: nothing to double
        return text
    parts = PLACEHOLDER.split(text)
    found = PLACEHOLDER.findall(text)
    out = parts[0].replace("$", "$$")
    for placeholder, rest in zip(found, parts[1:]):
        out += placeholder + rest.replace("$", "$$")
    return out


def unescape(text: str) -> str:
    """What an escaped field means (placeholders left for the caller to resolve)."""
    return text.replace("$$", "$")


def every_string(value: Any, convert: Convert) -> Any:
    """`convert` applied to every string value of a structure (not to mapping keys: Grafana's
    reader expands values only)."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, dict):
        return {k: every_string(v, convert) for k, v in value.items()}
    if isinstance(value, list):
        return [every_string(v, convert) for v in value]
    return value


def _fields(data: dict[str, Any], names: tuple[str, ...], convert: Convert) -> dict[str, Any]:
    return {k: every_string(v, convert) if k in names else v for k, v in data.items()}


def _query(query: dict[str, Any], convert: Convert) -> dict[str, Any]:
    return _fields(query, QUERY_FIELDS, convert)


def _rule(rule: dict[str, Any], convert: Convert) -> dict[str, Any]:
    out = _fields(rule, RULE_FIELDS + ("labels", "notification_settings"), convert)
    if "data" in out:
        out["data"] = [_query(q, convert) for q in out["data"]]
    return out


def rule_groups_file(data: dict[str, Any], convert: Convert = escape) -> dict[str, Any]:
    """A rule-group provisioning file with `convert` applied to its interpolated fields."""
    out = dict(data)
    out["groups"] = [{**_fields(group, RULE_GROUP_FIELDS, convert),
                      "rules": [_rule(r, convert) for r in group.get("rules", [])]}
                     for group in data.get("groups", [])]
    return out


def whole_file(data: dict[str, Any], convert: Convert = escape) -> dict[str, Any]:
    """Contact points, notification policies, dashboard providers: every string but
    `apiVersion` is interpolated. `escape` and `unescape` leave a text without `$` as it is:
    where no text of the file holds one (nearly every file), its values are the file's own,
    not copies (a catalog's policy tree, rebuilt on every compile, is thousands of strings)."""
    if (convert is escape or convert is unescape) and not _dollars(data):
        return dict(data)
    return {k: v if k == "apiVersion" else every_string(v, convert) for k, v in data.items()}


def _dollars(data: dict[str, Any]) -> bool:
    """Whether any text of `data` (its keys included) may hold a `$`: its JSON holds one, or
    it has what JSON does not write (then it is walked)."""
    try:
        return b"$" in orjson.dumps(data)
    except TypeError:
        return True
