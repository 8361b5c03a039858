"""ZeroSSL EAB fetching against a small fake of its REST API, and the EAB checks and choices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from tlsfake import serve_https

from zerossl_tui.core.errors import EabError, EabRequired, UsageError
from zerossl_tui.core.models import ProviderSpec
from zerossl_tui.devtools.pebble import free_port
from zerossl_tui.engine.accounts import AccountState, choose_eab
from zerossl_tui.engine.eab import check_eab_hmac, fetch_zerossl_eab

HMAC = "MjXU3MH-Z0WQ7piMAnVsCpD1shgMiWx6ggPWiTmydgUaj7dWWWfQfA"
API_KEY = "a1b2c3d4e5f6secretkey"


class FakeZeroSsl(BaseHTTPRequestHandler):
    """Answers like api.zerossl.com; ``answers`` maps an email or access key to a JSON body (or raw bytes)."""

    answers: dict[str, object] = {}
    seen: list[tuple[str, dict[str, list[str]]]] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.seen.append((url.path, {**form, **query}))
        if url.path == "/acme/eab-credentials-email":
            body = self.answers.get(form.get("email", [""])[0])
        elif url.path == "/acme/eab-credentials":
            body = self.answers.get(query.get("access_key", [""])[0])
        else:
            body = None
        raw = body if isinstance(body, bytes) else json.dumps(body or {"success": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def zerossl_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, url, ca_file = serve_https(FakeZeroSsl, tmp_path_factory.mktemp("fake-zerossl"))
    FakeZeroSsl.answers = {
        "ops@example.com": {"success": True, "eab_kid": "kid-from-email", "eab_hmac_key": HMAC},
        API_KEY: {"success": True, "eab_kid": "kid-from-key", "eab_hmac_key": HMAC},
        "busy@example.com": {"success": False, "error": {"code": 2904,
                                                         "type": "too_many_eab_credentials_created_today"}},
        "odd@example.com": {"success": False, "error": {"code": 9999, "type": "something_new"}},
        "html@example.com": b"<html>maintenance</html>",
        "mangled@example.com": {"success": True, "eab_kid": "k", "eab_hmac_key": "not/base64+"},
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # https only: trust the stand-in as requests does any CA
        yield url
    server.shutdown()
    server.server_close()


def test_credentials_are_fetched_by_email(zerossl_api: str) -> None:
    assert fetch_zerossl_eab("ops@example.com", base_url=zerossl_api) == ("kid-from-email", HMAC)
    path, fields = FakeZeroSsl.seen[-1]
    assert path == "/acme/eab-credentials-email" and fields["email"] == ["ops@example.com"]


def test_credentials_are_fetched_by_api_key_first(zerossl_api: str) -> None:
    assert fetch_zerossl_eab("ops@example.com", API_KEY, base_url=zerossl_api) == ("kid-from-key", HMAC)
    assert FakeZeroSsl.seen[-1][0] == "/acme/eab-credentials"


def test_too_many_credentials_today_is_explained(zerossl_api: str) -> None:
    with pytest.raises(EabError, match="too many EAB credentials were created today"):
        fetch_zerossl_eab("busy@example.com", base_url=zerossl_api)


def test_invalid_access_key_is_explained_without_the_key(zerossl_api: str) -> None:
    refusal = {"success": False, "error": {"code": 101, "type": "invalid_access_key"}}
    FakeZeroSsl.answers["wrongkey123"] = refusal
    with pytest.raises(EabError, match="access key is not valid") as raised:
        fetch_zerossl_eab(api_key="wrongkey123", base_url=zerossl_api)
    assert "wrongkey123" not in str(raised.value)


def test_unknown_error_code_shows_its_type_and_code(zerossl_api: str) -> None:
    with pytest.raises(EabError, match=r"something new \(code 9999\)"):
        fetch_zerossl_eab("odd@example.com", base_url=zerossl_api)


def test_non_json_answer_is_a_clear_error(zerossl_api: str) -> None:
    with pytest.raises(EabError, match="not JSON"):
        fetch_zerossl_eab("html@example.com", base_url=zerossl_api)


def test_mangled_hmac_from_the_api_is_an_eab_error_not_user_error(zerossl_api: str) -> None:
    with pytest.raises(EabError, match="not base64url"):
        fetch_zerossl_eab("mangled@example.com", base_url=zerossl_api)


def test_unreachable_api_never_shows_the_url_with_the_key() -> None:
    with pytest.raises(EabError, match="cannot reach the ZeroSSL API") as raised:
        fetch_zerossl_eab(api_key=API_KEY, base_url=f"https://127.0.0.1:{free_port()}", timeout=2)
    text = str(raised.value) + repr(raised.value.args)
    assert API_KEY not in text and "access_key" not in text and "127.0.0.1" not in text


def test_fetch_needs_an_email_or_a_key() -> None:
    with pytest.raises(EabError, match="email"):
        fetch_zerossl_eab()


def test_base64url_hmac_is_accepted_without_padding() -> None:
    assert check_eab_hmac(f" {HMAC} ") == HMAC


@pytest.mark.parametrize("value", ["", "not base64!", "abc+/def=="])
def test_non_base64url_hmac_says_what_is_expected(value: str) -> None:
    with pytest.raises(UsageError, match="EAB HMAC key must be base64url"):
        check_eab_hmac(value)


@pytest.mark.parametrize("value", ["a", "YWJj"])
def test_truncated_hmac_is_refused(value: str) -> None:
    with pytest.raises(UsageError, match="EAB HMAC key"):
        check_eab_hmac(value)


ZEROSSL = "https://acme.zerossl.com/v2/DV90"


def test_configured_eab_wins() -> None:
    spec = ProviderSpec("zerossl", ZEROSSL, email="a@b.c", eab_kid="k", eab_hmac_key=HMAC)
    assert choose_eab(spec, None, required=True) == ("k", HMAC, False)


def test_zerossl_with_email_fetches_when_required() -> None:
    assert choose_eab(ProviderSpec("zerossl", ZEROSSL, email="a@b.c"), None, required=True) == "fetch"


def test_credentials_fetched_before_are_reused() -> None:
    account = AccountState(b"", "", "kid-cached", HMAC)
    spec = ProviderSpec("zerossl", ZEROSSL, email="a@b.c")
    assert choose_eab(spec, account, True) == ("kid-cached", HMAC, True)


def test_ca_without_eab_needs_none() -> None:
    spec = ProviderSpec("le", "https://acme-v02.api.letsencrypt.org/directory")
    assert choose_eab(spec, None, False) is None


@pytest.mark.parametrize(("spec", "hint"), [
    (ProviderSpec("google", "https://dv.acme-v02.api.pki.goog/directory"), "provider add google --eab-kid"),
    (ProviderSpec("zerossl", ZEROSSL), "--email"),
])
def test_required_eab_without_a_source_says_how_to_configure_it(spec: ProviderSpec, hint: str) -> None:
    with pytest.raises(EabRequired, match=hint):
        choose_eab(spec, None, required=True)
