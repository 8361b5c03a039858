"""Issue 14: nothing at the dashboard's start waits for the network. The auto-renew scheduler (and with it
the ARI pass) starts after the first rows are painted, in a worker; a CA that accepts connections and never
answers neither delays the rows nor is reached before they are shown."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime, timedelta

from conftest import Home
from uiwait import until

from zerossl_tui.devtools.demo import store_fake
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import make_app


class SilentCa:
    """A TCP listener that accepts every connection and never answers; notes whether the dashboard had
    painted its rows when the first connection came."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.painted_at_first: bool | None = None
        self.painted = lambda: False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.painted_at_first is None:
                self.painted_at_first = bool(self.painted())
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_rows_are_painted_before_the_scheduler_talks_to_a_ca_that_never_answers(home: Home) -> None:
    ca = SilentCa()
    service = CertificateService()
    service.set_provider("silent", directory=f"https://127.0.0.1:{ca.port}/dir", email="ops@example.com")
    now = datetime.now(UTC)
    for k in range(3):
        service.add_certificate(f"c{k}", [f"c{k}.example.test"], "silent")
        store_fake(service, f"c{k}", (f"c{k}.example.test",), now + timedelta(days=60), f"{k + 1:08X}")

    async def scenario() -> None:
        app = make_app(service, autorenew=True)
        ca.painted = lambda: app.loaded and app.table.row_count == 3
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: app.loaded, "the first rows")
            assert app.table.row_count == 3
            await until(pilot, lambda: ca.held, "the scheduler to reach the CA")  # it does, after the paint
            assert app.table.row_count == 3 and app.is_running
            ca.close()  # the waiting look-up fails at once, and the dashboard quits without waiting for it

    try:
        asyncio.run(scenario())
    finally:
        ca.close()
    assert ca.painted_at_first is True
