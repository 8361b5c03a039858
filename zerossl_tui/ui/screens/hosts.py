"""The fleet's Hosts view (``[storage] backend = "postgresql"`` only): every host with its heartbeat age
(stale ones flagged) and what it serves, and per certificate who holds its lock and which hosts still
serve an older serial. Read in a named worker on the App, refreshed every few seconds."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label

from ..blocking import error_text, run_blocking
from ..hosts_model import Fleet, cert_rows, host_rows
from ..messages import Answer
from ..text import literal, literal_text

if TYPE_CHECKING:
    from ...service.service import CertificateService

REFRESH_SECONDS = 5.0


def load_fleet(service: CertificateService) -> Fleet:
    """The storage status and each certificate's current serial (both from the shared database)."""
    status = service.storage_status()
    current = {v.spec.name: (v.info.serial if v.info else "") for v in service.views()}
    return Fleet(status, current)


class HostsScreen(Screen[None]):
    """Hosts and certificates of the fleet."""

    AUTO_FOCUS = "#hosts"
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+r", "refresh", "Refresh")]

    def __init__(self, service: CertificateService) -> None:
        super().__init__()
        self.service = service
        self.loading = False
        self.fleet: Fleet | None = None

    def compose(self) -> ComposeResult:
        """Two tables and a status line."""
        yield Header()
        with VerticalScroll():
            yield Label("Hosts", classes="section")
            yield DataTable(id="hosts", cursor_type="row")
            yield Label("Certificates", classes="section")
            yield DataTable(id="certs-fleet", cursor_type="row")
            yield Label("loading…", id="result")
        yield Footer()

    def on_mount(self) -> None:
        """Columns, the first load, and the periodic refresh."""
        self.sub_title = "Fleet hosts"
        self.query_one("#hosts", DataTable).add_columns("Host", "Heartbeat", "State", "Serves")
        self.query_one("#certs-fleet", DataTable).add_columns("Certificate", "Current serial", "Lock held by",
                                                             "Hosts on an older serial")
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self.action_refresh)

    def action_refresh(self) -> None:
        """Read the fleet again in a worker (one read at a time)."""
        if not self.loading:
            self.loading = True
            run_blocking(self, "hosts", partial(load_fleet, self.service), group="hosts")

    def on_answer(self, message: Answer) -> None:
        """Redraw, or say why the database could not be read."""
        self.loading = False
        if message.error is not None:
            self.query_one("#result", Label).update(literal(error_text(message.error)))
            return
        self.fleet = message.result
        self.draw()

    def draw(self) -> None:
        """Both tables from the last read, ages against the dashboard's clock."""
        if self.fleet is None:
            return
        now = self.app.clock.now()  # type: ignore[attr-defined]
        hosts = self.query_one("#hosts", DataTable)
        hosts.clear()
        for row in host_rows(self.fleet, now):
            hosts.add_row(*(literal_text(cell, "bold red" if cell == "stale" else "") for cell in row))
        certs = self.query_one("#certs-fleet", DataTable)
        certs.clear()
        for row in cert_rows(self.fleet, now):
            certs.add_row(*(literal_text(cell) for cell in row))
        stale = sum(1 for row in host_rows(self.fleet, now) if row[2] == "stale")
        self.query_one("#result", Label).update(literal(
            f"{len(self.fleet.status.hosts)} host(s), {stale} stale; refreshed every {REFRESH_SECONDS:g} s"))

    def action_close(self) -> None:
        """Back to the certificates."""
        self.dismiss(None)
