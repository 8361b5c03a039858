"""The `?` screen: every key and what it does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ..keys import KEYS


def keys_table() -> Table:
    """Every key with its help sentence."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key in KEYS:
        table.add_row(key.display or key.key, key.help)
    table.add_row("o", "Sort by the next column (or click a column header)")
    table.add_row("ctrl+p", "Command palette: every action by name")
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the keys; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        """The keys table inside a dialog that scrolls: at 80x24 the list is taller than the screen, and its last
        keys (filter, theme, quit) must still be reachable (arrows, End, the mouse wheel)."""
        with VerticalScroll(classes="dialog"):
            yield Label("Keys", classes="title")
            yield Static(keys_table())
            yield Label("Mouse: click a row to select it, a header to sort it, a footer key to run it.",
                        classes="hint")
