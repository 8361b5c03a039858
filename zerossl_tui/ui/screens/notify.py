"""Notification targets: add an apprise URL, send a test, remove one.

URLs carry credentials, so the screen never shows one: the list is masked exactly as ``zerossl-tui notify
list`` masks it (``service.notify.masked``), the URL is typed into a password input and cleared once saved,
and every error names only the masked URL. Each call (the secrets file is read and written, a test sends
over the network) runs in a named thread worker on the App; the answers come back as ``Answer`` messages.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Input, Label

from ...service.notify import NOT_SENT_HINT
from ..messages import Answer
from ..text import literal, literal_text
from .calls import CallScreen
from .confirm import ConfirmScreen

if TYPE_CHECKING:
    from ...service.service import CertificateService

PLACEHOLDER = "json://host/path  ·  mailto://user:password@host  ·  ntfy://topic  ·  slack://…"


def masked_urls(service: CertificateService) -> list[str]:
    """The URLs, numbered from 1 in this order, as ``notify list`` shows them."""
    from ...service.notify import masked

    return masked(service.notify_urls())


def add_url(service: CertificateService, url: str) -> tuple[int, list[str]]:
    """Save ``url`` (checked by apprise); its number and the new masked list."""
    return service.add_notify_url(url), masked_urls(service)


def remove_url(service: CertificateService, number: int) -> tuple[str, list[str]]:
    """Forget URL ``number``; the removed URL masked and the new masked list."""
    return service.remove_notify_url(number), masked_urls(service)


def test_all(service: CertificateService) -> tuple[int, list[str]]:
    """Send a test message to every URL: how many targets there are and one line per failed one."""
    count = len(service.notify_urls())
    return count, service.notify_test() if count else []


def test_sentence(count: int, failed: list[str]) -> str:
    """The outcome of a test, worded like ``zerossl-tui notify test``."""
    if not count:
        return "No notification URL: add one first."
    lines = [f"test notification not sent to {line}: {NOT_SENT_HINT}" for line in failed]
    return "\n".join([*lines, f"test notification sent to {count - len(failed)} of {count} target(s)"])


class NotifyScreen(CallScreen):
    """The notification URLs (masked), a password input to add one, test and remove buttons."""

    AUTO_FOCUS = "#urls"
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+t", "test", "Test all"),
                Binding("delete", "remove", "Remove selected")]

    CALL_GROUP = "notify"

    def __init__(self, service: CertificateService) -> None:
        super().__init__(service)
        self.urls: list[str] = []

    def compose(self) -> ComposeResult:
        """The list, the new-URL row, the error and result lines, the buttons."""
        yield Header()
        with VerticalScroll():
            yield Label("Notifications", classes="section")
            yield Label(literal("apprise URLs, kept in secrets.toml and shown masked; events: failure, expiring, "
                                "verify-failed, recovered (choose them in Settings, s)"), classes="hint")
            yield DataTable(id="urls", cursor_type="row")
            yield Label("No notification URL yet: paste one below.", id="none", classes="hint")
            with Horizontal(classes="field"):
                yield Label("New URL")
                yield Input(placeholder=PLACEHOLDER, password=True, id="url")
                yield Button("Add", id="add", variant="primary")
            yield Label("", id="error")
            yield Label("", id="result")
            with Horizontal(classes="buttons"):
                yield Button("Test all", id="test")
                yield Button("Remove selected", id="remove")
                yield Button("Close", id="close")
        yield Footer()

    def on_mount(self) -> None:
        """Read the list in a worker."""
        self.sub_title = "Notifications"
        self.query_one("#urls", DataTable).add_columns("#", "URL (masked)")
        self.run_call("notify list", partial(masked_urls, self.service))

    def show_urls(self, urls: list[str]) -> None:
        """Redraw the numbered, masked list."""
        self.urls = urls
        table = self.query_one("#urls", DataTable)
        table.clear()
        for number, url in enumerate(urls, 1):
            table.add_row(str(number), literal_text(url), key=str(number))
        self.query_one("#remove", Button).disabled = not urls
        self.query_one("#none").display = not urls

    # -- actions --------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Route the buttons."""
        actions = {"add": self.action_add, "test": self.action_test, "remove": self.action_remove,
                   "close": self.action_close}
        handler = actions.get(event.button.id or "")
        if handler:
            handler()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the URL input adds it."""
        if event.input.id == "url":
            self.action_add()

    def action_add(self) -> None:
        """Save the typed URL (apprise checks it first)."""
        url = self.query_one("#url", Input).value.strip()
        if not url:
            self.say(error="New URL: type or paste an apprise URL first")
            return
        self.run_call("notify add", partial(add_url, self.service, url))

    def action_test(self) -> None:
        """Send a test message to every target."""
        if self.busy:
            return
        self.say(result="sending a test notification…")
        self.run_call("notify test", partial(test_all, self.service))

    def action_remove(self) -> None:
        """Remove the selected URL, after confirmation."""
        table = self.query_one("#urls", DataTable)
        if not self.urls or self.busy:
            return
        number = table.cursor_row + 1
        question = f"Stop sending notifications to {self.urls[number - 1]} (number {number})?"
        self.app.push_screen(ConfirmScreen(f"Remove notification {number}", question, "Remove", danger=True),
                             lambda yes: self.run_call("notify remove", partial(remove_url, self.service, number))
                             if yes else None)

    def action_close(self) -> None:
        """Back to the certificates."""
        self.dismiss(None)

    # -- answers --------------------------------------------------------------------------------

    def answered(self, message: Answer) -> None:
        """Show what happened, literally; the typed URL is cleared once it is saved."""
        if message.key == "notify list":
            self.show_urls(message.result)
        elif message.key == "notify add":
            number, urls = message.result
            self.query_one("#url", Input).value = ""
            self.show_urls(urls)
            self.say(result=f"added as number {number}: {urls[number - 1]}")
        elif message.key == "notify remove":
            removed, urls = message.result
            self.show_urls(urls)
            self.say(result=f"removed: {removed}")
        elif message.key == "notify test":
            self.say(result=test_sentence(*message.result))

    def needs_more(self, button: str) -> bool:
        """Remove needs a URL to remove."""
        return button == "remove" and not self.urls
