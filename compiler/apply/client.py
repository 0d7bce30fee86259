"""Apply stage, transport: HTTP with retries, backoff, rate-limit waits, and secrets kept out of
every message."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

RETRY_STATUSES = {500, 502, 503, 504}


class ApiError(Exception):
    """A request that failed for good: its method, path, status and the server's words."""

    def __init__(self, method: str, path: str, status: int | None, message: str):
        super().__init__(f"{method} {path}: {status or 'no response'}: {message}")
        self.method, self.path, self.status = method, path, status


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


class Client:
    """One API's base URL and auth. Retries 5xx, timeouts and connection errors with exponential
    backoff and jitter; on 429 waits as the server says (`Retry-After`, or Datadog's
    `X-RateLimit-Reset` seconds); gives up after `max_attempts`. TLS is always verified."""

    def __init__(self, base_url: str, headers: dict[str, str], secrets: list[str], *,
                 max_attempts: int = 6, timeout_s: float = 10.0, backoff_s: float = 0.2,
                 max_wait_s: float = 60.0, sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.session.headers.setdefault("User-Agent", "moncat")
        self.secrets = [s for s in secrets if s]
        self.max_attempts, self.timeout_s = max_attempts, timeout_s
        self.backoff_s, self.max_wait_s, self.sleep = backoff_s, max_wait_s, sleep
        self.stats = Stats()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def _wait_for(self, resp: requests.Response, attempt: int) -> float:
        for header in ("Retry-After", "X-RateLimit-Reset"):
            value = resp.headers.get(header)
            if value:
                try:
                    return min(max(float(value), 0.0), self.max_wait_s)
                except ValueError:
                    pass
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_s * (2 ** attempt) * (0.5 + random.random() / 2), self.max_wait_s)

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                headers: dict | None = None, ok: tuple[int, ...] = (),
                data: bytes | None = None) -> requests.Response:
        """The response of the first attempt that is not 5xx/429/transport error. Statuses in
        `ok` (e.g. 404 for "not there") are returned, any other 4xx raises ApiError. `data` is a
        raw body for APIs that take no JSON (the ruler's YAML); set its Content-Type in `headers`."""
        url = self.base_url + path
        write = method.upper() not in ("GET", "HEAD")
        last = ""
        for attempt in range(self.max_attempts):
            self.stats.add(requests=1, writes=1 if write else 0)
            try:
                resp = self.session.request(method, url, json=json, data=data, params=params,
                                            headers=headers, timeout=self.timeout_s)
            except (requests.Timeout, requests.ConnectionError) as exc:
                last = type(exc).__name__
                wait = self._backoff(attempt)
            else:
                if resp.status_code == 429:
                    last, wait = "429 rate limited", self._wait_for(resp, attempt)
                elif resp.status_code in RETRY_STATUSES:
                    last, wait = f"{resp.status_code}", self._backoff(attempt)
                elif resp.status_code < 400 or resp.status_code in ok:
                    return resp
                else:
                    raise ApiError(method, path, resp.status_code, self.redact(resp.text[:300]))
            if attempt + 1 < self.max_attempts:
                self.stats.add(retries=1, waited_s=wait)
                self.sleep(wait)
        raise ApiError(method, path, None, self.redact(f"gave up after {self.max_attempts} attempts ({last})"))
