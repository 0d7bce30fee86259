"""Apply stage, registry: the remote APIs `moncat apply` can push to, and how to connect."""
from __future__ import annotations

import importlib
from typing import Mapping

from compiler.apply.base import ApplyTarget
from compiler.model import Catalog

# name -> module under compiler.apply with `connect(env, url, catalog) -> ApplyTarget`
TARGETS = {"grafana": "grafana", "datadog": "datadog", "ruler": "ruler"}


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
    module = importlib.import_module(f"compiler.apply.{TARGETS[name]}")
    return module.connect(env, url, catalog)
