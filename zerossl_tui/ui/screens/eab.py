"""EAB credentials of one provider: key ID and HMAC key, or an email / ZeroSSL API key to fetch them.

Secrets are typed into masked inputs, checked with ``core.validate`` as you type, saved through
``service.set_provider`` (which keeps them in the 0600 secrets file) and never shown again: the screen only
says whether they are configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select
from textual.worker import Worker, WorkerState

from ...core.errors import ZtError
from ...core.models import ProviderSpec
from ...core.settings import PROVIDER_FIELDS
from ...core.validate import build_provider
from .cert_form import provider_choices

if TYPE_CHECKING:
    from ...service.service import CertificateService

DOCS = {f.key: f.doc for f in PROVIDER_FIELDS}
FIELDS = ("eab_kid", "eab_hmac_key", "email", "api_key")


def describe(spec: ProviderSpec) -> str:
    """What is configured, without any secret."""
    eab = f"configured (key ID {spec.eab_kid})" if spec.has_eab else "not configured"
    api = "configured" if spec.api_key else "none"
    return f"{spec.directory}\nEAB: {eab}  ·  email: {spec.email or 'none'}  ·  ZeroSSL API key: {api}"


class EabScreen(ModalScreen[str | None]):
    """Per-provider EAB credentials; dismisses with the provider name once saved."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, service: CertificateService, provider: str) -> None:
        super().__init__()
        self.service, self.provider = service, provider

    def compose(self) -> ComposeResult:
        """Provider select, what is configured, the four inputs, error, test result, buttons."""
        with Vertical(classes="dialog"):
            yield Label("EAB credentials", classes="title")
            yield Horizontal(Label("Provider"), Select(provider_choices(self.service), value=self.provider,
                                                       allow_blank=False, id="provider"), classes="row")
            yield Label("", id="status")
            yield self._row("Key ID", "eab_kid", "kid from the CA's dashboard", password=False)
            yield self._row("HMAC key", "eab_hmac_key", "paste the base64url HMAC key", password=True)
            yield Label("or let ZeroSSL give them:", classes="hint")
            yield self._row("Email", "email", "ops@example.com", password=False)
            yield self._row("API key", "api_key", "ZeroSSL API access key", password=True)
            yield Label("", id="error")
            yield Label("", id="result")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Test", id="test")
                yield Button("Save", id="save", variant="primary")

    @staticmethod
    def _row(label: str, key: str, placeholder: str, *, password: bool) -> Horizontal:
        return Horizontal(Label(label), Input(placeholder=placeholder, password=password, id=key,
                                              tooltip=DOCS[key]), classes="row")

    def on_mount(self) -> None:
        """Show the chosen provider."""
        self._load(self.provider)

    def current(self) -> ProviderSpec:
        """The provider as saved now (configured or built-in)."""
        return self.service.settings.provider(self.provider)

    def _load(self, provider: str) -> None:
        self.provider = provider
        spec = self.current()
        self.query_one("#status", Label).update(describe(spec))
        for key in FIELDS:
            self.query_one(f"#{key}", Input).value = ""
        self.query_one("#eab_kid", Input).value = spec.eab_kid
        self.query_one("#email", Input).value = spec.email
        self.query_one("#eab_hmac_key", Input).placeholder = (
            "configured: paste a new key to replace it" if spec.has_eab else "paste the base64url HMAC key")
        self.query_one("#api_key", Input).placeholder = (
            "configured: paste a new key to replace it" if spec.api_key else "ZeroSSL API access key")
        self.validate()

    # -- validation -----------------------------------------------------------------------------

    def changes(self) -> dict[str, Any]:
        """Typed values; an empty secret keeps the saved one (None means unchanged)."""
        values = {key: self.query_one(f"#{key}", Input).value.strip() for key in FIELDS}
        return {key: (value or None) if key in ("eab_hmac_key", "api_key") else value
                for key, value in values.items()}

    def validate(self) -> str | None:
        """Check with ``core.validate.build_provider`` (base64url HMAC, email...); show the problem."""
        try:
            build_provider(self.provider, self.current(), **self.changes())
        except ZtError as exc:
            return self._show_error(exc.message)
        return self._show_error(None)

    def _show_error(self, message: str | None) -> str | None:
        label = self.query_one("#error", Label)
        label.update(message or "")
        label.set_class(message is not None, "error")
        self.query_one("#save", Button).disabled = message is not None
        self.query_one("#test", Button).disabled = message is not None
        return message

    def on_input_changed(self, event: Input.Changed) -> None:
        """Validate on every keystroke."""
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another provider: show its state."""
        if isinstance(event.value, str) and event.value != self.provider:
            self._load(event.value)

    # -- actions --------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save, test or cancel."""
        if event.button.id == "save":
            self.action_save()
        elif event.button.id == "test":
            self.action_test()
        else:
            self.dismiss(None)

    def save(self) -> bool:
        """Save through the service; secrets are then cleared from the inputs."""
        if self.validate() is not None:
            return False
        try:
            self.service.set_provider(self.provider, **self.changes())
        except ZtError as exc:
            self._show_error(exc.message)
            return False
        self._load(self.provider)
        return True

    def action_save(self) -> None:
        """Save and close."""
        if self.save():
            self.dismiss(self.provider)

    def action_test(self) -> None:
        """Register (or find) the account with what was typed, in a thread; saved only if the CA agrees."""
        if self.validate() is not None:
            return
        self._result("Contacting the CA…", None)
        self.query_one("#test", Button).disabled = True
        self.test_account(self.provider, self.changes())

    @work(thread=True, exclusive=True, exit_on_error=False, group="provider-test")
    def test_account(self, provider: str, changes: dict[str, Any]) -> ProviderSpec:
        """Runs on this screen on purpose: its only use is the answer shown here."""
        return self.service.set_provider(provider, test=True, **changes)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show the CA's answer in plain words."""
        if event.worker.group != "provider-test":
            return
        self.query_one("#test", Button).disabled = False
        if event.state == WorkerState.SUCCESS:
            self._load(self.provider)
            self._result("Account ready: the CA accepted these credentials; they are saved.", True)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, ZtError):
                self._result(f"{error.title}: {error.message}", False)
            else:
                self._result(f"Unexpected {type(error).__name__}: {error}", False)

    def _result(self, text: str, ok: bool | None) -> None:
        label = self.query_one("#result", Label)
        label.update(text)
        label.set_class(ok is True, "ok")
        label.set_class(ok is False, "bad")
