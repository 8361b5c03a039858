"""rfc2136 against a real BIND: TSIG-signed updates, zone and delegation lookup, the propagation check,
and each failure as one line that names the DNS provider and leaves nothing in the zone."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsigkeyring
import dns.update
import pytest
from dnsservers import (
    ALGORITHMS,
    DELEGATED,
    DELEGATION_TARGET,
    VALIDATION_ZONE,
    ZONE,
    Bind,
    Journal,
    bind,
    free_port,
    label,
    solver_for,
    spec_for,
    stale_bind,
)

from zerossl_tui.core.errors import Cancelled, DnsError, UsageError
from zerossl_tui.core.models import EventKind
from zerossl_tui.engine.dns import Lookup, ZoneFinder, authoritative_servers, find_zone, follow_cname, make_provider
from zerossl_tui.engine.dns.rfc2136 import Rfc2136Provider

pytestmark = pytest.mark.dns
__all__ = ["bind", "stale_bind"]  # fixtures, imported for pytest


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_wildcard_and_apex_values_go_up_together_and_come_down_one_by_one(bind: Bind, algorithm: str) -> None:
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(spec_for(bind, algorithm), journal)
    solver.present(name, "tok-wild", "value-wildcard")
    solver.present(name, "tok-apex", "value-apex")
    records = solver.publish(journal.progress, threading.Event())
    fqdn = f"_acme-challenge.{name}"
    assert [r.fqdn for r in records] == [fqdn, fqdn] and {r.zone for r in records} == {ZONE}
    assert bind.txt(fqdn) == {"value-wildcard", "value-apex"}
    assert journal.kinds().count(EventKind.DNS_PRESENTED) == 2
    assert EventKind.DNS_VISIBLE in journal.kinds()
    solver.cleanup(name, "tok-wild")
    assert bind.txt(fqdn) == {"value-apex"}  # exactly the one value, never the whole set
    solver.cleanup(name, "tok-apex")
    assert bind.txt(fqdn) == set()
    assert journal.outstanding() == [] and len(journal.added) == 2


def test_values_someone_else_put_there_are_kept(bind: Bind) -> None:
    name = f"{label()}.{ZONE}"
    fqdn = f"_acme-challenge.{name}"
    theirs = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [b"theirs"])
    bind_update(bind, lambda update: update.add(f"{fqdn}.", 60, theirs))
    journal = Journal()
    solver = solver_for(spec_for(bind), journal)
    solver.present(name, "tok", "ours")
    solver.publish(journal.progress, threading.Event())
    assert bind.txt(fqdn) == {"theirs", "ours"}
    solver.stop()
    assert bind.txt(fqdn) == {"theirs"}
    bind_update(bind, lambda update: update.delete(f"{fqdn}.", theirs))


def bind_update(bind: Bind, change: Callable[[dns.update.UpdateMessage], object]) -> None:
    """Change the zone the way another tool would (signed with the test key)."""
    keyring = dns.tsigkeyring.from_text({"acme": bind.secrets["hmac-sha256"]})
    update = dns.update.UpdateMessage(f"{ZONE}.", keyring=keyring, keyalgorithm="hmac-sha256")
    change(update)
    dns.query.tcp(update, "127.0.0.1", port=bind.port, timeout=5)


def test_wrong_secret_is_one_line_naming_badsig_and_leaves_nothing(bind: Bind) -> None:
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(spec_for(bind, tsig_secret=wrong), journal)
    solver.present(name, "tok", "value")
    with pytest.raises(DnsError) as caught:
        solver.publish(journal.progress, threading.Event())
    message = caught.value.message
    assert "\n" not in message and "'bind'" in message and "BADSIG" in message
    assert wrong not in message and bind.secrets["hmac-sha256"] not in message
    solver.cleanup(name, "tok")
    assert bind.txt(f"_acme-challenge.{name}") == set() and journal.outstanding() == []


def test_unknown_key_name_is_named(bind: Bind) -> None:
    solver = solver_for(spec_for(bind, tsig_key_name="nobody"), Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    with pytest.raises(DnsError, match=r"does not know the TSIG key 'nobody'.*BADKEY"):
        solver.publish(Journal().progress, threading.Event())


def test_a_secret_that_is_not_base64_is_refused_without_showing_it(bind: Bind) -> None:
    with pytest.raises(UsageError) as caught:
        solver_for(spec_for(bind, tsig_secret="not base64 at all!"), Journal())
    assert "tsig_secret is not base64" in caught.value.message and "at all" not in caught.value.message


def test_unknown_algorithm_lists_the_supported_ones(bind: Bind) -> None:
    with pytest.raises(UsageError, match="hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha1"):
        solver_for(spec_for(bind, tsig_algorithm="hmac-md4"), Journal())


def test_a_name_in_no_zone_is_one_line(bind: Bind) -> None:
    solver = solver_for(spec_for(bind), Journal())
    solver.present("www.not-served.example.com", "tok", "value")
    with pytest.raises(DnsError, match=r"no DNS zone found for _acme-challenge\.www\.not-served\.example\.com"):
        solver.publish(Journal().progress, threading.Event())


def test_a_configured_zone_that_does_not_hold_the_name_is_refused(bind: Bind) -> None:
    solver = solver_for(spec_for(bind, zone=VALIDATION_ZONE), Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    with pytest.raises(DnsError, match=f"not inside the configured zone {VALIDATION_ZONE}"):
        solver.publish(Journal().progress, threading.Event())


def test_given_zone_is_used_without_asking(bind: Bind) -> None:
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(spec_for(bind, zone=ZONE), journal)
    solver.present(name, "tok", "value")
    assert solver.publish(journal.progress, threading.Event())[0].zone == ZONE
    solver.stop()
    assert bind.txt(f"_acme-challenge.{name}") == set()


def test_update_server_not_listening_is_one_line(bind: Bind) -> None:
    port = free_port()
    solver = solver_for(spec_for(bind, server=f"127.0.0.1:{port}", zone=ZONE), Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    with pytest.raises(DnsError, match=f"127.0.0.1:{port} refused the connection"):
        solver.publish(Journal().progress, threading.Event())


def test_resolver_not_answering_is_one_line(bind: Bind) -> None:
    port = free_port()
    solver = solver_for(spec_for(bind, resolvers=(f"127.0.0.1:{port}",)), Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    with pytest.raises(DnsError, match=f"no answer from 127.0.0.1:{port}"):
        solver.publish(Journal().progress, threading.Event())


def test_cname_delegation_puts_the_record_in_the_validation_zone(bind: Bind) -> None:
    journal = Journal()
    lookup = Lookup([bind.server])
    assert follow_cname(f"_acme-challenge.{DELEGATED}", lookup) == DELEGATION_TARGET
    assert find_zone(DELEGATION_TARGET, lookup) == VALIDATION_ZONE
    solver = solver_for(spec_for(bind), journal)
    solver.present(DELEGATED, "tok", "delegated-value")
    record = solver.publish(journal.progress, threading.Event())[0]
    assert (record.fqdn, record.zone) == (DELEGATION_TARGET, VALIDATION_ZONE)
    assert bind.txt(DELEGATION_TARGET) == {"delegated-value"}
    assert any("delegated from" in m for k, m in journal.events if k == EventKind.DNS_PRESENTED)
    solver.cleanup(DELEGATED, "tok")
    assert bind.leftovers() == [] and journal.outstanding() == []


def test_a_name_under_a_delegated_child_zone_belongs_to_the_child(bind: Bind) -> None:
    """Asked directly, the parent's primary answers with a referral: the zone is the child, not the parent."""
    assert find_zone(f"_acme-challenge.www.child.{ZONE}", Lookup([bind.server])) == f"child.{ZONE}"


