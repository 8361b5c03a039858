"""Demo data for screenshots, snapshot tests and the benchmark: certificates in every state.

Everything goes through the service and its store and journal (their public methods); the stored PEM
files are placeholders, since views read only each version's metadata. Never used by the product itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..core.models import EventKind, ProgressEvent, RenewalState

if TYPE_CHECKING:
    from ..service.service import CertificateService
    from ..ui.board import OrderBoard

DEMO_NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
LIFETIME = timedelta(days=90)
PLACEHOLDER = b"-----BEGIN DEMO-----\n-----END DEMO-----\n"


@dataclass(frozen=True)
class DemoCert:
    """One demo certificate: its domains, provider and when its current certificate ends (None: never)."""

    name: str
    domains: tuple[str, ...]
    provider: str
    expires_in: timedelta | None
    failures: int = 0
    error: str = ""
    ari: timedelta | None = None


DEMO_CERTS = (
    DemoCert("shop", ("shop.example.com", "www.shop.example.com"), "zerossl", timedelta(days=71, hours=4)),
    DemoCert("blog", ("blog.example.com",), "letsencrypt", timedelta(days=24, hours=2, minutes=13)),
    DemoCert("api", ("api.example.com", "api-v2.example.com", "status.example.com"), "zerossl",
             timedelta(days=3, hours=7, minutes=2), failures=2,
             error="rateLimited: too many certificates already issued for this exact set of identifiers"),
    DemoCert("legacy", ("old.example.org",), "letsencrypt", timedelta(days=-2, hours=-3)),
    DemoCert("mail", ("mail.example.com",), "letsencrypt", timedelta(days=28, hours=5), failures=1,
             error="connection: 203.0.113.7: Fetching http://mail.example.com/.well-known/acme-challenge/x: "
                   "Timeout"),
    DemoCert("status", ("status.example.net",), "zerossl", None),
    DemoCert("cdn", ("cdn.example.com", "img.example.com"), "zerossl", timedelta(days=88, hours=23),
             ari=timedelta(days=55)),
)


def meta_for(domains: tuple[str, ...], not_after: datetime, serial: str) -> dict[str, object]:
    """The metadata a stored version carries (what ``current_info`` reads)."""
    return {"serial": serial, "not_before": (not_after - LIFETIME).isoformat(),
            "not_after": not_after.isoformat(), "domains": list(domains), "issuer": "Demo CA"}


def store_fake(service: CertificateService, name: str, domains: tuple[str, ...], not_after: datetime,
               serial: str) -> None:
    """Store a placeholder certificate version with real-looking metadata."""
    service.store.save_version(name, PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, PLACEHOLDER,
                               meta_for(domains, not_after, serial))


def seed_demo(service: CertificateService, now: datetime = DEMO_NOW) -> None:
    """Providers, certificates in every state, and a few orders in the journal."""
    service.set_provider("zerossl", email="ops@example.com")
    for index, cert in enumerate(DEMO_CERTS):
        service.add_certificate(cert.name, cert.domains, cert.provider)
        if cert.expires_in is not None:
            store_fake(service, cert.name, cert.domains, now + cert.expires_in, f"{0x4F3A10 + index:X}9C2E7D")
        _seed_state(service, cert, now)
    _seed_orders(service, now)


def _seed_state(service: CertificateService, cert: DemoCert, now: datetime) -> None:
    if cert.failures:
        service.journal.put_state(cert.name, RenewalState(
            failures=cert.failures, next_attempt=now + timedelta(minutes=37), last_error=cert.error))
    elif cert.ari is not None:
        service.journal.put_state(cert.name, RenewalState(
            ari_window_start=now + cert.ari, ari_window_end=now + cert.ari + timedelta(days=2),
            ari_chosen=now + cert.ari + timedelta(hours=9)))


def _seed_orders(service: CertificateService, now: datetime) -> None:
    journal = service.journal
    steps = [("started", "order for shop.example.com, www.shop.example.com at zerossl"),
             ("account", "account ready"), ("order-created", "order https://acme.zerossl.com/v2/DV90/order/x1"),
             ("challenge-presented", "http-01 for shop.example.com on port 80"),
             ("challenge-presented", "http-01 for www.shop.example.com on port 80"),
             ("authorization-valid", "shop.example.com, www.shop.example.com"),
             ("finalizing", "CSR sent"), ("processing", "CA is issuing the certificate"),
             ("issued", "serial 4F3A109C2E7D, valid until 2025-08-11T16:00:00+00:00")]
    started = now - timedelta(days=19, hours=20)
    order = journal.start_order("shop", started)
    for offset, (kind, message) in enumerate(steps):
        journal.add_event(order, kind, message, started + timedelta(seconds=offset * 3),
                          5.0 if kind == "processing" else None)
    journal.finish_order(order, "issued", started + timedelta(seconds=27), serial="4F3A109C2E7D")
    for name, error in (("api", DEMO_CERTS[2].error), ("mail", DEMO_CERTS[4].error)):
        failed = journal.start_order(name, now - timedelta(hours=2))
        journal.add_event(failed, "started", f"order for {name}", now - timedelta(hours=2))
        journal.add_event(failed, "failed", error, now - timedelta(hours=2) + timedelta(seconds=6))
        journal.finish_order(failed, "failed", now - timedelta(hours=2) + timedelta(seconds=6),
                             error_type=error.split(":")[0], error_detail=error)


def live_events(name: str, now: datetime) -> list[ProgressEvent]:
    """A running order's first steps, ending with the CA processing and a Retry-After."""
    steps = [(EventKind.STARTED, f"order for {name}"), (EventKind.ACCOUNT, "account ready"),
             (EventKind.ORDER_CREATED, "order https://acme.zerossl.com/v2/DV90/order/x9"),
             (EventKind.CHALLENGE_PRESENTED, "http-01 for cdn.example.com on port 80"),
             (EventKind.AUTHORIZATION_VALID, "cdn.example.com, img.example.com"),
             (EventKind.FINALIZING, "CSR sent")]
    start = now - timedelta(seconds=21)
    events = [ProgressEvent(name, kind, message, start + timedelta(seconds=i * 3)) for i, (kind, message)
              in enumerate(steps)]
    events.append(ProgressEvent(name, EventKind.PROCESSING, "CA is processing the order", now - timedelta(seconds=2),
                                retry_after=15))
    return events


