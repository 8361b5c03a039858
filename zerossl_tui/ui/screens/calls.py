"""A screen whose buttons start one blocking call at a time (a save, a removal, a test): the call runs in a
named thread worker on the App, the buttons wait until it answers, and an error or a result line replaces
the last one, shown literally. The DNS providers and notifications screens are such screens."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.screen import Screen
from textual.widgets import Button, Label

from ..blocking import error_text, run_blocking
from ..messages import Answer
from ..text import literal

if TYPE_CHECKING:
    from ...service.service import CertificateService


class CallScreen(Screen[None]):
    """One call at a time; subclasses word the answers (``answered``) and say which buttons need more than
    an idle screen (``needs_more``). The screen has ``#error`` and ``#result`` labels and a ``#close``
    button, which is never disabled."""

    CALL_GROUP: ClassVar[str] = "save"

    def __init__(self, service: CertificateService) -> None:
        super().__init__()
        self.service = service
        self.busy = False

    def run_call(self, key: str, call: Callable[[], object]) -> None:
        """Run one call in a worker on the App; buttons wait until it answers."""
        if self.busy:  # keys still work while the buttons are disabled: one call at a time
            return
        self.busy = True
        self.set_buttons()
        run_blocking(self, key, call, group=self.CALL_GROUP)

    def on_answer(self, message: Answer) -> None:
        """Enable the buttons again; show the error, or let the subclass word the result."""
        self.busy = False
        self.set_buttons()
        if message.error is not None:
            self.say(error=error_text(message.error))
            return
        self.answered(message)

    def answered(self, message: Answer) -> None:
        """A call ended well: show what it did."""

    def say(self, *, error: str = "", result: str = "") -> None:
        """Show an error (red) or a result line; each replaces the last."""
        self.query_one("#error", Label).update(literal(error))
        self.query_one("#result", Label).update(literal(result))

    def set_buttons(self) -> None:
        """Disable the buttons while a call runs, and those that need more than the screen has."""
        for button in self.query(Button):
            if button.id != "close":
                button.disabled = self.busy or self.needs_more(button.id or "")

    def needs_more(self, button: str) -> bool:
        """True when ``button`` cannot act now (nothing to act on), even with no call running."""
        return False