def test_default_resolvers_are_the_zones_authoritative_servers(bind: Bind) -> None:
    assert authoritative_servers(ZONE, Lookup([bind.server]), port=bind.port) == [("127.0.0.1", bind.port)]
    journal, name = Journal(), f"{label()}.{ZONE}"
    # No resolvers: questions go to the update server, visibility is checked at the NS addresses.
    solver = solver_for(spec_for(bind, resolvers=()), journal, authoritative_port=bind.port)
    solver.present(name, "tok", "value")
    solver.publish(journal.progress, threading.Event())
    assert any(f"127.0.0.1:{bind.port} answers" in m for k, m in journal.events if k == EventKind.DNS_VISIBLE)
    solver.stop()
    assert bind.txt(f"_acme-challenge.{name}") == set()


def test_a_record_never_visible_times_out_with_an_event(bind: Bind, stale_bind: Bind) -> None:
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(spec_for(bind, resolvers=(stale_bind.server,), propagation_timeout=0.5), journal)
    solver.present(name, "tok", "value")
    with pytest.raises(DnsError, match=r"not visible at .* after 0\.5 s: it answers 0 of 1 values"):
        solver.publish(journal.progress, threading.Event())
    assert journal.kinds()[-1] == EventKind.DNS_TIMEOUT
    solver.cleanup(name, "tok")
    assert bind.txt(f"_acme-challenge.{name}") == set() and journal.outstanding() == []


