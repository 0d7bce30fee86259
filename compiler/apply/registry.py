"""Apply stage, registry: the remote APIs `moncat apply` can push to, and how to connect."""
from __future__ import annotations

import dataclasses
import importlib
from typing import Mapping

from compiler.apply.base import ApplyTarget
from compiler.apply.plan import Current
from compiler.model import Catalog

# name -> module under compiler.apply with `connect(env, url, catalog) -> ApplyTarget`
TARGETS = {"grafana": "grafana", "datadog": "datadog", "ruler": "ruler"}
# The outputs (targets.outputs) whose files each API is written from, and for the kinds that
# belong to some of them only, which (a folder holds dashboards and alert rules).
OUTPUTS = {"grafana": ("grafana-dashboards", "grafana-alerting"), "datadog": ("datadog",),
           "ruler": ("prometheus",)}
KIND_OUTPUTS = {"grafana": {"dashboard": ("grafana-dashboards",),
                            **{k: ("grafana-alerting",) for k in (
                                "alert_rule", "rule_group", "contact_point", "notification_policy",
                                "notification_template", "mute_timing")}}}


class ConfigError(Exception):
    """Missing or invalid credentials/settings; the message names what to set (never its value)."""


def seconds_setting(env: Mapping[str, str], var: str, default: float) -> float:
    """A positive number of seconds from the environment (the client's backoff and timeout)."""
    raw = env.get(var)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number of seconds") from None
    if value <= 0:
        raise ConfigError(f"{var} must be above zero")
    return value


def connect(name: str, env: Mapping[str, str], url: str | None, catalog: Catalog) -> ApplyTarget:
    if catalog.settings.outputs is not None and not any(catalog.generates(o) for o in OUTPUTS[name]):
        # Nothing compiled for it: a plan would delete, with --prune, everything moncat made.
        raise ConfigError(f"targets.outputs in moncat.yaml leaves out {' and '.join(OUTPUTS[name])}: "
                          "nothing to apply")
    module = importlib.import_module(f"compiler.apply.{TARGETS[name]}")
    return module.connect(env, url, catalog)


def in_scope(name: str, catalog: Catalog, current: list[Current]) -> list[Current]:
    """The server's objects, those of an output switched off (targets.outputs) no longer
    counted as ours: compile left their files alone, so --prune must leave them too. A kind
    that serves several outputs (a Grafana folder holds dashboards and alert rules) is pruned
    only while all of them are compiled."""
    kinds = KIND_OUTPUTS.get(name, {})
    return [c if all(catalog.generates(o) for o in kinds.get(c.kind, OUTPUTS[name]))
            else dataclasses.replace(c, owned=False) for c in current]
