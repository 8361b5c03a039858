"""Error translation, Retry-After and bad-nonce retries (no CA needed: responses are built by hand)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from acme import messages

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.errors import (
    AccountDoesNotExist,
    AcmeProblem,
    CaUnreachable,
    EabRequired,
    RateLimited,
    UsageError,
)
from zerossl_tui.engine import keys
from zerossl_tui.engine.network import AcmeNetwork, host_of, parse_retry_after, tls_verify, translate_error

NOW = dt.datetime(2030, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def _response(status: int, body: object, headers: dict[str, str] | None = None,
              url: str = "https://acme.example.com/acme/new-order") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    response.headers.update(headers or {})
    response.url = url
    return response


def _problem(code: str, detail: str, **extra: object) -> dict[str, object]:
    return {"type": f"urn:ietf:params:acme:error:{code}", "detail": detail, **extra}


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("120", NOW) == 120.0


def test_retry_after_as_http_date() -> None:
    assert parse_retry_after("Wed, 01 May 2030 12:05:00 GMT", NOW) == 300.0


def test_retry_after_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 01 May 2030 11:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_rate_limited_problem_keeps_retry_after_from_the_header() -> None:
    net = AcmeNetwork(None, clock=FixedClock(NOW))
    answer = _response(429, _problem("rateLimited", "too many certificates for example.com"),
                       {"Retry-After": "3600", "Content-Type": "application/problem+json"})
    with pytest.raises(messages.Error) as raised:
        net._check_response(answer)
    error = translate_error(raised.value)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 3600.0 and error.status == 429
    assert "too many certificates" in error.message


def test_compound_problem_names_each_identifier() -> None:
    identifier = {"type": "dns", "value": "x.test"}
    sub = {**_problem("rejectedIdentifier", "forbidden by policy"), "identifier": identifier}
    body = _problem("rejectedIdentifier", "some names were refused", subproblems=[sub])
    net = AcmeNetwork(None)
    with pytest.raises(messages.Error) as raised:
        net._check_response(_response(400, body))
    error = translate_error(raised.value)
    assert type(error) is AcmeProblem and error.status == 400
    assert error.short_type == "rejectedIdentifier"
    assert "x.test: forbidden by policy" in error.message


@pytest.mark.parametrize(("code", "kind"), [
    ("externalAccountRequired", EabRequired), ("accountDoesNotExist", AccountDoesNotExist),
])
def test_special_problems_become_their_own_types(code: str, kind: type) -> None:
    error = translate_error(messages.Error.from_json(_problem(code, "says the CA")))
    assert isinstance(error, kind)
    assert "says the CA" in error.message


def test_tls_failure_tells_how_to_trust_a_private_ca() -> None:
    exc = requests.exceptions.SSLError("certificate verify failed")
    exc.request = requests.Request("GET", "https://ca.internal:14000/dir?token=s3cret").prepare()
    error = translate_error(exc)
    assert isinstance(error, CaUnreachable)
    assert "ca.internal:14000" in error.message and "ca_bundle" in error.message
    assert "s3cret" not in error.message and "/dir" not in error.message


def test_connection_failure_names_the_host_only() -> None:
    exc = requests.exceptions.ConnectionError("refused")
    error = translate_error(exc, "https://acme.example.org/directory?key=abc")
    assert isinstance(error, CaUnreachable)
    assert "acme.example.org" in error.message and "key=abc" not in error.message


def test_html_error_page_is_not_acme() -> None:
    from acme import errors as acme_errors

    net = AcmeNetwork(None)
    with pytest.raises(acme_errors.ClientError) as raised:
        net._check_response(_response(502, b"<html>Bad gateway</html>"))
    error = translate_error(raised.value)
    assert isinstance(error, CaUnreachable)
    assert "502" in error.message and "acme.example.com" in error.message


def test_error_answer_nonce_is_kept_for_the_retry() -> None:
    net = AcmeNetwork(None)
    answer = _response(400, _problem("badNonce", "stale"), {"Replay-Nonce": "AAAAAAAA"})
    with pytest.raises(messages.Error):
        net._check_response(answer)
    assert net._nonces  # the next attempt needs no newNonce round trip


def test_bad_nonce_is_retried_up_to_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    net = AcmeNetwork(keys.generate_key("ec256"), nonce_tries=4)
    calls: list[int] = []

    def always_bad(*args: object, **kwargs: object) -> requests.Response:
        calls.append(1)
        raise messages.Error.from_json(_problem("badNonce", "stale"))

    monkeypatch.setattr(net, "_post_once", always_bad)
    with pytest.raises(messages.Error):
        net.post("https://acme.example.com/x", None)
    assert len(calls) == 4 and net.nonce_retries == 3


@pytest.mark.parametrize(("key_type", "alg"), [("ec256", "ES256"), ("ec384", "ES384"), ("rsa2048", "RS256")])
def test_signing_algorithm_follows_the_key(key_type: str, alg: str) -> None:
    net = AcmeNetwork(keys.generate_key(key_type))
    assert net.alg.name == alg


def test_missing_ca_bundle_is_a_usage_error(tmp_path: object) -> None:
    with pytest.raises(UsageError, match="ca_bundle"):
        tls_verify("/nonexistent/ca.pem")
    assert tls_verify("") is True


def test_host_of_drops_path_and_query() -> None:
    assert host_of("https://api.example.com:8443/acme/x?access_key=K") == "api.example.com:8443"
