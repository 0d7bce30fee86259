"""The apply client (compiler/apply/client.py) against fakes that misbehave as real servers and
proxies do (tests/fakes/loopback.py): deadlines on slow and silent servers, answers cut off,
redirects to other hosts, login pages for answers, TLS refusals, and secrets in every spelling
kept out of what it says."""
from __future__ import annotations

import json
import re
import subprocess
import time
from urllib.parse import quote, quote_plus

import pytest
import requests

from compiler.apply.client import ApiError, Client, Limits, NotSent
from compiler.apply.endpoint import checked_secret, checked_url, limits
from compiler.apply.redaction import Redactor
from compiler.apply.registry import ConfigError
from conftest import SHARED
from fakes.datadog_fake import FakeDatadog

OPENAPI = SHARED / "schemas" / "datadog" / "openapi-v1.yaml"
MONITORS = "/api/v1/monitor"
SHORT = Limits(timeout_s=0.5, request_deadline_s=1.5, run_deadline_s=60, backoff_s=0.01)
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in - Example SSO</title></head><body>...</body></html>"


@pytest.fixture
def fake():
    with FakeDatadog(OPENAPI) as server:
        yield server
    assert not server.schema_errors


def client_for(fake: FakeDatadog, limits: Limits = SHORT, url: str | None = None) -> Client:
    keys = {"DD-API-KEY": fake.api_key, "DD-APPLICATION-KEY": fake.app_key}
    return Client(url or fake.url, keys, [fake.api_key, fake.app_key], limits=limits)


def monitor(i: int) -> dict:
    return {"name": f"m{i}", "type": "query alert", "query": f"avg(last_5m):avg:x{{*}} > {i}",
            "message": "m", "options": {"thresholds": {"critical": i}}, "tags": [f"moncat-id:svc/m{i}"]}


# --- deadlines ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, says", [
    ("trickle", "the answer was still arriving after 1.5 s (the request deadline, MONCAT_APPLY_REQUEST_DEADLINE_S)"),
    ("trickle-headers", "no complete answer within 1.5 s (the request deadline, MONCAT_APPLY_REQUEST_DEADLINE_S)"),
])
def test_a_server_trickling_its_answer_is_cut_at_the_request_deadline_and_then_left_alone(fake, kind, says):
    for i in range(20):
        fake.seed_monitor(monitor(i))  # a body long enough to outlast the deadline
    fake.misbehave(kind, 3, methods={"GET"}, every_s=0.2)  # one byte per 0.2 s: never silent long
    client = client_for(fake)
    started = time.monotonic()
    with pytest.raises(ApiError) as err:
        client.request("GET", MONITORS)
    elapsed = time.monotonic() - started
    # Two attempts, each cut at 1.5 s: the socket timeout (0.5 s) alone would wait for ever.
    assert 2 * 1.5 <= elapsed < 2 * 1.5 + 1.5, elapsed
    assert f"gave up after 2 attempts ({says}" in str(err.value)
    assert [e.misbehaviour for e in fake.received()] == [kind, kind]
    # A server that stopped answering gets nothing more in this run.
    with pytest.raises(NotSent, match="not sent: the server stopped answering"):
        client.request("GET", MONITORS)
    assert len(fake.received()) == 2


def test_a_server_that_never_answers_costs_two_timeouts_not_six(fake):
    fake.misbehave("silent", 6, hold_s=5)
    client = client_for(fake)
    started = time.monotonic()
    with pytest.raises(ApiError, match=r"gave up after 2 attempts \(no response within 0.5 s\)"):
        client.request("GET", MONITORS)
    assert time.monotonic() - started < 2.0
    assert len(fake.received()) == 2 and client.stats.retries == 1


def test_the_run_deadline_stops_sending_and_says_so(fake):
    client = client_for(fake, Limits(timeout_s=0.5, request_deadline_s=0.5, run_deadline_s=0.8, backoff_s=0.01))
    assert client.request("GET", MONITORS).status_code == 200
    time.sleep(0.9)
    with pytest.raises(NotSent, match=r"the run's deadline passed \(0.8 s, MONCAT_APPLY_DEADLINE_S\)"):
        client.request("GET", MONITORS)
    assert len(fake.received()) == 1
    # Time spent at the confirmation prompt does not count.
    paused = client_for(fake, Limits(timeout_s=0.5, request_deadline_s=0.5, run_deadline_s=0.8))
    with paused.paused():
        time.sleep(0.9)
    assert paused.request("GET", MONITORS).status_code == 200


