"""http-01 tokens in the fleet database do not pile up: a host killed before it withdrew its tokens leaves
them behind, and every host prunes those of finished orders, and any older than the longest order may run,
while the tokens of running orders stay answered. Against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from pgserver import pg_dsn, pg_server  # noqa: F401

from zerossl_tui.storage.backend import Backend
from zerossl_tui.storage.postgres import ensure_key_file, open_postgresql
from zerossl_tui.storage.postgres.schema import SCHEMA_VERSION, migrate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def hosts(pg_dsn: str, tmp_path: Path) -> Iterator[Callable[[str], Backend]]:  # noqa: F811
    key_file = tmp_path / "storage.key"
    ensure_key_file(key_file)
    opened: list[Backend] = []

    def open_host(host_id: str) -> Backend:
        opened.append(open_postgresql(pg_dsn, host_id, key_file, NOW))
        return opened[-1]

    yield open_host
    for backend in opened:
        backend.close()


def prune(backend: Backend, **bound: float) -> int:
    return int(backend.challenges.prune_tokens(**bound))  # type: ignore[attr-defined]


def test_tokens_of_finished_orders_and_old_ones_are_pruned_those_of_running_orders_stay(
    hosts: Callable[[str], Backend], pg_dsn: str,  # noqa: F811
) -> None:
    dead, alive = hosts("web-1"), hosts("web-2")
    finished = dead.journal.start_order("shop", NOW)
    dead.challenges.present_token("left-behind", "left-behind.thumb", finished)
    running = alive.journal.start_order("blog", NOW)
    alive.challenges.present_token("in-use", "in-use.thumb", running)
    alive.challenges.present_token("unowned", "unowned.thumb")  # no order named (as before schema 2)
    # web-1's order ended (closed by a heal, say) without withdrawing its token.
    dead.journal.finish_order(finished, "failed", NOW, error_type="interrupted")

    assert prune(alive) == 1
    assert alive.challenges.token("left-behind") is None
    assert alive.challenges.token("in-use") == "in-use.thumb"
    assert alive.challenges.token("unowned") == "unowned.thumb"  # young: it may belong to a running order

    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # a day and a half later
        conn.execute("UPDATE tokens SET created = now() - interval '36 hours' WHERE token = 'unowned'")
    assert prune(dead) == 1
    assert set(alive.challenges.tokens()) == {"in-use"}  # type: ignore[attr-defined]
    alive.journal.finish_order(running, "issued", NOW, serial="01")
    assert prune(alive) == 1 and alive.challenges.tokens() == {}  # type: ignore[attr-defined]


def test_a_schema_1_database_gains_the_token_order_column(pg_dsn: str, tmp_path: Path) -> None:  # noqa: F811
    from zerossl_tui.storage.postgres.db import Database
    from zerossl_tui.storage.postgres.schema import MIGRATIONS

    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # a database set up by the first release
        for statement in MIGRATIONS[0].split(";"):
            if statement.strip():
                conn.execute(statement.encode())
        conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute("INSERT INTO tokens (token, key_authorization) VALUES ('old', 'old.thumb')")
    db = Database(pg_dsn)
    try:
        assert migrate(db) == 1
    finally:
        db.close()
    key_file = tmp_path / "storage.key"
    ensure_key_file(key_file)
    backend = open_postgresql(pg_dsn, "web-1", key_file, NOW)
    try:
        assert backend.challenges.token("old") == "old.thumb"  # kept across the upgrade
        assert SCHEMA_VERSION == 3 and prune(backend) == 0
    finally:
        backend.close()
