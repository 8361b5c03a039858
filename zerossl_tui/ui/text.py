"""Text from outside (a user, the CA, a file, a hook) as the dashboard shows it: literally.

Textual reads ``[...]`` in a plain string as markup, so a name typed as ``x[/`` or a CA problem detail
holding ``[/]`` would raise MarkupError, and ``[b]`` would be drawn bold. Every such text goes through
``literal`` (for labels, titles, notifications) or ``plain`` (for Rich ``Text`` and table cells), which
never parse markup and show control characters as visible escapes (``core.text.printable``).
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from ..core.text import printable


def plain(text: object) -> str:
    """``text`` on one line, control characters escaped: for table cells and Rich ``Text`` pieces."""
    return printable(str(text))


def literal(text: object) -> Content:
    """``text`` as Textual content that is never read as markup; line breaks kept, controls escaped."""
    return Content(printable(str(text), keep_lines=True))


def literal_text(text: object, style: str = "") -> Text:
    """``text`` as a Rich ``Text`` (for data tables and selects), one line, controls escaped."""
    return Text(plain(text), style=style)