def test_limits_come_from_the_environment_and_are_checked():
    got = limits({"MONCAT_APPLY_TIMEOUT_S": "3", "MONCAT_APPLY_REQUEST_DEADLINE_S": "7",
                  "MONCAT_APPLY_DEADLINE_S": "120", "MONCAT_APPLY_BACKOFF_S": "0.5"})
    assert (got.timeout_s, got.request_deadline_s, got.run_deadline_s, got.backoff_s) == (3, 7, 120, 0.5)
    assert limits({}) == Limits()
    with pytest.raises(ConfigError, match="MONCAT_APPLY_DEADLINE_S must be above zero"):
        limits({"MONCAT_APPLY_DEADLINE_S": "0"})


# --- answers cut off, login pages, redirects ------------------------------------------------

@pytest.mark.parametrize("kind", ["cut", "cut-chunked", "commit-then-drop"])
def test_an_answer_cut_off_or_lost_is_retried_like_a_transport_error(fake, kind):
    fake.seed_monitor(monitor(1))
    fake.misbehave(kind, methods={"GET"})
    client = client_for(fake)
    items = client.objects(client.request("GET", MONITORS), "monitors", "id")
    assert [m["name"] for m in items] == ["m1"]
    assert [e.misbehaviour for e in fake.received()] == [kind, ""] and client.stats.retries == 1


@pytest.mark.parametrize("body, content_type, says", [
    (LOGIN_PAGE, "text/html; charset=utf-8", "expected a JSON answer, got an HTML page titled 'Sign in - Example SSO'"),
    (b"null", "application/json", "expected a list of monitors, got JSON null"),
    (b"{}", "application/json", "expected a list of monitors, got an empty JSON object"),
    (b"[1, 2]", "application/json", "item 0 is a JSON number"),
    (b"<html>oops", "application/json", "expected a list of monitors, but the answer is not JSON: an HTML page"),
])
def test_a_200_that_is_not_the_json_expected_is_an_error_naming_the_url_and_what_came(fake, body, content_type, says):
    fake.misbehave("answer", body=body, content_type=content_type)
    client = client_for(fake)
    with pytest.raises(ApiError) as err:
        client.objects(client.request("GET", MONITORS), "monitors", "id")
    assert f"GET {fake.url}{MONITORS}: 200: " in str(err.value)
    assert says in str(err.value)
    assert not err.value.transient


def test_a_redirect_to_another_host_is_not_followed_and_the_keys_never_leave(fake):
    with FakeDatadog(OPENAPI) as other:
        elsewhere = other.url.replace("127.0.0.1", "localhost")
        fake.misbehave("redirect", methods={"POST"}, location=elsewhere)
        client = client_for(fake)
        with pytest.raises(ApiError) as err:
            client.request("POST", MONITORS, json=monitor(1))
        assert other.requests == [] and other.received() == []
    port = elsewhere.rsplit(":", 1)[1]
    assert f"307: redirected to another host, http://localhost:{port}: not followed" in str(err.value)
    assert fake.monitors == {} and len(fake.received("POST")) == 1


def test_a_redirect_on_the_same_host_is_followed_for_a_read_and_keeps_307s_method(fake):
    fake.seed_monitor(monitor(1))
    fake.misbehave("redirect", methods={"GET"}, location=fake.url)
    client = client_for(fake)
    assert len(client.objects(client.request("GET", MONITORS), "monitors", "id")) == 1
    fake.misbehave("redirect", methods={"POST"}, location=fake.url)
    client.request("POST", MONITORS, json=monitor(2))
    assert len(fake.monitors) == 2 and client.stats.retries == 0


# --- TLS ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


def test_an_untrusted_certificate_says_what_failed_without_retries_and_a_ca_bundle_fixes_it(certificate, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    fake = FakeDatadog(OPENAPI).start(tls=certificate)
    try:
        client = client_for(fake)
        with pytest.raises(ApiError) as err:
            client.request("GET", MONITORS)
        assert "TLS: the certificate of 127.0.0.1:" in str(err.value)
        assert "self-signed certificate" in str(err.value) and "REQUESTS_CA_BUNDLE" in str(err.value)
        assert client.stats.requests == 1 and client.stats.retries == 0
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate[0])
        assert client_for(fake).request("GET", MONITORS).status_code == 200
    finally:
        fake.stop()


def test_https_to_a_plain_http_server_fails_once_and_says_tls_failed(fake):
    client = client_for(fake, url=fake.url.replace("http://", "https://"))
    with pytest.raises(ApiError, match=r"TLS handshake with 127\.0\.0\.1:\d+ failed"):
        client.request("GET", MONITORS)
    assert client.stats.requests == 1


