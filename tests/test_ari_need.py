"""Issue 14: the ARI pass paces by need. Certificates near their renewal (due, close to their lifetime-rule
moment, or an earlier ARI moment close) are asked first, soonest first, at the full pace; the others after,
spread over about FAR_SPREAD, so a first pass over 10,000 costs a quarter of the CPU a second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zerossl_tui.core.models import CertInfo, RenewalState
from zerossl_tui.core.validate import build_certificate
from zerossl_tui.service import ari

NOW = datetime(2026, 6, 1, tzinfo=UTC)
LIFETIME = timedelta(days=90)


def wanted(name: str, left: timedelta, state: RenewalState | None = None) -> tuple[object, ari.Question]:
    """A certificate of 90 days with ``left`` of them left, never asked (or in ``state``)."""
    info = CertInfo(serial=f"{abs(hash(name)) % 10**8:08X}", not_before=NOW + left - LIFETIME, not_after=NOW + left,
                    domains=(f"{name}.example.test",))
    spec = build_certificate(name, [f"{name}.example.test"], "local", None)
    return spec, ari.Question(name, {"serial": info.serial}, info, state or RenewalState())


def test_certificates_near_their_renewal_are_asked_first_soonest_first() -> None:
    far = wanted("far", timedelta(days=80))  # its lifetime rule is 50 days away
    close = wanted("close", timedelta(days=34))  # 2.2 to 4 days before its lifetime-rule moment (jitter)
    due = wanted("due", timedelta(days=20))  # past it
    early = wanted("early", timedelta(days=70), RenewalState(ari_chosen=NOW + timedelta(days=2)))  # CA said soon
    order = [ask.name for _, ask in ari.by_need([far, close, due, early], NOW)]  # type: ignore[list-item]
    assert order == ["due", "early", "close", "far"]


def test_far_certificates_are_spread_over_the_target_within_the_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    rate = ari.far_pace(10_000)
    assert ari.FAR_FLOOR <= rate < ari.LOOKUPS_PER_SECOND
    assert 10_000 / rate == pytest.approx(ari.FAR_SPREAD.total_seconds())  # a first pass of about 2 hours
    assert ari.far_pace(100) == ari.FAR_FLOOR  # a few hundred are asked within minutes all the same
    assert ari.far_pace(10**6) == ari.LOOKUPS_PER_SECOND  # never faster than the full pace
    monkeypatch.setattr(ari, "LOOKUPS_PER_SECOND", 0.0)
    assert ari.far_pace(10_000) == 0.0  # unpaced stays unpaced
