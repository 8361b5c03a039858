"""Small modal questions: confirm an action, pick a revocation reason."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select

from ...core.models import REVOCATION_REASONS
from ..text import literal


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True when confirmed."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel"), Binding("y", "dismiss(True)", "Yes")]

    def __init__(self, title: str, question: str, confirm: str = "Yes", *, danger: bool = False) -> None:
        super().__init__()
        self.title_text, self.question, self.confirm, self.danger = title, question, confirm, danger

    def compose(self) -> ComposeResult:
        """Title, question, and the two buttons."""
        with Vertical(classes="dialog"):
            yield Label(literal(self.title_text), classes="title")
            yield Label(literal(self.question))
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button(self.confirm, id="yes", variant="error" if self.danger else "primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Either button answers."""
        self.dismiss(event.button.id == "yes")


class RevokeScreen(ModalScreen[int | None]):
    """Confirm a revocation and choose its RFC 5280 reason; dismisses with the reason code or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, name: str, serial: str) -> None:
        super().__init__()
        self.cert_name, self.serial = name, serial

    def compose(self) -> ComposeResult:
        """The question, the reason select and the buttons."""
        with Vertical(classes="dialog"):
            yield Label(literal(f"Revoke {self.cert_name}?"), classes="title")
            yield Label(literal(f"Serial {self.serial} will stop being trusted. This cannot be undone."))
            yield Label("Reason:")
            yield Select([(name, code) for name, code in REVOCATION_REASONS.items()], value=0,
                         allow_blank=False, id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button("Revoke", id="yes", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Revoke with the chosen reason, or cancel."""
        if event.button.id != "yes":
            self.dismiss(None)
            return
        value = self.query_one("#reason", Select).value
        self.dismiss(value if isinstance(value, int) else 0)
