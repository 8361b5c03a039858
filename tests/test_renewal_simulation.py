"""A simulated year: 1,000 certificates, a fake clock, a fake CA with outages of up to 3 days and rate limits.
At 10,000 certificates (``slow``) the fake CA also enforces Let's Encrypt's documented "New Orders per Account"
limit, 300 orders per 3 hours as a token bucket refilled one order every 36 s
(https://letsencrypt.org/docs/rate-limits/), answering rateLimited with the Retry-After of the next token.

The scheduling decisions are the product's own pure functions (next_renewal, retry_delay, ARI choice);
only the CA and the clock are simulated. Asserts that no certificate ever expires, and reports how many
orders fell in the busiest hour, to show that the jitter spreads renewals of certificates issued together.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

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
LE_ORDERS = 300  # Let's Encrypt "New Orders per Account": 300 per 3 hours ...
LE_WINDOW = timedelta(hours=3)  # ... refilled at one order every 36 s (a token bucket)


@dataclass
class OrderBucket:
    """The CA's token bucket of new orders for one account."""

    capacity: int = LE_ORDERS
    refill: timedelta = LE_WINDOW / LE_ORDERS
    tokens: float = LE_ORDERS
    at: datetime = START

    def take(self, now: datetime) -> timedelta | None:
        """None when an order may be created now (one token taken), else the wait for the next token."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) / self.refill)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return self.refill * (1 - self.tokens)


@dataclass
class FakeCa:
    """Down during random outages; sometimes answers rateLimited with a Retry-After; offers ARI windows."""

    rng: random.Random
    outages: list[tuple[datetime, datetime]]
    serial: int = 0
    limit: OrderBucket | None = None
    retry_after: timedelta | None = None  # of the last rateLimited answer
    refused: int = 0  # orders the bucket refused

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
        self.retry_after = None
        if self.rng.random() < 0.03:
            return "rateLimited"
        if self.limit is not None and (wait := self.limit.take(now)) is not None:
            self.retry_after = wait
            self.refused += 1
            return "rateLimited"
        self.serial += 1
        return CertInfo(f"{self.rng.getrandbits(64):x}", now, now + LIFETIME, ("x.example",))

    def ari(self, info: CertInfo) -> tuple[datetime, datetime]:
        """Let's Encrypt-like: a two-day window about two thirds through the lifetime."""
        middle = info.not_before + LIFETIME * 2 / 3
        return middle - timedelta(days=1), middle + timedelta(days=1)


@dataclass
class Year:
    """What a simulated year showed."""

    expired: int  # moments a certificate was seen expired
    orders: int  # attempts (created orders and refused ones)
    busiest: int  # most attempts in any hour after the first day
    created: list[datetime]  # when each order the CA accepted was created
    onboarded: datetime  # when the last certificate got its first certificate
    refused: int = 0  # attempts the CA's order limit refused

    def most_created_within(self, span: timedelta, after: datetime) -> int:
        """The most accepted orders in any ``span`` starting at or after ``after`` (a sliding window)."""
        times = [t for t in self.created if t >= after]
        most = low = 0
        for high, at in enumerate(times):
            while times[low] <= at - span:
                low += 1
            most = max(most, high - low + 1)
        return most


def simulate(count: int, seed: int) -> tuple[int, int, int]:
    """Returns (expired moments seen, orders placed, most orders in any hour after the first day)."""
    year = simulate_year(count, seed)
    return year.expired, year.orders, year.busiest


