"""Apply stage, failures: what went wrong with a request, in words a user can act on.

"no response" is said only when no answer came at all (refused, closed, or silent past the
timeout); an answer cut off mid-body, one still arriving at the deadline, a TLS refusal and a
server's own refusal each say so. `transient` marks the errors a re-run can cure.
"""
from __future__ import annotations

import html
import re
import socket
import ssl
from typing import Any

import requests
import urllib3

from compiler.apply.redaction import Redactor


class ApiError(Exception):
    """A request that failed for good: its method, URL or path, status and the server's words.
    `transient`: the cause may pass (no answer, the server's 5xx, a deadline), so running the
    apply again can converge; otherwise something must change first."""

    def __init__(self, method: str, path: str, status: int | None, message: str, *,
                 transient: bool = False):
        where = f"{method} {path}"
        super().__init__(f"{where}: {status}: {message}" if status else f"{where}: {message}")
        self.method, self.path, self.status, self.message = method, path, status, message
        self.transient = transient


class NotSent(ApiError):
    """A request not sent: the run's deadline passed, or the server stopped answering earlier
    in the run."""

    def __init__(self, method: str, path: str, message: str):
        super().__init__(method, path, None, message, transient=True)


class Transport(Exception):
    """An attempt that got no usable answer. `sent`: the server may have acted on it; `silent`:
    it ended by a timeout or deadline; `unanswered`: nothing usable came back at all;
    `permanent`: retrying cannot help (TLS refused, unknown host)."""

    def __init__(self, what: str, *, sent: bool = True, silent: bool = False,
                 unanswered: bool = False, permanent: bool = False):
        super().__init__(what)
        self.what, self.sent, self.silent = what, sent, silent
        self.unanswered, self.permanent = unanswered, permanent


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (causes, contexts, `reason`, exception args)."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return seen


def _first(chain: list[BaseException], *types: type) -> Any:
    return next((e for e in chain if isinstance(e, types)), None)


def classify(exc: BaseException, phase: str, timeout: float, host: str, redactor: Redactor) -> Transport:
    """A requests/urllib3 error raised while sending (`phase` "head") or reading the answer's
    body ("body")."""
    chain = _chain(exc)
    cert = _first(chain, ssl.SSLCertVerificationError)
    if cert is not None:
        why = cert.verify_message or cert.reason or str(cert)
        return Transport(f"TLS: the certificate of {host} was not accepted ({why}); moncat always "
                         "verifies TLS: for a private certificate authority set REQUESTS_CA_BUNDLE "
                         "to its bundle", sent=False, permanent=True)
    tls = _first(chain, ssl.SSLError)
    if tls is not None and phase == "head" and not isinstance(tls, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        why = tls.reason or tls.strerror or type(tls).__name__
        return Transport(f"TLS handshake with {host} failed ({why}): is it an https:// server, and "
                         "does it offer TLS 1.2 or later?", sent=False, permanent=True)
    if _first(chain, urllib3.exceptions.NameResolutionError, socket.gaierror) is not None:
        return Transport(f"cannot resolve the host {host}: check the URL", sent=False, permanent=True)
    if _first(chain, requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError) is not None:
        return Transport(f"no response: connecting to {host} took over {timeout:g} s", sent=False,
                         silent=True, unanswered=True)
    if _first(chain, urllib3.exceptions.NewConnectionError, ConnectionRefusedError) is not None:
        return Transport(f"no response: {host} refused the connection", sent=False, unanswered=True)
    timed_out = _first(chain, requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError,
                       TimeoutError, socket.timeout) is not None
    if phase == "body":
        if timed_out:
            return Transport(f"the answer stalled for over {timeout:g} s and was cut off", silent=True)
        return Transport(f"the answer was cut off ({type(exc).__name__})")
    if timed_out:
        return Transport(f"no response within {timeout:g} s", silent=True, unanswered=True)
    if isinstance(exc, (requests.ConnectionError, urllib3.exceptions.ProtocolError, ConnectionError)):
        return Transport("no response: the connection closed before an answer", unanswered=True)
    return Transport(f"{type(exc).__name__}: {redactor.excerpt(str(exc))}", sent=False, permanent=True)


def deadline(phase: str, seconds: float, by_run: bool) -> Transport:
    """The watchdog cut an exchange at its deadline."""
    which = ("the run's deadline, MONCAT_APPLY_DEADLINE_S" if by_run
             else "the request deadline, MONCAT_APPLY_REQUEST_DEADLINE_S")
    if phase == "body":
        return Transport(f"the answer was still arriving after {seconds:g} s ({which}): the server "
                         "sends too slowly", silent=True, unanswered=True)
    return Transport(f"no complete answer within {seconds:g} s ({which})", silent=True, unanswered=True)


def describe_body(resp: requests.Response, redactor: Redactor) -> str:
    """A non-JSON answer in a few words: its type, an HTML page's title, or its first characters."""
    ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip() or "no Content-Type"
    text = resp.text
    if not text.strip():
        return f"an empty answer ({ctype})"
    if "html" in ctype or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        found = re.search(r"<title[^>]*>(.*?)</title>", text, re.S | re.I)
        title = f" titled {redactor.excerpt(html.unescape(found.group(1)), 80)!r}" if found else ""
        return (f"an HTML page{title} ({ctype}): a login or proxy page? moncat needs the API "
                "itself: check the URL, and that the credentials reach it without single sign-on")
    return f"{ctype} {redactor.excerpt(text, 120)!r}"


def describe_json(data: Any) -> str:
    if data is None:
        return "JSON null"
    if isinstance(data, bool):
        return f"JSON {str(data).lower()}"
    if isinstance(data, list):
        return "an empty JSON list" if not data else f"a JSON list of {len(data)}"
    if isinstance(data, dict):
        return "an empty JSON object" if not data else "a JSON object of other fields"
    if isinstance(data, str):
        return "a JSON string"
    return "a JSON number"
