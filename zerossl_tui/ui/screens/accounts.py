"""ACME accounts per provider: the account URL when one is registered, key rollover and deactivation.

Both operations talk to the CA, so each asks first (``ConfirmScreen``) and then runs in a named thread worker
on the App, whose answer goes to the App: it is told even when this screen was closed meanwhile
(``Dashboard.account_done``), and this screen, when open, shows it literally and reads the accounts again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Label

from ...core.settings import BUILTIN_PROVIDERS
from ..blocking import error_text, run_blocking
from ..messages import Answer
from ..text import literal, literal_text
from .confirm import ConfirmScreen

if TYPE_CHECKING:
    from ...service.service import CertificateService

NOT_REGISTERED = "not registered (the first order registers it)"


@dataclass(frozen=True)
class AccountRow:
    """One provider: its directory and its account URL ("" when none is registered)."""

    provider: str
    directory: str
    url: str


def account_rows(service: CertificateService) -> list[AccountRow]:
    """Configured providers, those certificates use, and built-in ones that hold an account."""
    settings = service.settings
    known = set(settings.providers) | set(BUILTIN_PROVIDERS)
    used = {spec.provider for spec in settings.certificates.values()} & known
    rows = []
    for name in sorted(known):
        spec = settings.provider(name)
        _key, url = service.store.load_account(name, spec.directory)  # the key is not kept, only the URL
        if url or name in settings.providers or name in used:
            rows.append(AccountRow(name, spec.directory, url))
    return rows


def rollover_sentence(provider: str, url: str) -> str:
    """The outcome of a rollover, worded like ``zerossl-tui account rollover``."""
    return f"{provider}: new account key in use for {url}"


def deactivate_sentence(provider: str, url: str) -> str:
    """The outcome of a deactivation, worded like ``zerossl-tui account deactivate``."""
    return f"{provider}: account {url} deactivated"


def outcome(message: Answer) -> tuple[str, bool]:
    """An account Answer in words, and whether it went well (keys are ``account ACTION PROVIDER``)."""
    _, action, provider = message.key.split(" ", 2)
    if message.error is not None:
        return f"{provider}: {action} failed: {error_text(message.error)}", False
    words = rollover_sentence if action == "rollover" else deactivate_sentence
    return words(provider, str(message.result)), True


class AccountsScreen(Screen[None]):
    """Every provider's account; key rollover and deactivation of the selected one, after confirmation."""

    AUTO_FOCUS = "#accounts"
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+r", "rollover", "Key rollover"),
                Binding("ctrl+d", "deactivate", "Deactivate")]

    def __init__(self, service: CertificateService) -> None:
        super().__init__()
        self.service = service
        self.rows: list[AccountRow] = []

    def compose(self) -> ComposeResult:
        """The accounts table, the result line, the buttons."""
        yield Header()
        with VerticalScroll():
            yield Label("ACME accounts", classes="section")
            yield Label("One account per provider. Key rollover gives it a new key (RFC 8555 7.3.5); "
                        "deactivation ends it at the CA for good.", classes="hint")
            yield DataTable(id="accounts", cursor_type="row")
            yield Label("", id="result")
            with Horizontal(classes="buttons"):
                yield Button("Key rollover", id="rollover")
                yield Button("Deactivate", id="deactivate", variant="error")
                yield Button("Close", id="close")
        yield Footer()

    def on_mount(self) -> None:
        """Read the accounts in a worker."""
        self.sub_title = "Accounts"
        self.query_one("#accounts", DataTable).add_columns("Provider", "Directory", "Account")
        self.reload()

    def reload(self) -> None:
        """Read every provider's account again (files only, no CA is asked)."""
        run_blocking(self, "accounts list", partial(account_rows, self.service), group="accounts-list")

    def show_rows(self, rows: list[AccountRow]) -> None:
        """Redraw the table, keeping the cursor on the same provider."""
        table = self.query_one("#accounts", DataTable)
        chosen = self.selected()
        self.rows = rows
        table.clear()
        for row in rows:
            table.add_row(*(literal_text(cell) for cell in (row.provider, row.directory, row.url or NOT_REGISTERED)),
                          key=row.provider)
        names = [row.provider for row in rows]
        if chosen and chosen.provider in names:
            table.move_cursor(row=names.index(chosen.provider))

    def selected(self) -> AccountRow | None:
        """The provider under the cursor."""
        row = self.query_one("#accounts", DataTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    # -- actions --------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Route the buttons."""
        actions = {"rollover": self.action_rollover, "deactivate": self.action_deactivate,
                   "close": self.action_close}
        handler = actions.get(event.button.id or "")
        if handler:
            handler()

    def action_rollover(self) -> None:
        """Ask, then replace the selected provider's account key."""
        row = self.registered()
        if row is not None:
            question = (f"Replace the account key of {row.provider} ({row.url})? The CA is asked to switch to a "
                        "new key; the account and its certificates stay the same.")
            self.confirm(row, "rollover", ConfirmScreen(f"Key rollover: {row.provider}", question, "Roll over"),
                         self.service.rollover)

    def action_deactivate(self) -> None:
        """Ask, then deactivate the selected provider's account."""
        row = self.registered()
        if row is not None:
            question = (f"Deactivate the account {row.url} at {row.provider}? This cannot be undone: the CA refuses "
                        "it from now on, and the next order registers a new account.")
            self.confirm(row, "deactivate", ConfirmScreen(f"Deactivate: {row.provider}", question, "Deactivate",
                                                          danger=True), self.service.deactivate)

    def registered(self) -> AccountRow | None:
        """The selected row when it has an account; otherwise say why nothing happens."""
        row = self.selected()
        if row is not None and not row.url:
            self.show_result(f"{row.provider}: no account registered yet: the first order registers one", False)
            return None
        return row

    def confirm(self, row: AccountRow, action: str, question: ConfirmScreen,
                call: Callable[[str], str]) -> None:
        """After a yes: the call runs on the App, which reports it (this screen may be gone by then)."""
        def answered(yes: bool | None) -> None:
            if yes:
                self.show_result(f"{row.provider}: {action} at the CA…", True)
                run_blocking(self.app, f"account {action} {row.provider}", partial(call, row.provider),
                             group="account")

        self.app.push_screen(question, answered)

    def action_close(self) -> None:
        """Back to the certificates."""
        self.dismiss(None)

    # -- answers --------------------------------------------------------------------------------

    def on_answer(self, message: Answer) -> None:
        """The accounts were read."""
        if message.error is not None:
            self.show_result(error_text(message.error), False)
        else:
            self.show_rows(message.result)

    def account_done(self, message: Answer) -> None:
        """A rollover or deactivation ended (called by the App): say how, literally, and read again."""
        self.show_result(*outcome(message))
        self.reload()

    def show_result(self, text: str, ok: bool) -> None:
        """One line under the table; red when something failed."""
        label = self.query_one("#result", Label)
        label.update(literal(text))
        label.set_class(not ok, "failed")
