"""dns-01 end to end: the engine's AcmeSession against a real Pebble that validates through a real BIND
(``-dnsserver``), records put up with rfc2136. Wildcard + apex, a SAN list mixing the wildcard with other
names (one delegated by CNAME to a validation-only zone), and failures that leave the zones clean."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
from dnsservers import DELEGATED, ZONE, Bind, Journal, bind, bind_resolver, solver_for, spec_for, stale_bind
from helpers import finishes, started_pebble

from zerossl_tui.core.errors import Cancelled, DnsError
from zerossl_tui.core.models import EventKind, ProviderSpec
from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine import keys
from zerossl_tui.engine.session import AcmeSession

pytestmark = [pytest.mark.pebble, pytest.mark.dns]
__all__ = ["bind", "bind_resolver", "stale_bind"]  # fixtures, imported for pytest


@pytest.fixture(scope="module")
def dns_pebble(tmp_path_factory: pytest.TempPathFactory, bind_resolver: Bind) -> Iterator[PebbleServer]:
    """Pebble resolving through a recursive BIND in front of ``bind``, never reusing authorizations."""
    server = started_pebble(tmp_path_factory.mktemp("pebble-dns"),
                            PebbleOptions(authz_reuse=0, dns_server=bind_resolver.server))
    yield server
    server.stop()


def session_for(pebble: PebbleServer, journal: Journal, cancel: threading.Event | None = None) -> AcmeSession:
    provider = ProviderSpec(name="pebble", directory=pebble.directory, email="ops@example.net",
                            ca_bundle=str(pebble.ca_bundle))
    return AcmeSession(provider, None, progress=journal.progress, cancel=cancel or threading.Event())


def issue(session: AcmeSession, names: list[str], solver: object, timeout: float = 60) -> bytes:
    key = keys.generate_key("ec256")
    issued = session.issue(names, key, solver, deadline=time.monotonic() + timeout)  # type: ignore[arg-type]
    return issued.cert_pem


def test_wildcard_and_apex_issue_through_rfc2136_and_leave_no_record(dns_pebble: PebbleServer, bind: Bind) -> None:
    journal = Journal()
    with solver_for(spec_for(bind, propagation_timeout=20.0), journal) as solver:
        cert = issue(session_for(dns_pebble, journal), [f"*.{ZONE}", ZONE], solver)
    assert set(keys.parse_cert(cert).domains) == {f"*.{ZONE}", ZONE}
    kinds = journal.kinds()
    assert kinds.count(EventKind.DNS_PRESENTED) == 2  # one name, two values, both up before the CA looks
    assert kinds.index(EventKind.DNS_VISIBLE) < kinds.index(EventKind.AUTHORIZATION_VALID)
    assert kinds.count(EventKind.DNS_REMOVED) == 2
    assert {fqdn for fqdn, _, _ in journal.added} == {f"_acme-challenge.{ZONE}"}
    assert journal.outstanding() == [] and bind.leftovers() == []


def test_san_list_mixing_the_wildcard_with_other_and_delegated_names(dns_pebble: PebbleServer, bind: Bind) -> None:
    sub = f"host.{secrets.token_hex(3)}.{ZONE}"
    names = [f"*.{ZONE}", ZONE, sub, DELEGATED]
    journal = Journal()
    with solver_for(spec_for(bind, propagation_timeout=20.0), journal) as solver:
        cert = issue(session_for(dns_pebble, journal), names, solver)
    assert set(keys.parse_cert(cert).domains) == set(names)
    assert len(journal.added) == 4 and any(fqdn.endswith("zt-validate.example.org") for fqdn, _, _ in journal.added)
    assert journal.outstanding() == [] and bind.leftovers() == []


def test_wrong_secret_fails_the_order_in_one_line_and_leaves_nothing(dns_pebble: PebbleServer, bind: Bind) -> None:
    journal = Journal()
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    with solver_for(spec_for(bind, tsig_secret=wrong), journal) as solver:
        with pytest.raises(DnsError, match=r"^DNS provider 'bind' \(rfc2136\): .*BADSIG") as caught:
            issue(session_for(dns_pebble, journal), [f"*.{ZONE}", ZONE], solver)
    assert "\n" not in caught.value.message and wrong not in caught.value.message
    assert EventKind.AUTHORIZATION_VALID not in journal.kinds()  # the CA was never asked
    assert journal.outstanding() == [] and bind.leftovers() == []


def test_cancel_while_waiting_for_visibility_removes_what_was_added(dns_pebble: PebbleServer, bind: Bind,
                                                                   stale_bind: Bind) -> None:
    journal, cancel = Journal(), threading.Event()
    spec = spec_for(bind, resolvers=(stale_bind.server,), propagation_timeout=300.0)
    def cancel_once_both_are_added() -> None:  # then only the cancel can end the 300 s wait
        deadline = time.monotonic() + 60
        while len(journal.added) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        cancel.set()

    with solver_for(spec, journal) as solver:
        threading.Thread(target=cancel_once_both_are_added, daemon=True).start()
        with pytest.raises(Cancelled):
            finishes(lambda: issue(session_for(dns_pebble, journal, cancel), [f"*.{ZONE}", ZONE], solver), within=60)
    assert len(journal.added) == 2 and journal.outstanding() == [] and bind.leftovers() == []
