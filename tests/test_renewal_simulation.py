"""A simulated year: 1,000 certificates, a fake clock, a fake CA with outages of up to 3 days and rate limits.

The scheduling decisions are the product's own pure functions (next_renewal, retry_delay, ARI choice);
only the CA and the clock are simulated. Asserts that no certificate ever expires, and reports how many
orders fell in the busiest hour, to show that the jitter spreads renewals of certificates issued together.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from zerossl_tui.core.models import CertInfo, RenewalState
from zerossl_tui.core.policy import (
    ari_moment,
    next_renewal,
    retry_delay,
    usable_ari_window,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
LIFETIME = timedelta(days=90)


@dataclass
class FakeCa:
    """Down during random outages; sometimes answers rateLimited with a Retry-After; offers ARI windows."""

    rng: random.Random
    outages: list[tuple[datetime, datetime]]
    serial: int = 0

    @classmethod
    def with_outages(cls, rng: random.Random) -> FakeCa:
        outages = []
        at = START
        while at < START + YEAR:
            at += timedelta(days=rng.uniform(5, 40))
            outages.append((at, at + timedelta(hours=rng.uniform(1, 72))))
        return cls(rng, outages)

    def down(self, now: datetime) -> bool:
        return any(start <= now < end for start, end in self.outages)

    def order(self, now: datetime) -> CertInfo | str:
        """A new certificate, or the name of the failure."""
        if self.down(now):
            return "down"
        if self.rng.random() < 0.03:
            return "rateLimited"
        self.serial += 1
        return CertInfo(f"{self.rng.getrandbits(64):x}", now, now + LIFETIME, ("x.example",))

    def ari(self, info: CertInfo) -> tuple[datetime, datetime]:
        """Let's Encrypt-like: a two-day window about two thirds through the lifetime."""
        middle = info.not_before + LIFETIME * 2 / 3
        return middle - timedelta(days=1), middle + timedelta(days=1)


def simulate(count: int, seed: int) -> tuple[int, int, int]:
    """Returns (expired moments seen, orders placed, most orders in any hour after the first day)."""
    rng = random.Random(seed)
    ca = FakeCa.with_outages(rng)
    infos: dict[int, CertInfo | None] = dict.fromkeys(range(count))
    states = {i: RenewalState() for i in range(count)}
    queue = [(START, i) for i in range(count)]  # every certificate added at once: the worst case
    expired = orders = 0
    per_hour: Counter[datetime] = Counter()
    while queue:
        now, i = heapq.heappop(queue)
        if now >= START + YEAR:
            break
        info = infos[i]
        if info is not None and now >= info.not_after:
            expired += 1
        decision = next_renewal(info, states[i], now)
        if decision.at > now:
            heapq.heappush(queue, (decision.at, i))
            continue
        orders += 1
        per_hour[now.replace(minute=0, second=0, microsecond=0)] += 1
        result = ca.order(now)
        if isinstance(result, CertInfo):
            infos[i] = result
            start, end = ca.ari(result)
            chosen = ari_moment(start, end, rng.random()) if usable_ari_window(result, start, end) else None
            states[i] = RenewalState(ari_window_start=start, ari_window_end=end, ari_chosen=chosen)
        else:
            failures = states[i].failures + 1
            state = replace(states[i], failures=failures, next_attempt=now + retry_delay(failures, info, now))
            if result == "rateLimited":
                state = replace(state, rate_limited_until=now + timedelta(hours=1))
            states[i] = state
        heapq.heappush(queue, (next_renewal(infos[i], states[i], now).at, i))
    busiest = max((n for hour, n in per_hour.items() if hour >= START + timedelta(days=1)), default=0)
    return expired, orders, busiest


def test_a_simulated_year_of_1000_certificates_never_expires() -> None:
    expired, orders, busiest = simulate(1000, seed=7)
    print(f"\nsimulated year: {orders} orders, busiest hour after day one: {busiest} orders")
    assert expired == 0
    assert orders >= 1000 * 6, "each certificate renews about every 60 days"
    assert busiest < 100, "renewals of certificates issued together are spread out, not all in one hour"


def test_simulation_detects_expiry_when_the_ca_stays_down() -> None:
    """The check above can fail: with a CA down for 100 days, certificates do expire."""
    rng = random.Random(1)
    ca = FakeCa(rng, [(START + timedelta(days=50), START + timedelta(days=150))])
    info = CertInfo("1", START, START + LIFETIME, ("x.example",))
    state, now, seen_expired = RenewalState(), START, False
    while now < START + timedelta(days=160):
        if now >= info.not_after:
            seen_expired = True
        if next_renewal(info, state, now).at <= now:
            result = ca.order(now)
            if isinstance(result, CertInfo):
                info, state = result, RenewalState()
            else:
                failures = state.failures + 1
                state = replace(state, failures=failures, next_attempt=now + retry_delay(failures, info, now))
        now = max(now + timedelta(minutes=1), min(next_renewal(info, state, now).at, now + timedelta(hours=6)))
    assert seen_expired
