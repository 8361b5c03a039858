"""Which fields of a form the user has touched: a field's error is shown only after that, or after Save.

A field counts as touched once its value differs from the one the form opened with, or once it lost the
focus; ``touch_all`` (on Save) lets every problem show.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.widgets import Input


class Touched:
    """Remembers a form's opening values and which fields were touched since."""

    def __init__(self, form: DOMNode) -> None:
        self.form = form
        self.initial = {widget.id: widget.value for widget in form.query(Input) if widget.id}
        self.left: set[str] = set()
        self.all = False

    def touch_all(self) -> None:
        """Save was pressed: every field's problem may show now."""
        self.all = True

    def leave(self, field: str | None) -> None:
        """The focus left ``field``."""
        if field:
            self.left.add(field)

    def __contains__(self, field: str) -> bool:
        """Whether ``field``'s problem may be shown."""
        if self.all or field in self.left:
            return True
        found = self.form.query(f"#{field}")
        widget = found.first() if found else None
        return isinstance(widget, Input) and widget.value != self.initial.get(field, widget.value)
