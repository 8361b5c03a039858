"""Add or edit a certificate: a modal form validated as you type with ``core.validate``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from ...core.errors import UsageError, ZtError
from ...core.models import KEY_TYPES, CertificateSpec
from ...core.settings import BUILTIN_PROVIDERS, CERTIFICATE_FIELDS
from ...core.validate import build_certificate

if TYPE_CHECKING:
    from ...service.service import CertificateService

DOCS = {f.key: f.doc for f in CERTIFICATE_FIELDS}
TEXT_FIELDS = ("name", "domains", "http_port", "http_bind", "webroot", "certfile", "keyfile")


@dataclass(frozen=True)
class FormResult:
    """What the form saved, and whether to issue it right away."""

    name: str
    issue_now: bool


def split_domains(text: str) -> list[str]:
    """Domains typed with commas and/or spaces between them."""
    return [part for part in re.split(r"[\s,]+", text) if part]


def provider_choices(service: CertificateService) -> list[tuple[str, str]]:
    """Configured providers first, then the built-in ones not configured yet."""
    configured = sorted(service.settings.providers)
    builtin = [name for name in BUILTIN_PROVIDERS if name not in configured]
    return [(f"{name}", name) for name in configured] + [(f"{name} (built-in)", name) for name in builtin]


class CertificateForm(ModalScreen[FormResult | None]):
    """The add (``spec`` None) or edit form; saves through the service and dismisses with a FormResult."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, service: CertificateService, spec: CertificateSpec | None = None) -> None:
        super().__init__()
        self.service, self.spec = service, spec
        self._touched = False

    def compose(self) -> ComposeResult:
        """One labelled input per setting, the inline error, and the buttons."""
        spec, editing = self.spec, self.spec is not None
        with Vertical(classes="dialog"):
            yield Label(f"Edit {spec.name}" if spec else "Add a certificate", classes="title")
            with VerticalScroll(id="fields"):
                yield self._row("Name", Input(spec.name if spec else "", placeholder="shop", id="name",
                                              disabled=editing, tooltip="A short name for this certificate."))
                yield self._row("Domains", Input(", ".join(spec.domains) if spec else "",
                                                 placeholder="example.com, www.example.com", id="domains",
                                                 tooltip=DOCS["domains"]))
                yield self._row("Provider", Select(provider_choices(self.service), allow_blank=False,
                                                   value=self._provider(), id="provider",
                                                   tooltip=DOCS["provider"]))
                yield self._row("Key type", Select([(k, k) for k in KEY_TYPES], allow_blank=False,
                                                   value=spec.key_type if spec else KEY_TYPES[0],
                                                   id="key_type", tooltip=DOCS["key_type"]))
                yield from self._challenge_rows(spec)
                yield self._row("Certfile", Input(spec.certfile if spec else "", id="certfile",
                                                  placeholder="(optional) /etc/ssl/site/fullchain.pem",
                                                  tooltip=DOCS["certfile"]))
                yield self._row("Keyfile", Input(spec.keyfile if spec else "", id="keyfile",
                                                 placeholder="(optional) /etc/ssl/site/privkey.pem",
                                                 tooltip=DOCS["keyfile"]))
            if not editing:
                yield Checkbox("Issue it now", value=True, id="issue_now")
            yield Label("", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def _challenge_rows(self, spec: CertificateSpec | None) -> ComposeResult:
        port = str(spec.http_port) if spec else "80"
        yield self._row("HTTP port", Input(port, id="http_port", type="integer", tooltip=DOCS["http_port"]))
        yield self._row("Bind address", Input(spec.http_bind if spec else "", id="http_bind",
                                              placeholder="(all addresses)", tooltip=DOCS["http_bind"]))
        yield self._row("Webroot", Input(spec.webroot if spec else "", id="webroot",
                                         placeholder="(optional) /var/www/html: replaces the port",
                                         tooltip=DOCS["webroot"]))

    @staticmethod
    def _row(label: str, widget: Input | Select[str]) -> Horizontal:
        return Horizontal(Label(label), widget, classes="row")

    def _provider(self) -> str:
        return self.spec.provider if self.spec else self.service.settings.default_provider()

    def on_mount(self) -> None:
        """Focus the first editable field and show what is still missing."""
        self.query_one("#domains" if self.spec else "#name", Input).focus()
        self.validate()

    # -- validation -----------------------------------------------------------------------------

    def values(self) -> tuple[str, list[str], str, dict[str, Any]]:
        """(name, domains, provider, options) as typed."""
        text = {key: self.query_one(f"#{key}", Input).value.strip() for key in TEXT_FIELDS}
        options: dict[str, Any] = {
            "key_type": self.query_one("#key_type", Select).value,
            "http_bind": text["http_bind"], "certfile": text["certfile"], "keyfile": text["keyfile"],
        }
        if text["webroot"]:
            options["webroot"] = text["webroot"]
        else:
            options["http_port"] = text["http_port"] or "80"
            options["webroot"] = ""
        provider = self.query_one("#provider", Select).value
        return text["name"], split_domains(text["domains"]), str(provider), options

    def validate(self) -> str | None:
        """Check the form with ``core.validate``; show and return the problem in plain words, or None."""
        name, domains, provider, options = self.values()
        try:
            if self.spec is None and name in self.service.settings.certificates:
                raise UsageError(f"a certificate named {name!r} already exists: choose another name")
            self.service.settings.provider(provider)
            build_certificate(name, domains, provider, self.spec, **options)
        except ZtError as exc:
            return self._show_error(exc.message)
        return self._show_error(None)

    def _show_error(self, message: str | None) -> str | None:
        label = self.query_one("#error", Label)
        label.update(message or "Ready to save.")
        label.set_class(self._touched and message is not None, "error")
        self.query_one("#save", Button).disabled = message is not None
        return message

    def on_input_changed(self, event: Input.Changed) -> None:
        """Validate on every keystroke."""
        self._touched = True
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Validate when a select changes."""
        self.validate()

    # -- saving ---------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save or cancel."""
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in any field saves when the form is valid."""
        self.action_save()

    def action_save(self) -> None:
        """Save through the service; a refusal stays in the form, in plain words."""
        self._touched = True
        if self.validate() is not None:
            return
        name, domains, provider, options = self.values()
        try:
            if self.spec is None:
                self.service.add_certificate(name, domains, provider, **options)
            else:
                self.service.edit_certificate(name, domains, provider=provider, **options)
        except ZtError as exc:
            self._show_error(exc.message)
            return
        issue_now = self.spec is None and self.query_one("#issue_now", Checkbox).value
        self.dismiss(FormResult(name, issue_now))
