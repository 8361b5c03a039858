"""The journal's order counts behind `zerossl_tui_orders_total`, on both storage backends."""

from __future__ import annotations

from datetime import UTC, datetime

from pgserver import pg_dsn, pg_server  # noqa: F401 - fixtures of the PostgreSQL backend
from test_conformance import backend, site  # noqa: F401 - the same backend fixtures as the conformance suite

from zerossl_tui.storage.backend import Backend


def test_order_counts_are_per_result_and_leave_running_orders_apart(backend: Backend) -> None:  # noqa: F811
    journal, at = backend.journal, datetime(2030, 1, 1, tzinfo=UTC)
    for cert, result in (("shop", "issued"), ("shop", "failed"), ("api", "issued")):
        order = journal.start_order(cert, at)
        journal.finish_order(order, result, at, error_type="x" if result == "failed" else "")
    journal.start_order("blog", at)
    assert journal.order_counts() == {"issued": 2, "failed": 1, "running": 1}


def test_an_import_row_is_journaled_but_counted_as_no_order(backend: Backend) -> None:  # noqa: F811
    from zerossl_tui.service.metrics import snapshot_of

    journal, at = backend.journal, datetime(2030, 1, 1, tzinfo=UTC)
    for result in ("imported", "issued"):
        journal.finish_order(journal.start_order("shop", at), result, at, serial="0A")
    assert [o.result for o in journal.orders("shop")] == ["issued", "imported"]
    assert journal.order_counts() == {"issued": 1, "imported": 1}
    assert snapshot_of([], {}, journal.order_counts(), {}, {}).orders == {"issued": 1}
