"""Apply stage, transport: HTTP with deadlines, retries, backoff and rate-limit waits, redirects
kept on one host, answers checked to be the JSON asked for, and secrets kept out of every message.

Limits (README, "Apply"): every exchange (request and whole answer) ends within
`request_deadline_s` of wall-clock time, however slowly the server sends; a request makes at most
`max_attempts` attempts, of which at most MAX_SILENT may end with no answer in time; the whole run
stops sending at `run_deadline_s`. Once a request has given up because the server did not answer,
nothing more is sent to it in this run (NotSent): a dead server costs one request's timeouts,
not every request's.
"""
from __future__ import annotations

import http.client
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from compiler.apply import failures
from compiler.apply.failures import ApiError, NotSent, Transport
from compiler.apply.redaction import Redactor
from compiler.apply.watchdog import Exchange, WatchedAdapter

__all__ = ["ApiError", "NotSent", "Client", "Limits", "Stats"]

RETRY_STATUSES = {500, 502, 503, 504}
REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
MAX_SILENT = 2  # attempts of one request that may end with no answer in time


@dataclass(frozen=True)
class Limits:
    """How long the client waits; README "Apply" states the defaults."""

    timeout_s: float = 10.0  # connecting, and the longest silence while an answer arrives
    request_deadline_s: float = 30.0  # one exchange: request sent and whole answer read
    run_deadline_s: float = 900.0  # every request of the run (the confirmation prompt excluded)
    max_attempts: int = 6
    backoff_s: float = 0.2  # first retry's backoff; doubles, with jitter
    max_wait_s: float = 60.0  # longest rate-limit wait honoured


