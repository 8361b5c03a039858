"""EAB credentials of one provider: key ID and HMAC key, or (ZeroSSL only) an email / API key to fetch them.

Secrets are typed into masked inputs, checked with ``core.validate`` as you type, saved through
``service.set_provider`` (which keeps them in the 0600 secrets file) and never shown again: the screen only
says whether they are configured. The screen offers only what applies to the provider: the ZeroSSL part
for ZeroSSL, nothing to fill in for a CA that needs no EAB (Let's Encrypt; any CA whose directory says so).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from ...core.errors import ZtError
from ...core.models import ProviderSpec
from ...core.settings import PROVIDER_FIELDS
from ...core.validate import build_provider
from ..blocking import error_text, run_blocking
from ..messages import Answer
from ..text import literal
from .cert_form import provider_choices
from .eab_need import ASK, NONE, ZEROSSL, eab_need, need_sentence

if TYPE_CHECKING:
    from ...service.service import CertificateService

DOCS = {f.key: f.doc for f in PROVIDER_FIELDS}
FIELDS = ("eab_kid", "eab_hmac_key", "email", "api_key")


def describe(spec: ProviderSpec, need: str = ASK) -> str:
    """What is configured, without any secret (no EAB line for a CA that needs none and has none)."""
    if need == NONE and not spec.has_eab:
        return spec.directory
    eab = f"configured (key ID {spec.eab_kid})" if spec.has_eab else "not configured"
    text = f"{spec.directory}\nEAB: {eab}"
    if spec.is_zerossl:
        api = "configured" if spec.api_key else "none"
        text += f"  ·  email: {spec.email or 'none'}  ·  ZeroSSL API key: {api}"
    return text


class EabScreen(ModalScreen[str | None]):
    """Per-provider EAB credentials; dismisses with the provider name once saved."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, service: CertificateService, provider: str) -> None:
        super().__init__()
        self.service, self.provider = service, provider
        self.need = ASK
        self.busy = False

    def compose(self) -> ComposeResult:
        """Provider select, what is configured, what it needs, the inputs, error, test result, buttons."""
        with VerticalScroll(classes="dialog", can_focus=False):  # at 80x24: scrolls to the focused row
            yield Label("EAB credentials", classes="title")
            yield Horizontal(Label("Provider"), Select(provider_choices(self.service), value=self.provider,
                                                       allow_blank=False, id="provider"), classes="row")
            yield Label("", id="status")
            yield Label("", id="need")
            yield self._row("Key ID", "eab_kid", "kid from the CA's dashboard", password=False, part="eab")
            yield self._row("HMAC key", "eab_hmac_key", "paste the base64url HMAC key", password=True,
                            part="eab")
            yield Label("or let ZeroSSL give them:", classes="hint zerossl", id="zerossl-hint")
            yield self._row("Email", "email", "ops@example.com", password=False, part="zerossl")
            yield self._row("API key", "api_key", "ZeroSSL API access key", password=True, part="zerossl")
            yield Label("", id="error")
            yield Label("", id="result")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Test", id="test")
                yield Button("Save", id="save", variant="primary")

    @staticmethod
    def _row(label: str, key: str, placeholder: str, *, password: bool, part: str) -> Horizontal:
        return Horizontal(Label(label), Input(placeholder=placeholder, password=password, id=key,
                                              tooltip=DOCS[key]), classes=f"row {part}")

    def on_mount(self) -> None:
        """Show the chosen provider."""
        self._load(self.provider)

    def current(self) -> ProviderSpec:
        """The provider as saved now (configured or built-in)."""
        return self.service.settings.provider(self.provider)

    def _load(self, provider: str) -> None:
        self.provider = provider
        spec = self.current()
        for key in FIELDS:
            self.query_one(f"#{key}", Input).value = ""
        self.query_one("#eab_kid", Input).value = spec.eab_kid
        self.query_one("#email", Input).value = spec.email
        self.query_one("#eab_hmac_key", Input).placeholder = (
            "configured: paste a new key to replace it" if spec.has_eab else "paste the base64url HMAC key")
        self.query_one("#api_key", Input).placeholder = (
            "configured: paste a new key to replace it" if spec.api_key else "ZeroSSL API access key")
        self._show_need(spec, eab_need(spec))
        self.validate()

    # -- what the provider needs ----------------------------------------------------------------

    def _show_need(self, spec: ProviderSpec, need: str, note: str = "") -> None:
        """Show only the parts that apply; ask the CA's directory when the provider is not a known one."""
        self.need = need
        self.query_one("#status", Label).update(literal(describe(spec, need)))
        self.query_one("#need", Label).update(literal(need_sentence(spec, need, note)))
        for widget in self.query(".eab"):
            widget.display = need != NONE
        for widget in self.query(".zerossl"):
            widget.display = need == ZEROSSL
        if need == ASK and not note:
            run_blocking(self, f"ask {spec.name} about EAB", partial(_ask_directory, spec), group="provider-need")
        self.validate()

    # -- validation -----------------------------------------------------------------------------

    def changes(self) -> dict[str, Any]:
        """Typed values; an empty secret keeps the saved one (None means unchanged)."""
        values = {key: self.query_one(f"#{key}", Input).value.strip() for key in FIELDS}
        return {key: (value or None) if key in ("eab_hmac_key", "api_key") else value
                for key, value in values.items()}

    def validate(self) -> str | None:
        """Check with ``core.validate.build_provider`` (base64url HMAC, email...); show the problem."""
        changes, spec = self.changes(), self.current()
        if changes["eab_kid"] and not (changes["eab_hmac_key"] or spec.has_eab):
            return self._show_error("HMAC key: paste the HMAC key that goes with this key ID")
        if changes["eab_hmac_key"] and not changes["eab_kid"]:
            return self._show_error("Key ID: type the key ID that goes with this HMAC key")
        try:
            build_provider(self.provider, spec, **changes)
        except ZtError as exc:
            return self._show_error(exc.message)
        return self._show_error(None)

    def _show_error(self, message: str | None) -> str | None:
        label = self.query_one("#error", Label)
        label.update(literal(message or ""))
        label.set_class(message is not None, "error")
        self.query_one("#save", Button).disabled = message is not None or self.need == NONE or self.busy
        self.query_one("#test", Button).disabled = message is not None or self.busy
        return message

    def on_input_changed(self, event: Input.Changed) -> None:
        """Validate on every keystroke."""
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another provider: show its state."""
        if isinstance(event.value, str) and event.value != self.provider:
            self._result("", None)
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

    def action_save(self) -> None:
        """Save (in a worker on the App) and close once saved."""
        if self.busy or self.need == NONE or self.validate() is not None:
            return
        self._start(f"save {self.provider} EAB", partial(self.service.set_provider, self.provider,
                                                         **self.changes()), "save")

    def action_test(self) -> None:
        """Register (or find) the account with what was typed, in a worker; saved only if the CA agrees."""
        if self.busy or self.validate() is not None:
            return
        self._result("Contacting the CA…", None)
        self._start(f"test {self.provider}", partial(self.service.set_provider, self.provider, test=True,
                                                     **self.changes()), "provider-test")

    def _start(self, key: str, call: Any, group: str) -> None:
        self.busy = True
        self.validate()
        run_blocking(self, key, call, group=group)

    def on_answer(self, message: Answer) -> None:
        """A save, a test or the directory question ended: show the answer in plain words."""
        kind = message.key.split(" ", 1)[0]
        if kind == "ask":
            self._need_answer(message)
            return
        self.busy = False
        if kind == "save":
            self._saved(message)
        else:
            self._tested(message)

    def _saved(self, message: Answer) -> None:
        if message.error is None:
            self.dismiss(self.provider)
        else:
            self._show_error(_titled(message.error))

    def _tested(self, message: Answer) -> None:
        if message.error is None:
            self._load(self.provider)
            self._result("Account ready: the CA accepted these credentials; they are saved.", True)
        else:
            self._result(_titled(message.error), False)
            self.validate()

    def _need_answer(self, message: Answer) -> None:
        spec = self.current()
        if message.key != f"ask {spec.name} about EAB":
            return  # the user chose another provider meanwhile
        if message.error is not None:
            self._show_need(spec, ASK, _titled(message.error))
        else:
            self._show_need(spec, "required" if message.result else NONE)

    def _result(self, text: str, ok: bool | None) -> None:
        label = self.query_one("#result", Label)
        label.update(literal(text))
        label.set_class(ok is True, "ok")
        label.set_class(ok is False, "bad")


def _ask_directory(spec: ProviderSpec) -> bool:
    """Whether the CA's directory says it needs EAB (a network call: runs in a worker)."""
    from ...engine.directory import external_account_required

    return external_account_required(spec)


def _titled(error: BaseException) -> str:
    title = getattr(error, "title", "")
    return f"{title}: {error_text(error)}" if title else error_text(error)
