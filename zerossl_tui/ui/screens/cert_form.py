"""Add or edit a certificate: a modal form validated as you type with ``core.validate``.

Each field is checked on its own, so that a problem is shown in the form's words next to what was typed,
and only once that field was touched (or on Save). Saving runs in a worker on the App.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from ...core.dnsconf import certificate_dns_problem
from ...core.domains import validate_entry_name
from ...core.errors import UsageError, ZtError
from ...core.models import CHALLENGES, KEY_TYPES, CertificateSpec
from ...core.settings import BUILTIN_PROVIDERS, CERTIFICATE_FIELDS
from ...core.validate import build_certificate, check_domains, check_port, check_text
from ..blocking import error_text, run_blocking
from ..messages import Answer
from ..text import literal
from .cert_more import LABELS as MORE_LABELS
from .cert_more import more_checks, more_rows, more_values
from .touched import Touched

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
        self.saving = False

    def compose(self) -> ComposeResult:
        """One labelled input per setting, the inline error, and the buttons."""
        spec, editing = self.spec, self.spec is not None
        with Vertical(classes="dialog"):
            yield Label(literal(f"Edit {spec.name}" if spec else "Add a certificate"), classes="title")
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
                yield from more_rows(spec)
            if not editing:
                yield Checkbox("Issue it now", value=True, id="issue_now")
            yield Label("", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def _challenge_rows(self, spec: CertificateSpec | None) -> ComposeResult:
        yield self._row("Challenge", Select([(c, c) for c in CHALLENGES], allow_blank=False,
                                            value=spec.challenge if spec else CHALLENGES[0], id="challenge",
                                            tooltip=DOCS["challenge"]))
        yield self._row("DNS provider", Select(dns_choices(self.service), prompt="(none: add one with d)",
                                               value=self._dns_value(spec),
                                               id="dns", tooltip=DOCS["dns"]))
        port = str(spec.http_port) if spec else "80"
        yield self._row("HTTP port", Input(port, id="http_port", type="integer", tooltip=DOCS["http_port"]))
        yield self._row("Bind address", Input(spec.http_bind if spec else "", id="http_bind",
                                              placeholder="(all addresses)", tooltip=DOCS["http_bind"]))
        yield self._row("Webroot", Input(spec.webroot if spec else "", id="webroot",
                                         placeholder="(optional) /var/www/html: replaces the port",
                                         tooltip=DOCS["webroot"]))

    def _dns_value(self, spec: CertificateSpec | None) -> Any:
        """The saved DNS provider when it is still configured (a Select refuses an unknown value)."""
        return spec.dns if spec and spec.dns in self.service.settings.dns else Select.NULL

    @staticmethod
    def _row(label: str, widget: Input | Select[str]) -> Horizontal:
        """A labelled field; the row takes the field's id (``row-ID``) so it can be hidden."""
        return Horizontal(Label(label), widget, classes="row", id=f"row-{widget.id}")

    def _provider(self) -> str:
        return self.spec.provider if self.spec else self.service.settings.default_provider()

    def on_mount(self) -> None:
        """Focus the first editable field; nothing is called wrong before it was touched."""
        self.touched = Touched(self)
        self._show_dns_row()
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
        options.update(self._challenge_values())
        options.update(more_values(self))
        provider = self.query_one("#provider", Select).value
        return text["name"], split_domains(text["domains"]), str(provider), options

    def _challenge_values(self) -> dict[str, Any]:
        """challenge and dns as chosen: dns only with dns-01 (it means nothing with http-01)."""
        challenge = str(self.query_one("#challenge", Select).value)
        dns = self.query_one("#dns", Select).value
        chosen = "" if dns is Select.NULL or challenge != "dns-01" else str(dns)
        return {"challenge": challenge, "dns": chosen}

    def problems(self) -> dict[str, str]:
        """Each field's problem in the form's words, in the form's order (field id -> message)."""
        name, domains, provider, options = self.values()
        found: dict[str, str] = {}
        for field, check in self._checks(name, domains, options):
            try:
                check()
            except ZtError as exc:
                found.setdefault(field, exc.message)
        if not found:
            try:
                self.service.settings.provider(provider)
                spec = build_certificate(name, domains, provider, self.spec, **options)
            except ZtError as exc:
                found["provider"] = exc.message
            else:
                problem = certificate_dns_problem(spec, self.service.settings.dns)
                if problem:
                    found["dns"] = DNS_WORDS
        return found

    def _checks(self, name: str, domains: list[str], options: dict[str, Any]) -> list[tuple[str, Any]]:
        challenge = options["challenge"]
        checks: list[tuple[str, Any]] = [("name", lambda: self._check_name(name)),
                                         ("domains", lambda: _check_domains(domains, challenge))]
        if "http_port" in options:
            checks.append(("http_port", lambda: check_port(options["http_port"])))
        checks += [(key, lambda key=key: check_text(key, options[key]))
                   for key in ("http_bind", "webroot", "certfile", "keyfile")]
        if bool(options["certfile"]) != bool(options["keyfile"]):
            missing = "keyfile" if options["certfile"] else "certfile"
            checks.append((missing, _raiser("Certfile and Keyfile go together: fill in both or neither")))
        return checks + more_checks(options)

    def _check_name(self, name: str) -> None:
        if self.spec is not None:
            return
        if not name:
            raise UsageError("type a short name for this certificate, such as shop")
        validate_entry_name(name)
        if name in self.service.settings.certificates:
            raise UsageError(f"a certificate named {name!r} already exists: choose another name")

    def validate(self) -> str | None:
        """Check the form; show the first problem of a touched field and return the first problem (or
        None). Save stays disabled while anything is wrong."""
        found = self.problems()
        shown = next((message for field, message in found.items() if field in self.touched), None)
        if shown is None and found:
            self._show(_missing_hint(found), error=False)
        else:
            self._show(shown or "Ready to save.", error=shown is not None)
        self.query_one("#save", Button).disabled = bool(found) or self.saving
        return next(iter(found.values()), None)

    def _show(self, message: str, *, error: bool) -> None:
        label = self.query_one("#error", Label)
        label.update(literal(message))
        label.set_class(error, "error")

    def on_input_changed(self, event: Input.Changed) -> None:
        """Validate on every keystroke."""
        self.validate()

    def on_input_blurred(self, event: Input.Blurred) -> None:
        """Leaving a field lets its problem show."""
        self.touched.leave(event.input.id)
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Validate when a select changes; the DNS provider row only shows with dns-01."""
        self._show_dns_row()
        self.validate()

    def _show_dns_row(self) -> None:
        """dns-01 needs a DNS provider; http-01 the port, bind address or web root (the other ones hide)."""
        dns01 = self.query_one("#challenge", Select).value == "dns-01"
        self.query_one("#row-dns").display = dns01
        for field in ("http_port", "http_bind", "webroot"):
            self.query_one(f"#row-{field}").display = not dns01

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
        """Save through the service in a worker on the App; a refusal stays in the form, in plain words."""
        self.touched.touch_all()
        if self.saving or self.validate() is not None:
            return
        name, domains, provider, options = self.values()
        if self.spec is None:
            call = partial(self.service.add_certificate, name, domains, provider, **options)
        else:
            call = partial(self.service.edit_certificate, name, domains, provider=provider, **options)
        self.saving = True
        self.query_one("#save", Button).disabled = True
        run_blocking(self, f"save certificate {name}", call)

    def on_answer(self, message: Answer) -> None:
        """The save ended: close with the result, or show why it was refused."""
        self.saving = False
        if message.error is not None:
            self._show(error_text(message.error), error=True)
            self.query_one("#save", Button).disabled = False
            return
        name = self.values()[0]
        issue_now = self.spec is None and self.query_one("#issue_now", Checkbox).value
        self.dismiss(FormResult(name, issue_now))


LABELS = {"name": "Name", "domains": "Domains", "provider": "Provider", "http_port": "HTTP port",
          "http_bind": "Bind address", "challenge": "Challenge", "dns": "DNS provider",
          "webroot": "Webroot", "certfile": "Certfile", "keyfile": "Keyfile", **MORE_LABELS}


def _check_domains(domains: list[str], challenge: str) -> None:
    if not domains:
        raise UsageError("type at least one domain name, such as example.com")
    wild = next((d for d in domains if d.startswith("*")), None)
    if wild is not None and challenge != "dns-01":
        raise UsageError(f"{wild} is a wildcard: choose Challenge dns-01 and a DNS provider, "
                         "or list each name instead")
    check_domains(domains, challenge)


def dns_choices(service: CertificateService) -> list[tuple[str, str]]:
    """The configured DNS providers, with their type."""
    return [(f"{name} ({spec.type})", name) for name, spec in sorted(service.settings.dns.items())]


DNS_WORDS = "dns-01 needs a DNS provider: choose one (add providers on the DNS providers screen, key D)"


def _raiser(message: str) -> Any:
    def fail() -> None:
        raise UsageError(message)

    return fail


def _missing_hint(found: dict[str, str]) -> str:
    """What is left to fill in, before anything was called wrong."""
    names = [LABELS.get(field, field) for field in found]
    return f"Fill in {' and '.join(names)} to save." if len(names) < 3 else "Fill in the form to save."

