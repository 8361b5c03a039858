"""How a screen runs a blocking call: in a named thread worker on the App, the answer posted back to it."""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode

from ..core.errors import ZtError
from .messages import Answer


def run_blocking(node: DOMNode, key: str, call: Callable[[], object], *, group: str = "save") -> None:
    """Ask the dashboard App to run ``call`` (named ``key``) off the UI thread; ``node`` gets ``Answer``."""
    start = getattr(node.app, "run_blocking", None)  # the dashboard App (ui.base) provides it
    if start is None:
        raise TypeError("screens that save run inside the dashboard App")
    start(key, call, node, group=group)


def answer(key: str, call: Callable[[], object], reply_to: DOMNode) -> None:
    """The body of the worker: the result or the error goes back as a message (the screen words it)."""
    try:
        result, error = call(), None
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the screen that shows it
        result, error = None, exc
    reply_to.post_message(Answer(key, result, error))


def error_text(error: BaseException) -> str:
    """An error as a form shows it: a ZtError's message as is, anything else named."""
    if isinstance(error, ZtError):
        return error.message
    return f"Unexpected {type(error).__name__}: {error}"
