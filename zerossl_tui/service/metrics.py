"""Prometheus metrics for ``daemon --metrics HOST:PORT`` (prometheus_client's text format at ``/metrics``).

The values are read at each scrape from what the service already keeps (settings, store, journal,
``served.json``), so they are current by construction and survive restarts; nothing is counted twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import OperationError, UsageError

PREFIX = "zerossl_tui_"


@dataclass(frozen=True)
class CertMetrics:
    """One certificate's values (timestamps in seconds since the epoch, None when unknown)."""

    name: str
    not_after: float | None
    next_renewal: float | None
    failures: int


@dataclass(frozen=True)
class Snapshot:
    """Everything one scrape shows."""

    certs: list[CertMetrics] = field(default_factory=list)
    orders: dict[str, int] = field(default_factory=dict)
    served: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, endpoint, serves current)


class SnapshotCollector:
    """A prometheus_client collector that asks for a fresh Snapshot at every scrape."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        """The metric families named in DESIGN.md."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.snapshot()
        not_after = GaugeMetricFamily(PREFIX + "certificate_not_after_timestamp_seconds",
                                      "When the current certificate expires.", labels=["name"])
        renewal = GaugeMetricFamily(PREFIX + "certificate_next_renewal_timestamp_seconds",
                                    "When the next renewal is planned.", labels=["name"])
        failures = GaugeMetricFamily(PREFIX + "certificate_renewal_failures",
                                     "Consecutive failed renewal attempts.", labels=["name"])
        for cert in snap.certs:
            failures.add_metric([cert.name], cert.failures)
            if cert.not_after is not None:
                not_after.add_metric([cert.name], cert.not_after)
            if cert.next_renewal is not None:
                renewal.add_metric([cert.name], cert.next_renewal)
        orders = CounterMetricFamily(PREFIX + "orders", "Orders by result.", labels=["result"])
        for result, count in sorted(snap.orders.items()):
            orders.add_metric([result], count)
        served = GaugeMetricFamily(PREFIX + "certificate_served",
                                   "1 when the endpoint serves the current certificate.", labels=["name", "endpoint"])
        for name, endpoint, ok in snap.served:
            served.add_metric([name, endpoint], 1 if ok else 0)
        yield from (not_after, renewal, failures, orders, served)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT`` or a bare ``PORT`` (then loopback: metrics are not public by default)."""
    match = re.fullmatch(r"(?:(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9_.-]+):)?(\d{1,5})", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise UsageError(f"--metrics {value!r} must be HOST:PORT or PORT, like 127.0.0.1:9120")
    return (match.group(1) or "127.0.0.1").strip("[]"), int(match.group(2))


def start_metrics(listen: str, snapshot: Callable[[], Snapshot]) -> Any:
    """Serve ``/metrics`` on ``listen`` in a background thread; returns the server (call ``shutdown()``)."""
    from prometheus_client import CollectorRegistry, start_http_server

    host, port = parse_listen(listen)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))  # type: ignore[arg-type]
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise OperationError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}: give another"
                             " --metrics HOST:PORT, or stop what listens there") from None
    return server


def snapshot_of(views: list[Any], failures: dict[str, int], orders: dict[str, int], served: dict[str, Any],
                verify: dict[str, tuple[str, ...]]) -> Snapshot:
    """A Snapshot from the service's views, renewal failures, journal counts and ``served.json`` (only the
    endpoints still configured)."""
    certs = [CertMetrics(v.spec.name, v.info.not_after.timestamp() if v.info else None,
                         v.next_renewal.timestamp() if v.next_renewal else None, failures.get(v.spec.name, 0))
             for v in views]
    rows = [(name, endpoint, isinstance(check, dict) and check.get("state") == "ok")
            for name, endpoints in sorted(verify.items()) for endpoint in endpoints
            if (check := served.get(name, {}).get(endpoint)) is not None]
    # A counter never falls (running orders end); an import is no order.
    finished = {result: count for result, count in orders.items() if result not in ("running", "imported")}
    return Snapshot(certs, finished, rows)
