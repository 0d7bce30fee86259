"""Apply stage, endpoints: the checks every target's URL and credentials pass before any request."""
from __future__ import annotations

import ipaddress
import re
from typing import Mapping
from urllib.parse import SplitResult, urlsplit

from compiler.apply.client import Limits
from compiler.apply.registry import ConfigError, seconds_setting

# What an HTTP header value may hold: visible ASCII and inner spaces. A newline or other control
# character would make requests refuse the header with an error that quotes the value.
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


def loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_url(url: str, setting: str, auth_hint: str) -> SplitResult:
    """An http(s) URL with a host, no credentials, query or fragment, and https:// unless the
    host is this machine: credentials never cross a network in clear text."""
    parts = urlsplit(url.strip())
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or \
            re.search(r"\s", url.strip()):
        raise ConfigError(f"{setting} must be https://host[:port][/path]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{setting} must carry no credentials, query or fragment; {auth_hint}")
    if parts.scheme == "http" and not loopback(parts.hostname):
        raise ConfigError(f"{setting} must be https:// (http:// only for localhost): the credentials "
                          "would cross the network in clear text")
    return parts


def checked_secret(name: str, value: str) -> str:
    """A credential as an HTTP header can carry it; the error names the variable, never the value."""
    if not _HEADER_VALUE.fullmatch(value):
        raise ConfigError(f"{name} holds whitespace at an end, a line break or a character an HTTP header "
                          "cannot carry (pasted from a file with its newline?): set it to the bare value")
    return value


def limits(env: Mapping[str, str]) -> Limits:
    """The client's waits from the environment (README "Apply" lists them with their defaults)."""
    default = Limits()
    return Limits(timeout_s=seconds_setting(env, "MONCAT_APPLY_TIMEOUT_S", default.timeout_s),
                  request_deadline_s=seconds_setting(env, "MONCAT_APPLY_REQUEST_DEADLINE_S",
                                                     default.request_deadline_s),
                  run_deadline_s=seconds_setting(env, "MONCAT_APPLY_DEADLINE_S", default.run_deadline_s),
                  backoff_s=seconds_setting(env, "MONCAT_APPLY_BACKOFF_S", default.backoff_s))
