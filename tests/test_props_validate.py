"""Property tests of user-input checks (core.validate): EAB credentials, e-mail, ports, and whole provider
and certificate entries. Bad input is one UsageError line that never repeats a secret; good input passes.

Derandomized (the same cases on every run); ``ZT_PROPS_SCALE=10`` runs ten times as many, and
``ZT_PROPS_RANDOM=1`` draws new ones.
"""

from __future__ import annotations

import base64

from helpers import examples, one_line_message
from hypothesis import example, given
from hypothesis import strategies as st

from zerossl_tui.core.errors import UsageError
from zerossl_tui.core.validate import (
    build_certificate,
    build_provider,
    check_eab_hmac,
    check_eab_kid,
    check_email,
    check_port,
)

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _message_for(value: str) -> str:
    try:
        check_eab_hmac(value)
    except UsageError as exc:
        return exc.message
    raise AssertionError(f"{value!r} was accepted")


# The only things check_eab_hmac ever says: constant text, so it can never repeat the value.
FIXED_HMAC_MESSAGES = {_message_for(v) for v in ("not base64!", "AAAAA", "AAAA")}


secretish = st.one_of(
    st.text(B64URL, max_size=90),
    st.text(B64URL + "=+/ .\n\t!$%", max_size=90),
    st.text(st.characters(codec="utf-8"), max_size=60),
    st.binary(max_size=64).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    st.binary(max_size=64).map(lambda raw: base64.b64encode(raw).decode()),
)


@examples(1500)
@given(secretish)
@example("")
@example("A" * 21)  # 21 characters decode to 15 bytes: too short
@example("A" * 22)  # 16 bytes
@example("AAAAA")  # a length that is no base64 at all
@example("AAAA====")
def test_eab_hmac_is_base64url_of_16_bytes_or_an_error_that_never_repeats_it(value: str) -> None:
    try:
        accepted = check_eab_hmac(value)
    except UsageError as exc:
        assert one_line_message(exc) in FIXED_HMAC_MESSAGES, "the error depends on the value: it may repeat it"
        return
    assert accepted == value.strip() and set(accepted.rstrip("=")) <= set(B64URL)
    assert len(base64.urlsafe_b64decode(accepted + "=" * (-len(accepted) % 4))) >= 16


@examples(500)
@given(st.binary(min_size=16, max_size=64), st.booleans())
def test_every_real_hmac_key_is_accepted_with_or_without_padding(raw: bytes, padded: bool) -> None:
    text = base64.urlsafe_b64encode(raw).decode()
    text = text if padded else text.rstrip("=")
    assert check_eab_hmac(f"  {text}\n") == text


@examples(600)
@given(st.text(st.characters(codec="utf-8"), max_size=300) | st.text(B64URL + " :", max_size=40))
def test_eab_kid_is_printable_ascii_without_spaces_or_one_error(value: str) -> None:
    try:
        kid = check_eab_kid(value)
    except UsageError as exc:
        one_line_message(exc)
        return
    assert kid == value.strip() and 1 <= len(kid) <= 256 and all("!" <= ch <= "~" for ch in kid)


@examples(500)
@given(st.emails() | st.text(max_size=40))
def test_email_is_plausible_or_one_error(value: str) -> None:
    try:
        email = check_email(value)
    except UsageError as exc:
        one_line_message(exc)
        return
    assert email == value.strip() and (email == "" or email.count("@") == 1)
    assert not any(ch.isspace() or not ch.isprintable() for ch in email)


@examples(300)
@given(st.integers() | st.text(max_size=8) | st.floats(allow_nan=True))
def test_port_is_1_to_65535_or_one_error(value: object) -> None:
    try:
        port = check_port(value)  # type: ignore[arg-type]
    except UsageError as exc:
        one_line_message(exc)
        return
    assert 1 <= port <= 65535


optional_text = st.none() | st.text(max_size=30) | st.sampled_from(["", " ", "https://ca.example/dir"])


@examples(700)
@given(
    st.text(max_size=20) | st.sampled_from(["zerossl", "local", "letsencrypt"]),
    st.fixed_dictionaries({}, optional={
        "directory": optional_text | st.sampled_from(["http://ca.example/dir", "https://ca.example/dir\n",
                                                      "https://", "https://ca.example/d ir"]),
        "email": optional_text,
        "eab_kid": optional_text,
        "eab_hmac_key": st.none() | secretish,
        "api_key": optional_text,
        "ca_bundle": optional_text,
    }),
)
def test_provider_entries_are_valid_or_one_error_without_the_hmac(name: str, values: dict[str, str | None]) -> None:
    try:
        spec = build_provider(name, None, **values)
    except UsageError as exc:
        message = one_line_message(exc)
        hmac = (values.get("eab_hmac_key") or "").strip()
        elsewhere = [name, *(v for k, v in values.items() if k != "eab_hmac_key" and v)]
        if len(hmac) >= 10 and not any(hmac in text for text in elsewhere):  # shorter may be any English word
            assert hmac not in message, "the secret was repeated in the error"
        return
    assert spec.directory.startswith("https://") and bool(spec.eab_kid) == bool(spec.eab_hmac_key)
    assert "\n" not in spec.directory and " " not in spec.directory


@examples(700)
@given(
    st.text(max_size=12) | st.just("shop"),
    st.lists(st.text(max_size=20) | st.just("shop.example.com"), max_size=4),
    st.fixed_dictionaries({}, optional={
        "key_type": st.none() | st.sampled_from(["ec256", "rsa4096", "dsa", ""]),
        "http_port": st.none() | st.integers(-5, 70000),
        "webroot": optional_text,
        "certfile": optional_text,
        "keyfile": optional_text,
        "deploy_hook": optional_text,
    }),
)
def test_certificate_entries_are_valid_or_one_error(name: str, domains: list[str], options: dict[str, object]) -> None:
    try:
        spec = build_certificate(name, domains, "local", None, **options)
    except UsageError as exc:
        one_line_message(exc)
        return
    assert spec.domains and 1 <= spec.http_port <= 65535 and bool(spec.certfile) == bool(spec.keyfile)
