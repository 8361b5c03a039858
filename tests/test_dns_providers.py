"""lexicon (through its powerdns provider, against a real PowerDNS), exec (a script calling nsupdate against
a real BIND) and manual (a hook whose "person" is this test): present, visible, cleanup, and failures."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsigkeyring
import dns.update
import pytest
from dnsservers import ZONE, Bind, Journal, PowerDns, bind, free_port, label, pdns, solver_for

from zerossl_tui.core.errors import Cancelled, DnsError, UsageError
from zerossl_tui.core.models import EventKind
from zerossl_tui.engine.dns import DnsSpec, TxtRecord, check_lexicon_provider, make_solver

pytestmark = pytest.mark.dns
__all__ = ["bind", "pdns"]  # fixtures, imported for pytest


def lexicon_spec(server: PowerDns, token: str | None = None) -> DnsSpec:
    options = (("auth_token", token or server.api_key), ("pdns_server", server.api))
    return DnsSpec(name="pd", type="lexicon", lexicon_provider="powerdns", options=options,
                   resolvers=(f"127.0.0.1:{server.port}",), propagation_timeout=10.0)


def test_lexicon_powerdns_presents_two_values_and_removes_each(pdns: PowerDns) -> None:
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(lexicon_spec(pdns), journal)
    solver.present(name, "tok-1", "lexicon-one")
    solver.present(name, "tok-2", "lexicon-two")
    records = solver.publish(journal.progress, threading.Event())
    fqdn = f"_acme-challenge.{name}"
    assert {r.zone for r in records} == {ZONE}
    assert pdns.txt(fqdn) == {"lexicon-one", "lexicon-two"}
    assert EventKind.DNS_VISIBLE in journal.kinds()
    solver.cleanup(name, "tok-1")
    assert pdns.txt(fqdn) == {"lexicon-two"}
    solver.cleanup(name, "tok-2")
    assert pdns.txt(fqdn) == set() and journal.outstanding() == []


def test_lexicon_bad_token_is_one_line_without_the_token(pdns: PowerDns) -> None:
    bad = "wrong-" + secrets.token_hex(8)
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(lexicon_spec(pdns, bad), journal)
    solver.present(name, "tok", "value")
    with pytest.raises(DnsError) as caught:
        solver.publish(journal.progress, threading.Event())
    message = caught.value.message
    assert "\n" not in message and "'pd' (lexicon powerdns)" in message and "HTTP 401" in message
    assert bad not in message and pdns.api_key not in message
    solver.cleanup(name, "tok")
    assert pdns.txt(f"_acme-challenge.{name}") == set() and journal.outstanding() == []


def test_lexicon_api_not_listening_is_one_line(pdns: PowerDns) -> None:
    port = free_port()
    spec = lexicon_spec(pdns)
    spec = DnsSpec(**{**vars(spec), "options": (("auth_token", pdns.api_key), ("pdns_server", f"http://127.0.0.1:{port}"))})
    solver = solver_for(spec, Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    with pytest.raises(DnsError, match=f"'pd' \\(lexicon powerdns\\): cannot connect to 127.0.0.1:{port}"):
        solver.publish(Journal().progress, threading.Event())


def test_unknown_lexicon_provider_suggests_close_names() -> None:
    with pytest.raises(UsageError, match=r"unknown lexicon provider 'powerdsn': did you mean powerdns"):
        check_lexicon_provider("powerdsn")
    with pytest.raises(UsageError, match="unknown lexicon provider 'cloudfare': did you mean cloudflare"):
        make_solver(DnsSpec(name="cf", type="lexicon", lexicon_provider="cloudfare"))


NSUPDATE_SCRIPT = """#!/bin/sh
# PROGRAM present|cleanup FQDN VALUE, as zerossl-tui calls it
case "$1" in present) op=add ;; cleanup) op=delete ;; *) echo "bad action $1" >&2; exit 2 ;; esac
nsupdate -k {keyfile} <<EOF
server 127.0.0.1 {port}
update $op $2. 60 TXT "$3"
send
EOF
"""


def write_script(folder: Path, text: str) -> str:
    path = folder / f"hook-{label()}.sh"
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def exec_spec(bind: Bind, command: str, **changes: object) -> DnsSpec:
    values: dict[str, object] = {"name": "hook", "type": "exec", "command": command, "resolvers": (bind.server,),
                                 "propagation_timeout": 10.0, "timeout": 10.0}
    values.update(changes)
    return DnsSpec(**values)  # type: ignore[arg-type]


def test_exec_script_with_nsupdate_presents_and_cleans_up(bind: Bind, tmp_path: Path) -> None:
    script = write_script(tmp_path, NSUPDATE_SCRIPT.format(keyfile=bind.keyfile(), port=bind.port))
    journal, name = Journal(), f"{label()}.{ZONE}"
    solver = solver_for(exec_spec(bind, script), journal)
    solver.present(name, "tok-1", "exec-one")
    solver.present(name, "tok-2", "exec-two")
    solver.publish(journal.progress, threading.Event())
    assert bind.txt(f"_acme-challenge.{name}") == {"exec-one", "exec-two"}
    solver.stop()
    assert bind.txt(f"_acme-challenge.{name}") == set() and journal.outstanding() == []


def test_exec_nonzero_exit_is_one_line_with_its_last_stderr_line(bind: Bind, tmp_path: Path) -> None:
    script = write_script(tmp_path, "#!/bin/sh\necho 'first line' >&2\necho 'API said no' >&2\nexit 3\n")
    solver = solver_for(exec_spec(bind, script), Journal())
    name = f"{label()}.{ZONE}"
    solver.present(name, "tok", "value")
    with pytest.raises(DnsError, match=r"'hook' \(exec\): `hook-.*\.sh present _acme-challenge\..*` exited "
                                       r"with status 3: API said no$"):
        solver.publish(Journal().progress, threading.Event())
    assert bind.txt(f"_acme-challenge.{name}") == set()


def hanging_script(folder: Path) -> tuple[str, Path]:
    """A hook that starts a child and then hangs; it writes both pids."""
    pids = folder / f"pids-{label()}"
    return write_script(folder, f"#!/bin/sh\nsleep 300 &\necho $$ $! > {pids}\nwait\n"), pids


def wait_gone(pids: Sequence[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if os.path.exists(f"/proc/{pid}") and "Z" not in _state(pid)]
        time.sleep(0.02)
    return alive


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def _pids(path: Path) -> list[int]:
    deadline = time.monotonic() + 5
    while not (path.exists() and path.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return [int(p) for p in path.read_text().split()]


def test_exec_hang_is_killed_with_its_children_after_the_timeout(bind: Bind, tmp_path: Path) -> None:
    script, pids = hanging_script(tmp_path)
    solver = solver_for(exec_spec(bind, script, timeout=0.5, zone=ZONE), Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    with pytest.raises(DnsError, match=r"did not finish within 0\.5 s: killed it"):
        solver.publish(Journal().progress, threading.Event())
    assert wait_gone(_pids(pids)) == []


def test_exec_cancel_kills_the_program_group(bind: Bind, tmp_path: Path) -> None:
    script, pids = hanging_script(tmp_path)
    solver = solver_for(exec_spec(bind, script, timeout=300.0, zone=ZONE), Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Cancelled):
        solver.publish(Journal().progress, cancel)
    assert wait_gone(_pids(pids)) == []


def test_exec_missing_program_is_one_line(bind: Bind, tmp_path: Path) -> None:
    solver = solver_for(exec_spec(bind, str(tmp_path / "no-such-hook"), zone=ZONE), Journal())
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    with pytest.raises(DnsError, match="cannot run .*no-such-hook: No such file or directory"):
        solver.publish(Journal().progress, threading.Event())


class Person:
    """The manual hook: adds the records shown (through a signed update, like a person at a DNS panel)
    unless told to only press Continue."""

    def __init__(self, bind: Bind, create: bool = True) -> None:
        self.bind, self.create = bind, create
        self.continue_event = threading.Event()
        self.shown: list[TxtRecord] = []
        self.removable_seen: list[TxtRecord] = []
        self.visible_at: list[tuple[str, str]] = []

    def visible(self, fqdn: str, server: str) -> None:
        self.visible_at.append((fqdn, server))

    def show(self, records: Sequence[TxtRecord]) -> None:
        self.shown += records
        if self.create:
            threading.Timer(0.2, self._add, [list(records)]).start()
        else:
            threading.Timer(0.2, self.continue_event.set).start()

    def removable(self, records: Sequence[TxtRecord]) -> None:
        self.removable_seen += records
        for record in records:
            self._change(lambda u, r=record: u.delete(f"{r.fqdn}.", _txt(r.value)))  # type: ignore[misc]

    def _add(self, records: list[TxtRecord]) -> None:
        for record in records:
            self._change(lambda u, r=record: u.add(f"{r.fqdn}.", 60, _txt(r.value)))  # type: ignore[misc]

    def _change(self, step: object) -> None:
        keyring = dns.tsigkeyring.from_text({"acme": self.bind.secrets["hmac-sha256"]})
        update = dns.update.UpdateMessage(f"{ZONE}.", keyring=keyring, keyalgorithm="hmac-sha256")
        step(update)  # type: ignore[operator]
        dns.query.tcp(update, "127.0.0.1", port=self.bind.port, timeout=5)


def _txt(value: str) -> dns.rdtypes.ANY.TXT.TXT:
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [value.encode()])


def test_manual_waits_until_the_person_has_created_the_records(bind: Bind) -> None:
    person, journal, name = Person(bind), Journal(), f"{label()}.{ZONE}"
    journaled: list[object] = []
    solver = make_solver(DnsSpec(name="me", type="manual", resolvers=(bind.server,), propagation_timeout=10.0),
                         manual_hook=person, on_record_added=lambda *a: journaled.append(a))
    solver.present(name, "tok-1", "manual-one")
    solver.present(name, "tok-2", "manual-two")
    solver.publish(journal.progress, threading.Event())
    assert {r.value for r in person.shown} == {"manual-one", "manual-two"}
    assert bind.txt(f"_acme-challenge.{name}") == {"manual-one", "manual-two"}
    assert EventKind.DNS_VISIBLE in journal.kinds()
    assert journaled == []  # a person's records are not this program's to remove after a crash
    assert person.visible_at == [(f"_acme-challenge.{name}", bind.server)]
    solver.stop()
    assert {r.value for r in person.removable_seen} == {"manual-one", "manual-two"}
    assert bind.txt(f"_acme-challenge.{name}") == set()


def test_manual_continue_ends_the_wait_without_visibility(bind: Bind) -> None:
    person = Person(bind, create=False)
    solver = make_solver(DnsSpec(name="me", type="manual", resolvers=(bind.server,), propagation_timeout=30.0),
                         manual_hook=person)
    solver.present(f"{label()}.{ZONE}", "tok", "value")
    solver.publish(Journal().progress, threading.Event())  # returns (no dns-timeout) once Continue is pressed
    assert person.continue_event.is_set() and len(person.shown) == 1
