"""The main screen: header, filter bar, 90-day strip, certificates table (or the empty-store hint), validity
bar and order log, footer.

The dashboard's keys are bound here, not on the App, so that they are inactive (and not in the footer)
while a modal or the settings screen is on top. The actions themselves live on the App.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from .keys import KEYS
from .widgets.cert_table import CertTable
from .widgets.order_log import OrderLog
from .widgets.timeline import TimelineStrip
from .widgets.validity import ValidityBar

EMPTY_TEXT = (
    "No certificates yet.\n\nPress [b]a[/b] to add your first certificate "
    "(or run [b]zerossl-tui add NAME -d DOMAIN[/b]).\nPress [b]s[/b] for settings and providers, "
    "[b]k[/b] for EAB credentials, [b]?[/b] for every key."
)


class MainScreen(Screen[None]):
    """Composes the dashboard's widgets; every key routes to an App action."""

    class Ready(Message):
        """The widgets exist: the App may load data and start its timers."""

    AUTO_FOCUS = "#certs"
    # Under 30 lines (an 80x24 terminal) the order log gives the table room: it used to leave 3 rows.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [*(key.binding(prefix="app.") for key in KEYS),
                Binding("escape", "app.close_filter", "Clear filter", show=False)]

    def compose(self) -> ComposeResult:
        """Header, filter bar, the table (or the empty-store hint), the order log, the footer."""
        yield Header()
        yield Input(placeholder="filter by name or domain (enter: keep, escape: clear)", id="filter")
        yield Static(EMPTY_TEXT, id="empty")
        yield TimelineStrip(id="timeline")
        yield CertTable(id="certs")
        yield ValidityBar(id="validity")
        yield OrderLog(id="log")
        yield Footer(show_command_palette=False)  # room for every footer key in 140 columns; ? lists ctrl+p

    def on_mount(self) -> None:
        """Tell the App that the widgets are there."""
        self.post_message(self.Ready())

    @property
    def table(self) -> CertTable:
        """The certificates table."""
        return self.query_one("#certs", CertTable)

    @property
    def order_log(self) -> OrderLog:
        """The selected certificate's log."""
        return self.query_one("#log", OrderLog)

    @property
    def timeline(self) -> TimelineStrip:
        """The next 90 days strip."""
        return self.query_one("#timeline", TimelineStrip)

    @property
    def validity(self) -> ValidityBar:
        """The selected certificate's validity bar."""
        return self.query_one("#validity", ValidityBar)

    @property
    def filter_bar(self) -> Input:
        """The filter input (hidden until ``/``)."""
        return self.query_one("#filter", Input)

    def show_empty(self, empty: bool) -> None:
        """The hint instead of the table and log when there is no certificate at all."""
        self.query_one("#empty").display = empty
        self.table.display = self.order_log.display = not empty
        self.timeline.display = self.validity.display = not empty
