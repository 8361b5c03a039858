"""The timeline's buckets and the validity bar's layout: pure functions of views and now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zerossl_tui.core.models import CertificateSpec, CertificateView, CertInfo, CertStatus
from zerossl_tui.ui import timeline_model as tm
from zerossl_tui.ui import validity_model as vm

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def view(name: str, expires: timedelta | None, renews: timedelta | None, source: str = "lifetime",
         status: CertStatus = CertStatus.VALID, ari: tuple[timedelta, timedelta] | None = None) -> CertificateView:
    info = None
    if expires is not None:
        info = CertInfo("0A1B", NOW + expires - timedelta(days=90), NOW + expires, (f"{name}.example",))
    window = (NOW + ari[0], NOW + ari[1]) if ari else None
    return CertificateView(CertificateSpec(name, (f"{name}.example",), "local"), status, info,
                           NOW + renews if renews is not None else None, source, ari_window=window)


def test_each_certificate_counts_in_the_day_of_its_expiry_and_of_its_renewal() -> None:
    timeline = tm.build([view("a", timedelta(days=30), timedelta(days=5))], NOW)
    assert len(timeline.buckets) == 90 and timeline.days == 1
    assert timeline.buckets[30].expiring == ["a"] and timeline.buckets[5].renewing == ["a"]
    assert timeline.buckets[5].label() == "2025-06-06"
    assert sum(len(b.expiring) + len(b.renewing) for b in timeline.buckets) == 2


def test_past_moments_land_today_and_beyond_the_horizon_is_left_out() -> None:
    late = view("late", timedelta(days=-2), timedelta(days=-3), status=CertStatus.EXPIRED)
    far = view("far", timedelta(days=200), timedelta(days=120))
    timeline = tm.build([late, far], NOW)
    assert timeline.buckets[0].expiring == ["late"] and timeline.buckets[0].renewing == ["late"]
    assert timeline.buckets[0].troubled == ["late"]
    assert all("far" not in b.names for b in timeline.buckets)


def test_backoff_and_rate_limit_are_marked_as_trouble() -> None:
    views = [view("b", timedelta(days=3), timedelta(minutes=37), "backoff"),
             view("r", timedelta(days=9), timedelta(days=1), "rate-limit"),
             view("ok", timedelta(days=9), timedelta(days=1))]
    timeline = tm.build(views, NOW)
    assert timeline.buckets[0].troubled == ["b"]
    assert timeline.buckets[1].troubled == ["r"]
    assert tm.summary(timeline.buckets[1]) == "2025-06-02: 2 renewals, 0 expiries, 1 failing"


def test_weeks_cover_the_same_horizon_when_the_strip_is_narrow() -> None:
    assert tm.bucket_days(140) == 1 and tm.bucket_days(60) == 7
    timeline = tm.build([view("a", timedelta(days=15), timedelta(days=8))], NOW, days=7)
    assert len(timeline.buckets) == 13
    assert timeline.buckets[2].expiring == ["a"] and timeline.buckets[1].renewing == ["a"]
    assert timeline.buckets[1].label() == "2025-06-08 – 2025-06-14"


def test_ten_thousand_certificates_are_each_counted_once() -> None:
    views = [view(f"c{i}", timedelta(days=i % 100, hours=i % 24), timedelta(days=i % 70)) for i in range(10_000)]
    timeline = tm.build(views, NOW)
    assert sum(len(b.renewing) for b in timeline.buckets) == 10_000
    inside = sum(1 for v in views if v.info and v.info.not_after < tm.day_start(NOW) + timedelta(days=90))
    assert sum(len(b.expiring) for b in timeline.buckets) == inside < 10_000
    assert timeline.peak == max(len(b.renewing) for b in timeline.buckets)


def test_validity_bar_places_now_renewal_and_ari_window() -> None:
    cert = view("a", timedelta(days=60), timedelta(days=30), "ari", ari=(timedelta(days=28), timedelta(days=32)))
    bar = vm.layout(cert, NOW, 91)
    assert bar is not None
    assert bar.now == 30 and bar.renew == 60 and bar.ari == (58, 62)
    assert bar.cells[0] == "used" and bar.cells[40] == "left" and bar.cells[60] == "ari"
    assert bar.cells[90] == "late"
    assert "renewal window (ARI)" in vm.reason(cert, NOW)


def test_validity_bar_is_absent_for_a_certificate_never_issued() -> None:
    never = view("n", None, timedelta(0), status=CertStatus.NEVER_ISSUED)
    assert vm.layout(never, NOW, 40) is None
    assert vm.reason(never, NOW).startswith("never issued")


def test_reason_names_the_rule_and_the_explanation() -> None:
    cert = view("b", timedelta(days=3), timedelta(minutes=37), "backoff")
    cert = CertificateView(cert.spec, cert.status, cert.info, cert.next_renewal, cert.renewal_source,
                           explanation="https://ca.example/why")
    line = vm.reason(cert, NOW)
    assert "2025-06-01 12:37:00 UTC, in 37m 00s" in line and "backoff" in line and line.endswith("https://ca.example/why")


def test_marker_labels_never_overlap_nor_run_off_the_edge() -> None:
    from zerossl_tui.ui.widgets.validity import spread

    placed = spread([(10, "▲ now"), (11, "◆ renewal")], 40)
    assert placed == [(10, "▲ now"), (16, "◆ renewal")]
    placed = spread([(36, "▲ now"), (37, "◆ renewal")], 40)
    assert placed == [(25, "▲ now"), (31, "◆ renewal")]
    assert all(at + len(label) <= 40 for at, label in placed)