def test_cancel_cuts_the_propagation_wait_short(bind: Bind, stale_bind: Bind) -> None:
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(spec_for(bind, resolvers=(stale_bind.server,), propagation_timeout=300.0), journal)
    solver.present(name, "tok", "value")
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Cancelled):
        solver.publish(journal.progress, cancel)
    solver.cleanup(name, "tok")
    assert bind.txt(f"_acme-challenge.{name}") == set() and journal.outstanding() == []


def test_probe_presents_waits_and_removes(bind: Bind) -> None:
    journal, name = Journal(), f"{label()}.{ZONE}"
    record = solver_for(spec_for(bind), journal).probe(name, journal.progress, threading.Event())
    assert record.fqdn == f"_acme-challenge.{name}"
    assert journal.kinds() == [EventKind.DNS_PRESENTED, EventKind.DNS_VISIBLE, EventKind.DNS_REMOVED]
    assert bind.txt(record.fqdn) == set()


CRASHING_ORDER = """
import json, sys, threading, time
from zerossl_tui.engine.dns import DnsSpec, make_solver
spec = DnsSpec(**json.loads(sys.argv[1]))
def journal(fqdn, value, provider):
    with open(sys.argv[2], "a") as f:
        f.write(json.dumps([fqdn, value, provider]) + "\\n")
solver = make_solver(spec, on_record_added=journal)
solver.present(sys.argv[3], "tok-1", "crash-one")
solver.present(sys.argv[3], "tok-2", "crash-two")
solver.publish(lambda *a: None, threading.Event())
print("published", flush=True)
time.sleep(300)
"""


def test_records_of_a_killed_process_are_removed_from_its_journal(bind: Bind, tmp_path: Path) -> None:
    """SIGKILL after the records are up: what the hook journaled is enough for a fresh provider to clean up."""
    spec, name, journal = spec_for(bind), f"{label()}.{ZONE}", tmp_path / "journal.jsonl"
    fields = {k: v for k, v in vars(spec).items() if k != "options"}
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_ORDER, json.dumps(fields), str(journal), name],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "published"
    finally:
        proc.kill()
        proc.wait()
    fqdn = f"_acme-challenge.{name}"
    assert bind.txt(fqdn) == {"crash-one", "crash-two"}
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {(f, v) for f, v, _ in entries} == {(fqdn, "crash-one"), (fqdn, "crash-two")}
    provider = make_provider(spec)  # the next start: a new process, the same settings
    for recorded_fqdn, value, provider_name in entries:
        assert provider_name == provider.name
        provider.cleanup(recorded_fqdn, value)
    assert bind.txt(fqdn) == set()


def test_update_server_that_accepts_but_never_answers_is_one_line(bind: Bind) -> None:
    with socket.socket() as silent:  # listening, never reading: the connection opens, no answer comes
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        where = f"127.0.0.1:{silent.getsockname()[1]}"
        provider = Rfc2136Provider("bind", ZoneFinder(Lookup([bind.server]), ZONE), server=where, key_name="acme",
                                   secret=bind.secrets["hmac-sha256"], timeout=0.5)
        with pytest.raises(DnsError, match=f"'bind' \\(rfc2136\\): no answer from {where} within 0.5 s"):
            provider.present(f"_acme-challenge.{label()}.{ZONE}", "value")