@dataclass
class Stats:
    """What the client did, for the plan/apply summary and for tests."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    waited_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw: float) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _shown(url: str) -> str:
    """scheme://host[:port]/path of a URL: no query, which may carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class Client:
    """One API's base URL and credentials (headers). Retries 5xx, timeouts, dropped connections
    and answers cut off mid-body with exponential backoff and jitter; on 429 waits as the server
    says (`Retry-After`, or Datadog's `X-RateLimit-Reset` seconds). TLS is always verified.
    `hints` add what to check to a refusal's message, by status (401/403: which settings), as
    text or a function of the server's text.
    `json_api`: a success whose body is not JSON is an error (a web page always is)."""

    def __init__(self, base_url: str, headers: dict[str, str], secrets: list[str], *,
                 limits: Limits | None = None,
                 hints: dict[int, str | Callable[[str], str | None]] | None = None,
                 pool_size: int = 10, json_api: bool = True,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.session.headers.setdefault("User-Agent", "moncat")
        adapter = WatchedAdapter(pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.redactor = Redactor(secrets)
        self.limits = limits or Limits()
        self.hints = hints or {}
        self.json_api = json_api  # every success carries JSON (or nothing)
        self.sleep = sleep
        self.stats = Stats()
        self._run_stop = time.monotonic() + self.limits.run_deadline_s
        self._down = ""  # why nothing more is sent to this server, once it stopped answering
        self._lock = threading.Lock()

    # -- secrets -------------------------------------------------------------------------------

    def add_secrets(self, secrets: list[str]) -> None:
        self.redactor.add(secrets)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def excerpt(self, text: str) -> str:
        return self.redactor.excerpt(text)

    # -- the run's deadline ----------------------------------------------------------------------

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent in the block (a person reading the plan) does not count against the run."""
        started = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._run_stop += time.monotonic() - started

    def _before_attempt(self, method: str, url: str, attempt: int, last: str) -> float:
        """Seconds this attempt may take; NotSent before a first attempt that must not be made,
        ApiError before a retry."""
        with self._lock:
            down, left = self._down, self._run_stop - time.monotonic()
        why = down or ("" if left > 0 else f"the run's deadline passed ({self.limits.run_deadline_s:g} s, "
                                           "MONCAT_APPLY_DEADLINE_S)")
        if why and not attempt:
            raise NotSent(method, _shown(url), f"not sent: {why}")
        if why:
            raise ApiError(method, _shown(url), None, f"gave up after {attempt} attempts ({last}): {why}",
                           transient=True)
        return min(self.limits.request_deadline_s, left)

    def _mark_down(self, why: str) -> None:
        with self._lock:
            self._down = self._down or f"the server stopped answering ({why})"

    # -- one exchange ------------------------------------------------------------------------------

    def _exchange(self, method: str, url: str, seconds: float, **kw: Any) -> requests.Response:
        """One request and its whole answer within `seconds`, or Transport."""
        timeout = min(self.limits.timeout_s, seconds)
        phase = "head"
        with Exchange(seconds) as watch:
            try:
                resp = self.session.request(method, url, stream=True, allow_redirects=False,
                                            timeout=(timeout, timeout), **kw)
                phase = "body"
                resp.content  # noqa: B018 - read the whole answer under the deadline
                return resp
            except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                    OSError) as exc:
                if watch.expired:
                    raise failures.deadline(phase, seconds, seconds < self.limits.request_deadline_s) from None
                raise failures.classify(exc, phase, timeout, urlsplit(url).netloc,
                                        self.redactor) from None

    # -- requests ----------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        return min(self.limits.backoff_s * (2 ** attempt) * (0.5 + random.random() / 2),
                   self.limits.max_wait_s)

    def _rate_wait(self, resp: requests.Response, attempt: int) -> float:
        for header in ("Retry-After", "X-RateLimit-Reset"):
            value = resp.headers.get(header)
            if value:
                try:
                    return min(max(float(value), 0.0), self.limits.max_wait_s)
                except ValueError:
                    pass
        return self._backoff(attempt)

    def refusal(self, method: str, url: str, resp: requests.Response) -> ApiError:
        """A 4xx (or other final status) as an error: the server's words, redacted, and the hint."""
        text = self.excerpt(resp.text) or resp.reason or "no text"
        hint = self.hints.get(resp.status_code)
        if callable(hint):
            hint = hint(text)
        return ApiError(method, _shown(url), resp.status_code, f"{text} ({hint})" if hint else text)

    def _redirected(self, method: str, url: str, resp: requests.Response) -> str:
        """Where a redirect on the same host leads; ApiError for any other."""
        target = urljoin(url, resp.headers["Location"])
        status = resp.status_code
        if _origin(target) != _origin(self.base_url):
            scheme, host, port = _origin(target)
            raise ApiError(method, _shown(url), status, self.redact(
                f"redirected to another host, {scheme}://{host}:{port}: not followed, so that the "
                f"credentials stay with {_shown(self.base_url)}; set the URL to the address that answers"))
        if method not in ("GET", "HEAD") and status not in (307, 308):
            raise ApiError(method, _shown(url), status, self.redact(
                f"redirected to {_shown(target)}, which would turn the {method} into a GET: set the "
                "URL to the address that answers"))
        return target

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                headers: dict | None = None, ok: tuple[int, ...] = (), data: bytes | None = None,
                recover: Callable[[], Any] | None = None) -> Any:
        """The response of the first attempt that is not 5xx/429/transport error. Statuses in `ok`
        (e.g. 404 for "not there") are returned, any other 4xx raises ApiError. `data` is a raw
        body for APIs that take no JSON; set its Content-Type in `headers`.

        `recover`, for a request that is not idempotent (a POST whose server assigns the id):
        before a retry that follows a failure after which the server may have acted (5xx, no
        answer, an answer cut off), `recover()` looks the object up; what it finds (not None) is
        returned instead of retrying, so a lost answer never makes a second object."""
        url = self.base_url + path
        write = method.upper() not in ("GET", "HEAD")
        attempt = silent = hops = 0
        last = ""
        while True:
            seconds = self._before_attempt(method, url, attempt, last)
            self.stats.add(requests=1, writes=1 if write else 0)
            maybe_done = unanswered = False
            try:
                resp = self._exchange(method, url, seconds, json=json, data=data, params=params,
                                      headers=headers)
            except Transport as exc:
                if exc.permanent:
                    raise ApiError(method, _shown(url), None, exc.what) from None
                last, maybe_done, wait = exc.what, exc.sent, self._backoff(attempt)
                unanswered, silent = exc.unanswered, silent + exc.silent
            else:
                status = resp.status_code
                if status in REDIRECTS and resp.headers.get("Location"):
                    hops += 1
                    if hops > MAX_REDIRECTS:
                        raise ApiError(method, _shown(url), status, "more than 5 redirects")
                    url, params = self._redirected(method, url, resp), None
                    continue
                if status == 429:
                    last, wait = "429 rate limited", self._rate_wait(resp, attempt)
                elif status in RETRY_STATUSES:
                    last, maybe_done, wait = f"{status}", True, self._backoff(attempt)
                elif status < 400 or status in ok:
                    if status < 300:
                        self._check_answer(method, resp)
                    return resp
                else:
                    raise self.refusal(method, url, resp)
            attempt += 1
            if attempt >= self.limits.max_attempts or silent >= MAX_SILENT:
                self._give_up(method, url, attempt, last, unanswered)
            with self._lock:
                left = self._run_stop - time.monotonic()
            if wait >= left:
                raise ApiError(method, _shown(url), None, f"gave up after {attempt} attempts ({last}): a "
                               f"retry would pass the run's deadline ({self.limits.run_deadline_s:g} s, "
                               "MONCAT_APPLY_DEADLINE_S)", transient=True)
            self.stats.add(retries=1, waited_s=wait)
            self.sleep(wait)
            if recover is not None and write and maybe_done:
                found = self._recover(method, url, last, recover)
                if found is not None:
                    return found

    def _give_up(self, method: str, url: str, attempts: int, last: str, unanswered: bool) -> None:
        if unanswered:
            self._mark_down(f"{method} {_shown(url)}: {last}")
        raise ApiError(method, _shown(url), None, f"gave up after {attempts} attempts ({last})",
                       transient=True)

    def _recover(self, method: str, url: str, last: str, recover: Callable[[], Any]) -> Any:
        try:
            return recover()
        except ApiError as exc:
            raise ApiError(method, _shown(url), None, f"{last}; the server may have made the object, "
                           f"and looking it up failed ({exc}): the next plan shows it",
                           transient=True) from None

    # -- answers -----------------------------------------------------------------------------------

    def _check_answer(self, method: str, resp: requests.Response) -> None:
        """A success whose body is a web page (a proxy's login page), or for a JSON API anything
        but JSON, is no success."""
        ctype = (resp.headers.get("Content-Type") or "").lower()
        wrong = "html" in ctype or (self.json_api and "json" not in ctype)
        if wrong and resp.content.strip():
            expected = "a JSON answer" if self.json_api else "the API's answer"
            raise ApiError(method, _shown(resp.url), resp.status_code, f"expected {expected}, got "
                           f"{failures.describe_body(resp, self.redactor)}")

    def json(self, resp: requests.Response, expect: type | tuple[type, ...], what: str) -> Any:
        """The answer's JSON when it is of the type expected (`what` names it for the error):
        a login page, `null` or `[]` where an object belongs is an ApiError naming the URL and
        what came back."""
        method = resp.request.method or "GET"
        try:
            data = resp.json()
        except ValueError:
            raise ApiError(method, _shown(resp.url), resp.status_code,
                           f"expected {what}, but the answer is not JSON: "
                           f"{failures.describe_body(resp, self.redactor)}") from None
        if not isinstance(data, expect):
            raise ApiError(method, _shown(resp.url), resp.status_code,
                           f"expected {what}, got {failures.describe_json(data)}")
        return data

    def objects(self, resp: requests.Response, what: str, key: str) -> list[dict[str, Any]]:
        """A JSON list whose every item is an object carrying `key`."""
        items = self.json(resp, list, f"a list of {what}")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or item.get(key) in (None, ""):
                raise ApiError(resp.request.method or "GET", _shown(resp.url), resp.status_code,
                               f"expected a list of {what}, each an object with its {key!r}; "
                               f"item {i} is {failures.describe_json(item)}")
        return items

    def create(self, path: str, body: Any, find: Callable[[], dict[str, Any] | None], what: str,
               key: str = "id", unwrap: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
        """POST a new object whose id the server assigns; the created (or recovered) object,
        which carries `key`. See `request` for how `find` keeps a lost answer from making two.
        `unwrap`: the object in an answer that wraps it (Datadog's SLOs: `{"data": [slo]}`)."""
        got = self.request("POST", path, json=body, recover=find)
        answer = self.json(got, dict, what) if isinstance(got, requests.Response) else got
        obj = unwrap(answer) if unwrap and isinstance(got, requests.Response) else answer
        if not isinstance(obj, dict) or obj.get(key) in (None, ""):
            raise ApiError("POST", _shown(self.base_url + path), None,
                           f"expected {what} with its {key!r}, got {failures.describe_json(answer)}")
        return obj
