"""A guard for the dashboard's message handlers while the app closes.

Workers (loaders, orders, the scheduler) post messages until they stop; those that arrive after the main
screen's widgets were removed have nothing left to update, and must not raise (Textual would report the
error as the app's exit status).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])


def while_open(handler: Handler) -> Handler:
    """Run ``handler`` only while the dashboard still has its table (``app.is_closing()`` is False)."""

    @functools.wraps(handler)
    def guarded(self: Any, *args: Any) -> Any:
        if self.is_closing():
            return None
        return handler(self, *args)

    return guarded  # type: ignore[return-value]
