"""The order journal: orders and their events come back as recorded, and survive crashes and restarts."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from zerossl_tui.core.errors import StorageError
from zerossl_tui.core.models import EventKind, RenewalState
from zerossl_tui.storage.journal import Journal

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def journal(tmp_path: Path):
    with Journal(tmp_path / "data" / "journal.sqlite3") as j:
        yield j


def test_orders_come_back_newest_first_with_their_events(journal: Journal) -> None:
    first = journal.start_order("shop", T0)
    journal.add_event(first, EventKind.ORDER_CREATED, "order created", T0)
    journal.add_event(first, "processing", "CA is processing", T0 + timedelta(seconds=5), retry_after=3.0)
    journal.finish_order(first, "issued", T0 + timedelta(seconds=9), serial="0a1b", order_url="https://o/1")
    second = journal.start_order("shop", T0 + timedelta(days=60))
    journal.finish_order(
        second, "failed", T0 + timedelta(days=60), error_type="rateLimited", error_detail="too many"
    )
    journal.start_order("blog", T0)

    orders = journal.orders("shop")
    assert [o.id for o in orders] == [second, first]
    assert orders[0].result == "failed" and orders[0].error_type == "rateLimited"
    assert orders[0].error_detail == "too many" and orders[0].events == ()
    issued = orders[1]
    assert issued.result == "issued" and issued.serial == "0a1b" and issued.order_url == "https://o/1"
    assert [e.kind for e in issued.events] == ["order-created", "processing"]
    assert issued.events[1].retry_after == 3.0
    assert issued.started == T0 and issued.started.tzinfo is not None
    assert issued.finished == T0 + timedelta(seconds=9)
    assert journal.orders("shop", limit=1)[0].id == second


def test_times_in_other_zones_are_stored_as_utc(journal: Journal) -> None:
    paris = timezone(timedelta(hours=1))
    order = journal.start_order("shop", datetime(2026, 3, 1, 13, 0, tzinfo=paris))
    assert journal.orders("shop")[0].started == T0
    assert journal.orders("shop")[0].id == order
    with pytest.raises(ValueError):
        journal.start_order("shop", datetime(2026, 3, 1))


def test_last_orders_gives_the_latest_of_every_certificate(journal: Journal) -> None:
    journal.finish_order(journal.start_order("shop", T0), "issued", T0)
    latest_shop = journal.start_order("shop", T0 + timedelta(days=1))
    latest_blog = journal.start_order("blog", T0)
    last = journal.last_orders()
    assert {name: o.id for name, o in last.items()} == {"shop": latest_shop, "blog": latest_blog}
    assert last["shop"].result == "running"


def test_heal_fails_orders_of_a_crashed_process_but_not_ours(journal: Journal) -> None:
    script = (
        "import os, sys\n"
        "from datetime import UTC, datetime\n"
        "from zerossl_tui.storage.journal import Journal\n"
        "j = Journal(__import__('pathlib').Path(sys.argv[1]))\n"
        "now = datetime.now(UTC)\n"
        "j.add_event(j.start_order('shop', now), 'order-created', 'created', now)\n"
        "os._exit(9)\n"
    )
    crashed = subprocess.run([sys.executable, "-c", script, str(journal.path)], timeout=60)
    assert crashed.returncode == 9
    ours = journal.start_order("blog", T0)

    healed = journal.heal(T0 + timedelta(minutes=1))
    assert len(healed) == 1
    shop = journal.orders("shop")[0]
    assert shop.result == "failed" and shop.error_type == "interrupted"
    assert shop.finished == T0 + timedelta(minutes=1)
    assert [e.kind for e in shop.events] == ["order-created", "failed"]
    assert journal.orders("blog")[0].result == "running"
    assert journal.orders("blog")[0].id == ours
    assert journal.heal(T0) == []


def test_renewal_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    state = RenewalState(
        failures=3,
        next_attempt=T0 + timedelta(hours=2),
        rate_limited_until=T0 + timedelta(days=1),
        ari_window_start=T0,
        ari_window_end=T0 + timedelta(days=2),
        ari_chosen=T0 + timedelta(hours=30),
        ari_explanation="https://ca.example/why",
        last_error="rateLimited: too many certificates",
    )
    with Journal(path) as journal:
        assert journal.get_state("shop") == RenewalState()
        journal.put_state("shop", RenewalState(failures=1))
        journal.put_state("shop", state)
        journal.put_state("blog", RenewalState())
    with Journal(path) as journal:
        assert journal.get_state("shop") == state
        assert journal.get_state("shop").next_attempt.tzinfo is not None  # type: ignore[union-attr]
        assert journal.all_states() == {"shop": state, "blog": RenewalState()}


def test_threads_can_share_one_journal(journal: Journal) -> None:
    order = journal.start_order("shop", T0)

    def write(n: int) -> None:
        for i in range(20):
            journal.add_event(order, "processing", f"thread {n} step {i}", T0)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(journal.orders("shop")[0].events) == 160


def test_two_processes_can_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    script = (
        "import sys\nfrom datetime import UTC, datetime\nfrom pathlib import Path\n"
        "from zerossl_tui.storage.journal import Journal\n"
        "j = Journal(Path(sys.argv[1]))\n"
        "for i in range(50):\n"
        "    j.finish_order(j.start_order(sys.argv[2], datetime.now(UTC)), 'issued', datetime.now(UTC))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"c{n}"]) for n in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with Journal(path) as journal:
        assert sorted(journal.last_orders()) == ["c0", "c1", "c2"]
        assert len(journal.orders("c1", limit=100)) == 50


def test_a_journal_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError, match="newer zerossl-tui"):
        Journal(path)


def test_a_damaged_journal_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError) as info:
        Journal(path)
    assert str(path) in info.value.message and "move it aside" in info.value.message


def test_a_journal_of_schema_3_keeps_its_orders_and_events_and_takes_imports(tmp_path: Path) -> None:
    from zerossl_tui.storage.journal_schema import MIGRATIONS

    path, at = tmp_path / "journal.sqlite3", datetime(2030, 1, 1, tzinfo=UTC)
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:3]) + "; PRAGMA user_version = 3;")
        db.execute("INSERT INTO orders (cert, started, result) VALUES ('shop', ?, 'issued')", (at.isoformat(),))
        db.execute("INSERT INTO events (order_id, at, kind, message) VALUES (1, ?, 'issued', 'serial 0A')",
                   (at.isoformat(),))
    with Journal(path) as journal:
        journal.finish_order(journal.start_order("shop", at), "imported", at)
        orders = journal.orders("shop")
    assert [(o.id, o.result) for o in orders] == [(2, "imported"), (1, "issued")]
    assert [e.message for e in orders[1].events] == ["serial 0A"]


def _immutable(folder: Path) -> bool:
    """Make ``folder`` unwritable even for root (tests run as root, where mode bits do not stop writes)."""
    return subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0


def test_a_journal_in_an_unwritable_folder_says_how_to_fix(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    with Journal(folder / "journal.sqlite3") as j:
        j.start_order("shop", T0)
    if not _immutable(folder):
        pytest.skip("chattr +i is not available here")
    try:
        with pytest.raises(StorageError) as caught, Journal(folder / "journal.sqlite3") as j:
            j.start_order("shop", T0)
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert f"cannot write in {folder}: run as the user that owns it" in caught.value.message
