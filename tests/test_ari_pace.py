"""Issue 14: the scheduler's ARI pass over many certificates is paced, goes on where it stopped after a
restart, and never holds back a renewal that is due. Against a real Pebble 2.6 (with renewalInfo), with
certificates it issued; the pace is raised or lowered per test through the module's constants, as the
benchmark does (bench/bench_ari.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.core.models import RenewalState
from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine.keys import ari_cert_id
from zerossl_tui.service import ari
from zerossl_tui.service.scheduler import Scheduler
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble
ROOT = Path(__file__).resolve().parents[1]
COUNT = 10

# A pass in its own process, as a daemon runs it: slow (2 look-ups a second), each answer committed alone.
CHILD = """
import sys, threading
from zerossl_tui.service import ari
from zerossl_tui.service.service import CertificateService
ari.LOOKUPS_PER_SECOND, ari.BATCH = 2.0, 1
CertificateService().refresh_ari(threading.Event(), print)
"""


@pytest.fixture
def issued(local_home: Home, pebble: PebbleServer) -> Iterator[CertificateService]:
    """COUNT certificates issued by Pebble in one `renew --force`, then every ARI answer forgotten (as at the
    first start after their retry time): every one of them is due for a question."""
    if not pebble.has_ari():
        pytest.skip("this Pebble has no renewalInfo (install Debian 13's pebble 2.6: .ci/install-pebble)")
    service = CertificateService()
    for k in range(COUNT):
        service.add_certificate(f"c{k}", [f"c{k}.example.test"], "local", http_port=pebble.http_port,
                                http_bind="127.0.0.1")
    local_home.run("renew", "--force", check=True, timeout=600)
    forget_answers(service)
    yield service
    service.close()


def forget_answers(service: CertificateService) -> None:
    states = service.journal.all_states()
    service.journal.put_states({name: replace(states.get(name, RenewalState()), ari_retry_at=None,
                                              ari_window_start=None, ari_window_end=None, ari_chosen=None)
                                for name in service.settings.certificates})


def answered(service: CertificateService) -> dict[str, RenewalState]:
    """The certificates the CA was asked about (and their states)."""
    return {name: state for name, state in service.journal.all_states().items() if state.ari_retry_at is not None}


def wait_for(check: object, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_each_version_keeps_its_cert_id_so_no_certificate_is_parsed_per_look_up(issued: CertificateService) -> None:
    for name in issued.settings.certificates:
        stored = issued.store.current(name)
        assert stored is not None
        assert stored.meta[ari.ARI_CERT_ID] == ari_cert_id(stored.cert_pem)
        assert ari.names_serial(stored.meta[ari.ARI_CERT_ID], stored.meta["serial"])
        assert not ari.names_serial(stored.meta[ari.ARI_CERT_ID], "1" + stored.meta["serial"])


def test_look_ups_are_spread_at_the_pace_not_sent_at_once(issued: CertificateService,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rate = 5.0
    monkeypatch.setattr(ari, "LOOKUPS_PER_SECOND", rate)
    monkeypatch.setattr(ari, "BATCH", 1)  # each answer visible in the journal as soon as it is in
    lines: list[str] = []
    start = time.monotonic()
    worker = threading.Thread(target=ari.refresh_due, args=(issued.deps(), threading.Event(), lines.append))
    worker.start()
    samples = []
    while worker.is_alive():
        elapsed, count = time.monotonic() - start, len(answered(issued))
        samples.append((round(elapsed, 2), count))
        # look-up k starts no sooner than k / rate seconds after the start, whatever the machine's load
        assert count <= int(rate * elapsed) + 1, samples
        time.sleep(0.03)
    worker.join()
    assert lines == []
    assert len(answered(issued)) == COUNT
    assert {v.renewal_source for v in issued.views()} == {"ari"}


def test_a_certificate_near_its_renewal_is_asked_before_the_others(issued: CertificateService,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """c9's last answer chose a renewal tomorrow, and its retry time has come: it is asked first, though it
    comes last in the settings; the others (weeks from renewal) come after it, at the far pace."""
    monkeypatch.setattr(ari, "BATCH", 1)  # each answer in the journal at once
    soon = datetime.now(UTC) + timedelta(days=1)
    issued.journal.put_state("c9", RenewalState(ari_window_start=soon, ari_window_end=soon + timedelta(hours=1),
                                                ari_chosen=soon))
    cancel = threading.Event()
    worker = threading.Thread(target=ari.refresh_due, args=(issued.deps(), cancel, lambda line: None))
    worker.start()
    try:
        wait_for(lambda: len(answered(issued)) >= 1)
        assert set(answered(issued)) == {"c9"}  # the far ones wait a second each (ari.far_pace)
    finally:
        cancel.set()
        worker.join(timeout=30)


def test_a_pass_killed_in_the_middle_goes_on_where_it_stopped(issued: CertificateService, local_home: Home) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=local_home.env(), text=True,
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(answered(issued)) >= 3)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    before = answered(issued)
    assert 3 <= len(before) < COUNT, "the pass should have been killed in the middle"
    assert issued.refresh_ari(threading.Event(), print) is True
    after = answered(issued)
    assert len(after) == COUNT
    # those answered before the kill were not asked again (a second answer would set a later retry time)
    assert {name: after[name] for name in before} == before


def test_a_due_renewal_is_not_held_behind_a_long_ari_pass(issued: CertificateService,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ari, "LOOKUPS_PER_SECOND", 0.2)  # the whole pass would take 50 s
    old = issued.store.current_meta("c7")
    assert old is not None
    issued.journal.put_state("c7", RenewalState(revoked_serial=str(old["serial"])))  # due at once
    assert issued.due() == ["c7"]
    cancel = threading.Event()
    scheduler = Scheduler(issued, cancel, lambda line: None)
    worker = threading.Thread(target=scheduler.run)
    worker.start()
    try:
        wait_for(lambda: (issued.store.current_meta("c7") or {}).get("serial") != old["serial"])
        assert len(answered(issued)) < COUNT  # renewed while most of the pass is still to come
    finally:
        cancel.set()
        worker.join(timeout=30)
    assert not worker.is_alive(), "cancel stops a paced pass at once"


def test_a_certificate_revoked_by_another_process_during_a_long_pass_is_replaced_at_once(
        issued: CertificateService, local_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ari, "LOOKUPS_PER_SECOND", 0.2)  # the whole pass would take 50 s
    monkeypatch.setattr(ari, "BATCH", 1)  # each answer in the journal at once: the pass is seen to have begun
    cancel = threading.Event()
    worker = threading.Thread(target=Scheduler(issued, cancel, lambda line: None).run)
    worker.start()
    try:
        wait_for(lambda: len(answered(issued)) >= 1)  # the pass has begun (its first answer is in)
        old = (issued.store.current_meta("c9") or {}).get("serial")
        revoked = local_home.run("revoke", "c9", "--reason", "superseded")
        assert revoked.returncode == 0, revoked.stderr
        wait_for(lambda: (issued.store.current_meta("c9") or {}).get("serial") != old)
        assert len(answered(issued)) < COUNT  # replaced while most of the pass is still to come
    finally:
        cancel.set()
        worker.join(timeout=30)


def test_a_version_stored_without_its_cert_id_by_an_older_release_is_still_asked_about(
        issued: CertificateService, local_home: Home) -> None:
    for meta_file in (local_home.data / "certificates" / "c3" / "versions").glob("*/meta.json"):
        meta = json.loads(meta_file.read_text())
        del meta[ari.ARI_CERT_ID]
        meta_file.write_text(json.dumps(meta))
    assert ari.ARI_CERT_ID not in (issued.store.current_meta("c3") or {})
    lines: list[str] = []
    assert ari.refresh_due(issued.deps(), threading.Event(), lines.append) is True
    assert lines == []
    assert len(answered(issued)) == COUNT
    assert {v.spec.name: v.renewal_source for v in issued.views()}["c3"] == "ari"
