"""Pure rules of the core layer: domain names, input checks, settings schema, renewal policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from zerossl_tui.core.domains import normalize_domains
from zerossl_tui.core.errors import ConfigError, UsageError
from zerossl_tui.core.models import CertInfo, CertStatus, RenewalState
from zerossl_tui.core.policy import backoff_delay, is_due, next_renewal, retry_delay, status_of, usable_ari_window
from zerossl_tui.core.settings import parse_settings
from zerossl_tui.core.validate import build_provider, check_eab_hmac, check_reason

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def cert(days_total: float, days_left: float, serial: str = "0") -> CertInfo:
    not_after = NOW + timedelta(days=days_left)
    return CertInfo(serial, not_after - timedelta(days=days_total), not_after, ("a.example.com",))


def test_names_are_lowercased_deduplicated_and_punycoded() -> None:
    names = normalize_domains(["WWW.Example.com", "www.example.com.", "bücher.example"])
    assert names == ("www.example.com", "xn--bcher-kva.example")


@pytest.mark.parametrize("bad", ["a b.com", "a..b.com", "-a.com", "a-.com", "com", "a_b.com", "x" * 64 + ".com"])
def test_malformed_names_raise_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        normalize_domains([bad])


def test_wildcard_error_explains_http01() -> None:
    with pytest.raises(UsageError, match="dns-01"):
        normalize_domains(["*.example.com"])


def test_eab_hmac_check_never_echoes_value() -> None:
    with pytest.raises(UsageError) as err:
        check_eab_hmac("secret value!")
    assert "secret" not in str(err.value)
    assert check_eab_hmac(" " + "A" * 43 + " ") == "A" * 43


def test_provider_needs_https_and_both_eab_values() -> None:
    with pytest.raises(UsageError, match="https"):
        build_provider("x", directory="http://ca.example/dir")
    with pytest.raises(UsageError, match="both"):
        build_provider("zerossl", eab_kid="kid")
    assert build_provider("zerossl").directory.startswith("https://acme.zerossl.com")


def test_revocation_reason_names() -> None:
    assert check_reason("keyCompromise") == 1
    with pytest.raises(UsageError, match="not one of"):
        check_reason("bored")


def test_settings_unknown_key_named_with_line() -> None:
    text = '[certificates.a]\ndomains = ["a.example.com"]\nprovider = "x"\nkeytype = "ec256"\n'
    with pytest.raises(ConfigError, match=r"line 4.*keytype"):
        parse_settings({"certificates": {"a": {"domains": ["a.example.com"], "provider": "x",
                                               "keytype": "ec256"}}}, text, "s.toml")


def test_settings_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match="http_port"):
        parse_settings({"certificates": {"a": {"domains": ["a.example.com"], "provider": "x",
                                               "http_port": "80"}}})


def test_an_email_with_a_terminal_escape_is_refused_from_the_command_line_and_from_the_file() -> None:
    with pytest.raises(UsageError, match="not a valid address"):
        build_provider("x", directory="https://ca.example/dir", email="\x1b[31mops@example.com")
    with pytest.raises(ConfigError, match="providers.x.email"):
        parse_settings({"providers": {"x": {"directory": "https://ca.example/dir", "email": "o\x07@example.com"}}})


def test_lifetime_rule_renews_with_a_third_left() -> None:
    info = cert(90, 31)
    assert not is_due(info, RenewalState(), NOW)
    assert next_renewal(info, RenewalState(), NOW).at == info.not_after - timedelta(days=30)
    assert is_due(cert(90, 29), RenewalState(), NOW)


def test_jitter_is_stable_earlier_and_bounded() -> None:
    plain = next_renewal(cert(90, 60, "0"), RenewalState(), NOW).at
    jittered = [next_renewal(cert(90, 60, f"{s:x}"), RenewalState(), NOW).at for s in range(1, 400, 7)]
    assert all(plain - timedelta(days=90 / 50) <= at <= plain for at in jittered)
    assert len(set(jittered)) > 10
    again = next_renewal(cert(90, 60, "abc"), RenewalState(), NOW).at
    assert again == next_renewal(cert(90, 60, "abc"), RenewalState(), NOW).at


def test_short_lifetime_renews_at_half() -> None:
    info = cert(6, 3.1)
    decision = next_renewal(info, RenewalState(), NOW)
    assert decision.at == info.not_after - timedelta(days=3) and decision.source == "lifetime"


def test_ari_window_is_used_but_never_past_the_emergency_point() -> None:
    info = cert(90, 40)
    chosen = NOW + timedelta(days=5)
    assert next_renewal(info, RenewalState(ari_chosen=chosen), NOW).source == "ari"
    late = info.not_after - timedelta(days=1)
    decision = next_renewal(info, RenewalState(ari_chosen=late), NOW)
    assert decision.source == "emergency" and decision.at < late


def test_backoff_postpones_an_attempt() -> None:
    info = cert(90, 10)
    state = RenewalState(failures=3, next_attempt=NOW + timedelta(hours=2))
    decision = next_renewal(info, state, NOW)
    assert decision.source == "backoff" and decision.at == NOW + timedelta(hours=2)


def test_a_revoked_certificate_is_due_at_once_until_a_new_one_replaces_it() -> None:
    revoked = RenewalState(revoked_serial="ab", revoked_at=NOW - timedelta(minutes=1),
                           ari_chosen=NOW + timedelta(days=30))
    assert next_renewal(cert(90, 60, "ab"), revoked, NOW).source == "revoked"
    assert is_due(cert(90, 60, "ab"), revoked, NOW)
    assert status_of(cert(90, 60, "ab"), revoked, NOW, False) is CertStatus.REVOKED
    assert not is_due(cert(90, 60, "cd"), revoked, NOW)  # another serial (the replacement) is not revoked
    backing_off = replace(revoked, failures=2, next_attempt=NOW + timedelta(minutes=5))
    assert next_renewal(cert(90, 60, "ab"), backing_off, NOW).source == "backoff"


def test_retry_delay_shrinks_as_expiry_nears_but_never_spins() -> None:
    assert retry_delay(9, cert(90, 60), NOW) == timedelta(hours=4, minutes=16)
    dying = cert(90, 1 / 24)  # one hour left
    assert retry_delay(9, dying, NOW) == timedelta(minutes=15)
    assert retry_delay(9, cert(1 / 1440, 1 / 86400), NOW) == timedelta(seconds=5)
    assert retry_delay(3, cert(90, -1), NOW) == timedelta(minutes=4), "expired: plain backoff"


def test_ari_window_outside_the_lifetime_is_not_used() -> None:
    info = cert(90, 60)
    assert usable_ari_window(info, NOW + timedelta(days=20), NOW + timedelta(days=22))
    assert not usable_ari_window(info, NOW - timedelta(days=40), NOW + timedelta(days=80))


def test_backoff_grows_from_a_minute_to_six_hours() -> None:
    assert backoff_delay(1) == timedelta(minutes=1)
    assert backoff_delay(2) == timedelta(minutes=2)
    assert backoff_delay(50) == timedelta(hours=6)


def test_status_words() -> None:
    assert status_of(None, RenewalState(), NOW, False) is CertStatus.NEVER_ISSUED
    assert status_of(cert(90, 60), RenewalState(), NOW, False) is CertStatus.VALID
    assert status_of(cert(90, 20), RenewalState(), NOW, False) is CertStatus.DUE
    assert status_of(cert(90, 2), RenewalState(), NOW, False) is CertStatus.EXPIRING
    assert status_of(cert(90, -1), RenewalState(), NOW, False) is CertStatus.EXPIRED
    assert status_of(cert(90, 60), RenewalState(), NOW, True) is CertStatus.ISSUING
