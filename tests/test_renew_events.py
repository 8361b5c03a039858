"""A bulk renew writes its orders' events in batches (service/recorder.EventBatch): every order still ends
with all of its events, in order and before its end; a reader in another process sees them while the run
goes on, not only at its end; a journal write that fails still fails the orders that come after it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import Home
from test_renew_bulk import default_pebble  # noqa: F401 - the same Pebble (default 5% bad nonces)

from zerossl_tui.core.errors import StorageError
from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.recorder import EventBatch
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.journal import Journal

STEPS = ["started", "account", "order-created", "challenge-presented", "authorization-valid", "finalizing",
         "issued"]


@pytest.mark.pebble
def test_every_order_of_a_bulk_renew_ends_with_all_its_events_in_order(
        home: Home, default_pebble: PebbleServer) -> None:  # noqa: F811 - the fixture
    ca = default_pebble
    lines = ["[providers.local]", f'directory = "{ca.directory}"', f'ca_bundle = "{ca.ca_bundle}"', ""]
    for i in range(12):
        lines += [f"[certificates.e{i}]", f'domains = ["e{i}.example.test"]', 'provider = "local"',
                  f"http_port = {ca.http_port}", 'http_bind = "127.0.0.1"', ""]
    home.config.parent.mkdir(parents=True)
    home.config.write_text("\n".join(lines))
    service = CertificateService()
    assert [err for _, _, err in service.renew() if err is not None] == []
    for i in range(12):
        (order,) = service.orders(f"e{i}")
        kinds = [event.kind for event in order.events]
        firsts = [kind for n, kind in enumerate(kinds) if kind in STEPS and kind not in kinds[:n]]
        assert firsts == STEPS, kinds
        assert order.finished is not None
        assert all(event.at <= order.finished for event in order.events if event.kind in STEPS)


def _journal(tmp_path: Path) -> tuple[Any, Journal]:
    journal = Journal(tmp_path / "journal.sqlite3")
    return SimpleNamespace(journal=journal), journal


def test_events_reach_another_reader_while_the_run_goes_on(tmp_path: Path) -> None:
    deps, journal = _journal(tmp_path)
    order = journal.start_order("c", datetime.now(UTC))
    batch = EventBatch(deps)
    try:
        batch.add((order, "started", "order for c.example.test", datetime.now(UTC), None))
        reader = Journal(tmp_path / "journal.sqlite3")  # another connection, as another process has
        deadline = time.monotonic() + 10
        while not reader.orders("c")[0].events:
            assert time.monotonic() < deadline, "the event never reached the journal while the run was open"
            time.sleep(0.01)
        assert reader.orders("c")[0].events[0].message == "order for c.example.test"
    finally:
        batch.close()


def test_a_failed_write_fails_the_next_order_that_records_an_event(tmp_path: Path) -> None:
    deps, journal = _journal(tmp_path)
    order = journal.start_order("c", datetime.now(UTC))
    batch = EventBatch(deps)
    journal.close()  # every write from now on fails
    batch.add((order, "started", "order for c.example.test", datetime.now(UTC), None))
    deadline = time.monotonic() + 10
    with pytest.raises(StorageError):
        while time.monotonic() < deadline:
            batch.add((order, "account", "account ready", datetime.now(UTC), None))
            time.sleep(0.01)
    with pytest.raises(StorageError):
        batch.close()
