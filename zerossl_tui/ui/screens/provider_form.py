"""Add a provider (a CA): name, ACME directory, CA bundle, contact email."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ...core.errors import UsageError, ZtError
from ...core.settings import PROVIDER_FIELDS
from ...core.validate import build_provider
from ..blocking import error_text, run_blocking
from ..messages import Answer
from ..text import literal

if TYPE_CHECKING:
    from ...service.service import CertificateService

DOCS = {f.key: f.doc for f in PROVIDER_FIELDS}
FIELDS = (("Name", "name", "myca"), ("Directory", "directory", "https://acme.example.com/directory"),
          ("CA bundle", "ca_bundle", "(optional) /path/to/ca.pem"), ("Email", "email", "ops@example.com"),
          ("Prefer chain", "preferred_chain", "(optional) root's name, such as ISRG Root X1"))


class ProviderForm(ModalScreen[str | None]):
    """Validated as you type with ``build_provider``; saved with ``service.set_provider``."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, service: CertificateService) -> None:
        super().__init__()
        self.service = service
        self.saving = False

    def compose(self) -> ComposeResult:
        """The inputs, the error line, the buttons."""
        with VerticalScroll(classes="dialog", can_focus=False):  # at 80x24: scrolls to the focused row
            yield Label("Add a provider", classes="title")
            for label, key, placeholder in FIELDS:
                yield Horizontal(Label(label), Input(placeholder=placeholder, id=key,
                                                     tooltip=DOCS.get(key, "A short name for this CA.")),
                                 classes="row")
            yield Label("EAB credentials can be added next with k.", classes="hint")
            yield Label("", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def values(self) -> dict[str, Any]:
        """What was typed."""
        return {key: self.query_one(f"#{key}", Input).value.strip() for _, key, _ in FIELDS}

    def validate(self) -> str | None:
        """Check with ``core.validate.build_provider``."""
        values = self.values()
        name = values.pop("name")
        message = None
        try:
            if not name:
                raise UsageError("Name: type a short name for this CA, such as myca")
            if not values["directory"]:
                raise UsageError("Directory: type the CA's ACME directory URL, such as "
                                 "https://acme.example.com/directory")
            build_provider(name, None, **values)
        except ZtError as exc:
            message = exc.message
        return self._show(message)

    def _show(self, message: str | None) -> str | None:
        label = self.query_one("#error", Label)
        label.update(literal(message or ""))
        label.set_class(message is not None, "error")
        self.query_one("#save", Button).disabled = message is not None or self.saving
        return message

    def on_mount(self) -> None:
        """Focus the name."""
        self.query_one("#name", Input).focus()
        self.validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Validate on every keystroke."""
        self.validate()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save or cancel."""
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        """Save through the service in a worker on the App; a refusal (e.g. unreadable CA bundle) stays in
        the form."""
        if self.saving or self.validate() is not None:
            return
        values = self.values()
        name = values.pop("name")
        self.saving = True
        self.query_one("#save", Button).disabled = True
        run_blocking(self, f"save provider {name}", partial(self.service.set_provider, name, **values))

    def on_answer(self, message: Answer) -> None:
        """Close once saved, or show why not."""
        self.saving = False
        error = message.error
        if error is None:
            self.dismiss(self.values()["name"])
        else:
            self._show(error_text(error))
