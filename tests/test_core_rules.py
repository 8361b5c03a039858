"""Pure rules of the core layer: domain names, input checks, settings schema, renewal policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zerossl_tui.core.domains import normalize_domains
from zerossl_tui.core.errors import ConfigError, UsageError
from zerossl_tui.core.models import CertInfo, CertStatus, RenewalState
from zerossl_tui.core.policy import backoff_delay, is_due, next_renewal, status_of
from zerossl_tui.core.settings import parse_settings
from zerossl_tui.core.validate import build_provider, check_eab_hmac, check_reason

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def cert(days_total: float, days_left: float) -> CertInfo:
    not_after = NOW + timedelta(days=days_left)
    return CertInfo("1a", not_after - timedelta(days=days_total), not_after, ("a.example.com",))


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


def test_lifetime_rule_renews_with_a_third_left() -> None:
    info = cert(90, 31)
    assert not is_due(info, RenewalState(), NOW)
    assert next_renewal(info, RenewalState(), NOW).at == info.not_after - timedelta(days=30)
    assert is_due(cert(90, 29), RenewalState(), NOW)


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


def test_backoff_postpones_but_not_past_expiry() -> None:
    info = cert(90, 10)
    state = RenewalState(failures=3, next_attempt=NOW + timedelta(hours=2))
    assert next_renewal(info, state, NOW) == next_renewal(info, state, NOW)
    assert next_renewal(info, state, NOW).source == "backoff"
    dying = cert(90, 0.01)
    far = RenewalState(failures=9, next_attempt=NOW + timedelta(days=2))
    assert next_renewal(dying, far, NOW).at < dying.not_after


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