def simulate_year(count: int, seed: int, limit: OrderBucket | None = None) -> Year:
    """A year of ``count`` certificates, all added at START; ``limit``: the CA's new-order bucket."""
    rng = random.Random(seed)
    ca = FakeCa.with_outages(rng)
    ca.limit = limit
    created: list[datetime] = []
    first_issued: dict[int, datetime] = {}
    held_until = slot = START
    step = timedelta(0)
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
        if now < held_until:  # held back after the account's rateLimited, a Retry-After apart (renew_many)
            slot = max(held_until, slot) + step
            states[i] = replace(states[i], rate_limited_until=slot)
            heapq.heappush(queue, (slot, i))
            continue
        orders += 1
        per_hour[now.replace(minute=0, second=0, microsecond=0)] += 1
        result = ca.order(now)
        if isinstance(result, CertInfo):
            created.append(now)
            first_issued.setdefault(i, now)
            infos[i] = result
            start, end = ca.ari(result)
            chosen = ari_moment(start, end, rng.random()) if usable_ari_window(result, start, end) else None
            states[i] = RenewalState(ari_window_start=start, ari_window_end=end, ari_chosen=chosen)
        else:
            failures = states[i].failures + 1
            state = replace(states[i], failures=failures, next_attempt=now + retry_delay(failures, info, now))
            if result == "rateLimited":  # the CA's Retry-After (the random ones: an hour)
                state = replace(state, rate_limited_until=now + (ca.retry_after or timedelta(hours=1)))
                if ca.retry_after is not None:  # the account's limit: hold every order at this CA
                    held_until, step = max(held_until, now + ca.retry_after), ca.retry_after
            states[i] = state
        heapq.heappush(queue, (next_renewal(infos[i], states[i], now).at, i))
    busiest = max((n for hour, n in per_hour.items() if hour >= START + timedelta(days=1)), default=0)
    onboarded = max(first_issued.values(), default=START)
    return Year(expired, orders, busiest, created, onboarded, ca.refused)


def test_a_simulated_year_of_1000_certificates_never_expires() -> None:
    expired, orders, busiest = simulate(1000, seed=7)
    print(f"\nsimulated year: {orders} orders, busiest hour after day one: {busiest} orders")
    assert expired == 0
    assert orders >= 1000 * 6, "each certificate renews about every 60 days"
    assert busiest < 100, "renewals of certificates issued together are spread out, not all in one hour"


@pytest.mark.slow
def test_a_simulated_year_of_10000_certificates_under_lets_encrypt_order_limits() -> None:
    """10,000 added at once: the CA's 300-per-3-hours bucket spreads the first issuance over days; no
    certificate expires, and the client does not hammer the CA: held back after a rateLimited answer, the
    queued orders come back a Retry-After apart, not all at once (before: 216,000 refused attempts a year)."""
    started = time.monotonic()
    year = simulate_year(10_000, seed=11, limit=OrderBucket())
    busiest_3h = year.most_created_within(LE_WINDOW, START)
    steady_hour = year.most_created_within(timedelta(hours=1), year.onboarded + timedelta(days=1))
    print(f"\nsimulated year of 10,000: {year.orders} attempts, {len(year.created)} orders created, onboarding "
          f"took {(year.onboarded - START) / timedelta(hours=1):.0f} h, most orders created in any 3 h: "
          f"{busiest_3h}, in any hour after onboarding: {steady_hour}, busiest hour of attempts after day one: "
          f"{year.busiest}, refused by the limit: {year.refused} ({time.monotonic() - started:.1f} s)")
    assert year.expired == 0
    assert len(year.created) >= 10_000 * 6, "each certificate renews about every 60 days"
    assert busiest_3h <= 2 * LE_ORDERS, "the bucket: full (300) plus 3 hours of refill at most"
    assert year.refused <= len(year.created) / 5, "rate-limited retries are paced, not a herd"


def test_the_order_bucket_refuses_the_301st_order_in_three_hours() -> None:
    bucket = OrderBucket()
    assert all(bucket.take(START) is None for _ in range(LE_ORDERS))
    wait = bucket.take(START)
    assert wait is not None and abs(wait - LE_WINDOW / LE_ORDERS) < timedelta(seconds=1)
    assert bucket.take(START + LE_WINDOW / LE_ORDERS) is None


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
