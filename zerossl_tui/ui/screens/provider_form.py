"""Add a provider (a CA): name, ACME directory, CA bundle, contact email."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ...core.errors import ZtError
from ...core.settings import PROVIDER_FIELDS
from ...core.validate import build_provider

if TYPE_CHECKING:
    from ...service.service import CertificateService

DOCS = {f.key: f.doc for f in PROVIDER_FIELDS}
FIELDS = (("Name", "name", "myca"), ("Directory", "directory", "https://acme.example.com/directory"),
          ("CA bundle", "ca_bundle", "(optional) /path/to/ca.pem"), ("Email", "email", "ops@example.com"))


class ProviderForm(ModalScreen[str | None]):
    """Validated as you type with ``build_provider``; saved with ``service.set_provider``."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, service: CertificateService) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        """The four inputs, the error line, the buttons."""
        with Vertical(classes="dialog"):
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
            build_provider(name, None, **values)
        except ZtError as exc:
            message = exc.message
        label = self.query_one("#error", Label)
        label.update(message or "")
        label.set_class(message is not None, "error")
        self.query_one("#save", Button).disabled = message is not None
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
        """Save through the service; a refusal (e.g. unreadable CA bundle) stays in the form."""
        if self.validate() is not None:
            return
        values = self.values()
        name = values.pop("name")
        try:
            self.service.set_provider(name, **values)
        except ZtError as exc:
            self.query_one("#error", Label).update(exc.message)
            self.query_one("#error", Label).set_class(True, "error")
            return
        self.dismiss(name)
