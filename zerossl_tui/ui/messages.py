"""Messages that the dashboard's thread workers post to the App or to a screen: small dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ..core.models import CertificateView, OrderRecord


@dataclass
class OrderProgress(Message):
    """An order of ``name`` made a step; the step itself waits on the OrderBoard.

    Progress can come fast (polling, retries): a newer message for the same certificate replaces one
    still queued, so the queue never floods and the UI always draws the latest state.
    """

    name: str

    def can_replace(self, message: Message) -> bool:
        """A queued progress message for the same certificate is superseded by this one."""
        return isinstance(message, OrderProgress) and message.name == self.name


@dataclass
class ViewsLoaded(Message):
    """Fresh rows for the table, read from the service in a worker; ``partial``: only some rows (the others
    are unchanged)."""

    views: list[CertificateView]
    partial: bool = False


@dataclass
class OrdersLoaded(Message):
    """A certificate's orders from the journal, newest first."""

    name: str
    orders: list[OrderRecord]


@dataclass
class SchedulerNote(Message):
    """A line from the background auto-renewal scheduler."""

    text: str


@dataclass
class Answer(Message, bubble=False):
    """A blocking call that a screen asked the App to run (a save, a removal, an account test, a question
    to a CA's directory) ended: its result, or the error the screen shows in its own words."""

    key: str
    result: Any
    error: BaseException | None
