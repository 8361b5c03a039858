"""The ``manual`` DNS provider in the dashboard: a modal shows each TXT record to create (copyable) and,
live, which resolvers already see it; the order goes on by itself once every resolver does, or on
Continue; Cancel cancels the order.

The engine calls the hook from the order's worker thread; the hook only posts messages to the App
(``post_message`` is thread-safe) and never waits for the UI, so neither side blocks the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from .text import literal


@dataclass(frozen=True)
class Record:
    """One TXT record a person creates: where, and the value."""

    fqdn: str
    value: str


@dataclass
class ManualRecords(Message):
    """A ``manual`` order needs records created (posted from the order's thread)."""

    hook: DashboardManual
    records: list[Record]


@dataclass
class ManualVisible(Message):
    """A resolver (``server``, ip:port) now answers every value at ``fqdn``."""

    hook: DashboardManual
    fqdn: str
    server: str


@dataclass
class ManualRemovable(Message):
    """The order is over: the records may be deleted."""

    hook: DashboardManual
    records: list[Record]


@dataclass(eq=False)
class DashboardManual:
    """A ``ManualHook`` for one order of ``name``: tells the App, which shows ``ManualDnsScreen``.
    ``cancel`` gives the event that cancels what waits (the order's), when there is one."""

    app: App[Any]
    name: str
    cancel: Callable[[], threading.Event | None] = lambda: None
    continue_event: threading.Event = field(default_factory=threading.Event)

    def show(self, records: Sequence[Any]) -> None:
        """Called from the order's thread: ask the App to show the records."""
        self.app.post_message(ManualRecords(self, [Record(r.fqdn, r.value) for r in records]))

    def visible(self, fqdn: str, server: str) -> None:
        """Called from the order's thread: one more resolver sees ``fqdn``."""
        self.app.post_message(ManualVisible(self, fqdn, server))

    def removable(self, records: Sequence[Any]) -> None:
        """Called from the order's thread: the records may go now."""
        self.app.post_message(ManualRemovable(self, [Record(r.fqdn, r.value) for r in records]))


class ManualDnsScreen(ModalScreen[None]):
    """The records to create, each name and value in a read-only (selectable) input, and per record the
    resolvers that already see it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel the order"), Binding("ctrl+y", "copy", "Copy value")]

    def __init__(self, hook: DashboardManual, records: list[Record]) -> None:
        super().__init__()
        self.hook, self.records = hook, records
        self.seen: dict[str, list[str]] = {r.fqdn: [] for r in records}

    def compose(self) -> ComposeResult:
        """A title, one block per record, the buttons."""
        with Vertical(classes="dialog", id="manual"):
            yield Label(literal(f"{self.hook.name}: create these DNS records"), classes="title")
            yield Label(literal("The order goes on by itself once every resolver sees them, or on Continue. "
                                "Select a value, or press ctrl+y to copy the focused one."), classes="hint")
            with VerticalScroll(id="records"):
                for number, record in enumerate(self.records):
                    yield Horizontal(Label("Name"), Input(record.fqdn + ".", id=f"name-{number}"), classes="row")
                    yield Horizontal(Label("Type"), Label("TXT"), classes="row")
                    yield Horizontal(Label("Value"), Input(record.value, id=f"value-{number}"), classes="row")
                    yield Label(literal(self.seen_text(record.fqdn)), id=f"seen-{number}", classes="seen")
            with Horizontal(classes="buttons"):
                yield Button("Cancel the order", id="cancel", variant="error")
                yield Button("Continue", id="continue", variant="primary")

    def on_mount(self) -> None:
        """Focus the first value, ready to copy."""
        self.query_one("#value-0", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """The inputs are there to select and copy from: a typed change is undone."""
        number = int((event.input.id or "-0").rsplit("-", 1)[1])
        record = self.records[number]
        original = record.fqdn + "." if (event.input.id or "").startswith("name") else record.value
        if event.value != original:
            event.input.value = original

    def seen_text(self, fqdn: str) -> str:
        """Which resolvers see the record so far."""
        servers = self.seen.get(fqdn, [])
        return f"seen by {', '.join(servers)}" if servers else "not seen by any resolver yet: waiting…"

    def mark_visible(self, fqdn: str, server: str) -> None:
        """One more resolver sees ``fqdn``: update its line."""
        if fqdn in self.seen and server not in self.seen[fqdn]:
            self.seen[fqdn].append(server)
        for number, record in enumerate(self.records):
            if record.fqdn == fqdn:
                self.query_one(f"#seen-{number}", Label).update(literal(self.seen_text(fqdn)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Continue or cancel."""
        if event.button.id == "continue":
            self.hook.continue_event.set()
            self.dismiss(None)
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        """Cancel the order (its records are still cleaned up); the modal closes."""
        event = self.hook.cancel()
        if event is not None:
            event.set()
        self.dismiss(None)

    def action_copy(self) -> None:
        """Copy the focused input's text (a name or a value) to the clipboard."""
        focused = self.focused
        if isinstance(focused, Input):
            self.app.copy_to_clipboard(focused.value)
            self.app.notify(f"copied: {focused.value}", timeout=3)