def show_running(board: OrderBoard, name: str, now: datetime) -> None:
    """Put a running order with live events on the board (screenshots of the live timeline)."""
    board.enqueue(name, force=True)
    board.next_queued()
    for event in live_events(name, now):
        board.record(event)


DEMO_ENDPOINTS = {"shop": ("203.0.113.10:443", "203.0.113.11:443"), "blog": ("blog.example.com:443",),
                  "mail": ("mail.example.com:993",), "cdn": ("cdn.example.com:443",)}


def seed_served(service: CertificateService, now: datetime = DEMO_NOW) -> None:
    """``verify`` endpoints and their last checks: shop served everywhere, blog stale (the web server was not
    reloaded), mail unreachable, cdn not checked yet (the Served column in every state)."""
    from ..core.served import EndpointCheck
    from ..service.verify import record_checks

    for name, endpoints in DEMO_ENDPOINTS.items():
        service.edit_certificate(name, verify=list(endpoints))
    infos = {name: service.current_info(name) for name in DEMO_ENDPOINTS}
    serial = {name: info.serial if info else "" for name, info in infos.items()}
    checks = [EndpointCheck("shop", endpoint, "ok", serial["shop"], serial["shop"])
              for endpoint in DEMO_ENDPOINTS["shop"]]
    checks.append(EndpointCheck("blog", "blog.example.com:443", "stale", "3B17C0DE5E11", serial["blog"]))
    checks.append(EndpointCheck("mail", "mail.example.com:993", "unreachable", expected_serial=serial["mail"],
                                error="connection refused"))
    record_checks(service.paths.data_dir, checks, (now - timedelta(minutes=12)).isoformat())


def seed_many(service: CertificateService, count: int, now: datetime, provider: str = "local",
              http_port: int = 5002) -> list[str]:
    """``count`` certificates ``s00000``.. with placeholder versions expiring over the next 90 days and a
    finished order each (the benchmark's 10,000-certificate store); one settings write for all of them."""
    from dataclasses import replace

    from ..core.validate import build_certificate
    from ..storage.settings_file import save_settings

    settings = service.reload()
    names = [f"s{k:05d}" for k in range(count)]
    specs = {name: build_certificate(name, [f"{name}.zt.example.test"], provider, None, http_port=http_port,
                                     http_bind="127.0.0.1") for name in names}
    save_settings(service.paths, replace(settings, certificates={**settings.certificates, **specs}))
    service.reload()
    for k, name in enumerate(names):
        not_after = now + timedelta(days=1 + (k * 89) // max(count, 1), hours=k % 24)
        store_fake(service, name, (f"{name}.zt.example.test",), not_after, f"{k + 1:012x}")
        order = service.journal.start_order(name, not_after - LIFETIME)
        service.journal.finish_order(order, "issued", not_after - LIFETIME, serial=f"{k + 1:012x}")
    return names