@pytest.mark.parametrize("url, says", [
    ("http://grafana.example.com", "must be https:// (http:// only for localhost)"),
    ("http://10.0.0.8:3000", "must be https://"),
    ("https://u:p@grafana.example.com", "no credentials"),
    ("https://grafana.example.com/?token=x", "no credentials, query or fragment"),
    ("https://grafana.example.com:99999", "must be https://host[:port][/path]"),
    ("https://grafana .example.com", "must be https://host[:port][/path]"),
])
def test_urls_that_would_expose_credentials_are_refused(url, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        checked_url(url, "the URL", "set the token instead")


@pytest.mark.parametrize("url", ["http://localhost:3000", "http://127.0.0.1:9", "http://[::1]:80/prefix"])
def test_http_stays_allowed_to_this_machine(url):
    assert checked_url(url, "the URL", "").scheme == "http"


def test_a_credential_with_a_newline_is_refused_naming_the_variable_only():
    with pytest.raises(ConfigError) as err:
        checked_secret("GRAFANA_TOKEN", "glsa_abc123\n")
    assert "GRAFANA_TOKEN" in str(err.value) and "glsa_abc123" not in str(err.value)


# --- secrets --------------------------------------------------------------------------------

SECRET = "dd/Key+with spaces&<odd>é-0123456789abcdef"


@pytest.mark.parametrize("form", [
    SECRET, json.dumps(SECRET)[1:-1], json.dumps(SECRET, ensure_ascii=False)[1:-1], quote(SECRET, safe=""),
    quote_plus(SECRET), quote(SECRET, safe="").lower(), json.dumps(SECRET)[1:-1].replace("/", "\\/"),
    json.dumps(SECRET)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"),
])
def test_every_spelling_of_a_secret_is_redacted(form):
    text = f"error: key {form} is not valid"
    assert Redactor([SECRET]).redact(text) == "error: key *** is not valid"


def test_server_text_is_redacted_before_it_is_cut_so_no_prefix_of_a_secret_is_shown(fake):
    # The echoed key straddles the 300th character, once JSON-escaped and once URL-encoded.
    for echoed in (json.dumps(fake.api_key)[1:-1], quote(fake.app_key, safe="")):
        body = json.dumps({"errors": ["x" * 270 + " bad key: " + echoed]}).encode()
        fake.misbehave("answer", status=400, body=body, content_type="application/json")
        with pytest.raises(ApiError) as err:
            client_for(fake).request("GET", MONITORS)
        text = str(err.value)
        assert "***" in text
        for secret in (fake.api_key, fake.app_key):
            assert not any(secret[i:i + 6] in text for i in range(len(secret) - 5))


def test_a_refusal_says_what_to_check_and_is_not_transient(fake):
    client = Client(fake.url, {"DD-API-KEY": "wrong-key-0000", "DD-APPLICATION-KEY": fake.app_key},
                    ["wrong-key-0000"], limits=SHORT, hints={403: "check DD_API_KEY"})
    with pytest.raises(ApiError) as err:
        client.request("GET", MONITORS)
    assert str(err.value) == f"GET {fake.url}{MONITORS}: 403: {{\"errors\": [\"Forbidden\"]}} (check DD_API_KEY)"
    assert err.value.status == 403 and not err.value.transient and client.stats.requests == 1


def test_a_create_whose_answer_is_lost_is_looked_up_before_it_is_retried(fake):
    client = client_for(fake)
    lookups = []

    def find() -> dict | None:
        lookups.append(1)
        found = [m for m in fake.monitors.values() if "moncat-id:svc/m1" in m["tags"]]
        return found[0] if found else None

    fake.misbehave("commit-then-500", methods={"POST"})
    made = client.create(MONITORS, monitor(1), find, "the created monitor")
    assert len(fake.monitors) == 1 and made["id"] in fake.monitors and lookups == [1]
    # A 429 is refused before it is applied: retried without a look-up.
    fake.fail_next(1, 429, methods={"POST"})
    client.create(MONITORS, monitor(2), find, "the created monitor")
    assert len(fake.monitors) == 2 and lookups == [1]
    assert [e.method for e in fake.received()] == ["POST", "POST", "POST"]


def test_requests_stays_out_of_the_way(fake):
    """No automatic retries or redirects inside requests: the client decides, and counts."""
    client = client_for(fake)
    adapter = client.session.get_adapter(fake.url)
    assert adapter.max_retries.total == 0
    assert isinstance(client.request("GET", MONITORS), requests.Response)

