"""DNS providers for dns-01: list, add or edit, test, remove.

The list shows each provider as ``zerossl-tui dns list`` does, secrets replaced by ``***``
(``core.dnsconf.masked``); secrets are typed into password inputs and never shown again. Every call runs
in a named thread worker on the App (the secrets file is read and written; a test talks to DNS servers),
and a test's steps come back one by one as ``TestStep`` messages, shown literally.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Log, Select

from ...core.models import DNS_TYPES, TSIG_ALGORITHMS, ProgressEvent
from ..blocking import error_text
from ..dns_model import COMMON, LABELS, SECRET_FIELDS, TYPE_FIELDS, form_text, rows, values_of
from ..messages import Answer
from ..text import literal, literal_text, plain
from .calls import CallScreen
from .confirm import ConfirmScreen

if TYPE_CHECKING:
    from ...service.service import CertificateService

PLACEHOLDERS = {"server": "127.0.0.1:53", "tsig_key_name": "acme", "tsig_secret": "base64 secret",
                "lexicon_provider": "cloudflare, route53, powerdns, …", "options": "auth_token=… KEY=VALUE",
                "command": "/usr/local/bin/dns-hook", "timeout": "60", "zone": "(found by SOA queries)",
                "resolvers": "(the zone's authoritative servers)", "propagation_timeout": "120",
                "ttl": "60"}


@dataclass
class TestStep(Message, bubble=False):
    """One step of a running ``dns test``, posted from the worker thread."""

    line: str


def list_rows(service: CertificateService) -> list[tuple[str, ...]]:
    """The providers as rows, read afresh."""
    return list(rows(service.reload()))


def save(service: CertificateService, name: str, values: dict[str, Any]) -> tuple[str, list[tuple[str, ...]]]:
    """Save one provider; its type and the new rows."""
    spec = service.set_dns(name, **values)
    return spec.type, list_rows(service)


def remove(service: CertificateService, name: str) -> list[tuple[str, ...]]:
    """Forget one provider (refused while a certificate uses it); the new rows."""
    service.remove_dns(name)
    return list_rows(service)


class DnsScreen(CallScreen):
    """The providers (secrets masked), a form to add or edit one, test and remove."""

    AUTO_FOCUS = "#providers"
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "save", "Save"),
                Binding("ctrl+t", "test", "Test selected"), Binding("delete", "remove", "Remove selected")]

    CALL_GROUP = "dns"

    def __init__(self, service: CertificateService) -> None:
        super().__init__(service)
        self.names: list[str] = []
        self.cancel = threading.Event()

    def compose(self) -> ComposeResult:
        """The list, the add/edit fields, the test row and its steps, the buttons."""
        yield Header()
        with VerticalScroll():
            yield Label("DNS providers", classes="section")
            yield Label(literal("Each [dns.NAME] puts up the TXT records of dns-01; secrets are kept in "
                                "secrets.toml and shown as ***"), classes="hint")
            yield DataTable(id="providers", cursor_type="row")
            yield Label("No DNS provider yet: fill in the fields below.", id="none", classes="hint")
            yield Label("Add or edit", classes="section")
            yield self._field("Name", Input(placeholder="bind", id="dns-name"))
            yield self._field("Type", Select([(t, t) for t in DNS_TYPES], allow_blank=False, value=DNS_TYPES[0],
                                             id="dns-type"))
            yield from self._type_fields()
            with Horizontal(classes="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Edit selected", id="edit")
                yield Button("Remove selected", id="remove")
                yield Button("Close", id="close")
            yield self._field("Test domain", Input(placeholder="example.com", id="domain"),
                              Button("Test selected", id="test"))
            yield Label("", id="error")
            yield Label("", id="result")
            yield Log(id="steps", auto_scroll=True)
        yield Footer()

    def _type_fields(self) -> ComposeResult:
        for key in dict.fromkeys([*(k for fields in TYPE_FIELDS.values() for k in fields), *COMMON]):
            if key == "tsig_algorithm":
                widget: Input | Select[str] = Select([(a, a) for a in TSIG_ALGORITHMS], allow_blank=False,
                                                     value=TSIG_ALGORITHMS[0], id=key)
            else:
                widget = Input(placeholder=PLACEHOLDERS.get(key, ""), password=key in SECRET_FIELDS, id=key)
            yield self._field(LABELS[key], widget)

    @staticmethod
    def _field(label: str, *widgets: Input | Select[str] | Button) -> Horizontal:
        return Horizontal(Label(label), *widgets, classes="field", id=f"field-{widgets[0].id}")

    def on_mount(self) -> None:
        """Read the list in a worker; show only the fields of the chosen type."""
        self.sub_title = "DNS providers"
        self.query_one("#providers", DataTable).add_columns(
            "Name", "Type", "Server / provider / command", "Zone", "Used by", "Other (secrets masked)")
        self.query_one("#steps", Log).display = False
        self.show_type_fields()
        self.run_call("dns list", partial(list_rows, self.service))

    def show_type_fields(self) -> None:
        """Hide the inputs that the chosen type does not use."""
        kind = str(self.query_one("#dns-type", Select).value)
        for fields in TYPE_FIELDS.values():
            for key in fields:
                self.query_one(f"#field-{key}").display = key in TYPE_FIELDS[kind]

    def on_select_changed(self, event: Select.Changed) -> None:
        """The type decides which inputs show."""
        if event.select.id == "dns-type":
            self.show_type_fields()

    def show_rows(self, found: list[tuple[str, ...]]) -> None:
        """Redraw the list, literally."""
        self.names = [row[0] for row in found]
        table = self.query_one("#providers", DataTable)
        table.clear()
        for row in found:
            table.add_row(*(literal_text(cell) for cell in row), key=row[0])
        self.query_one("#none").display = not found
        self.set_buttons()

    def selected(self) -> str | None:
        """The provider under the list's cursor."""
        if not self.names:
            return None
        return self.names[min(self.query_one("#providers", DataTable).cursor_row, len(self.names) - 1)]

    # -- actions --------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Route the buttons."""
        actions = {"save": self.action_save, "edit": self.action_edit, "remove": self.action_remove,
                   "test": self.action_test, "close": self.action_close}
        handler = actions.get(event.button.id or "")
        if handler:
            handler()

    def action_save(self) -> None:
        """Add or update the provider named in the form (checked by the service, like `dns add`)."""
        name = self.query_one("#dns-name", Input).value.strip()
        if not name:
            self.say(error="Name: type a short name for this DNS provider, such as bind")
            return
        text = {key: self.query_one(f"#{key}", Input).value for key in LABELS if key != "tsig_algorithm"}
        text["tsig_algorithm"] = str(self.query_one("#tsig_algorithm", Select).value)
        try:
            values = values_of(str(self.query_one("#dns-type", Select).value), text)
        except Exception as exc:  # noqa: BLE001 - a UsageError in the form's words
            self.say(error=error_text(exc))
            return
        self.run_call(f"dns save {name}", partial(save, self.service, name, values))

    def action_edit(self) -> None:
        """Fill the form with the selected provider (secrets stay empty: typed anew, or kept as saved)."""
        name = self.selected()
        spec = self.service.settings.dns.get(name or "")
        if spec is None:
            return
        self.query_one("#dns-name", Input).value = spec.name
        self.query_one("#dns-type", Select).value = spec.type
        for key, value in form_text(spec).items():
            if key == "tsig_algorithm":
                self.query_one("#tsig_algorithm", Select).value = value
            else:
                self.query_one(f"#{key}", Input).value = value
        for key in SECRET_FIELDS:
            self.query_one(f"#{key}", Input).value = ""
        self.say(result=f"editing {spec.name}: secrets left empty keep their saved values")

    def action_remove(self) -> None:
        """Remove the selected provider after confirmation; the service refuses while it is used."""
        name = self.selected()
        if name is None or self.busy:
            return
        question = f"Forget the DNS provider {name} (its secrets leave secrets.toml)?"
        self.app.push_screen(ConfirmScreen(f"Remove DNS provider {name}", question, "Remove", danger=True),
                             lambda yes: self.run_call(f"dns remove {name}", partial(remove, self.service, name))
                             if yes else None)

    def action_test(self) -> None:
        """``dns test NAME DOMAIN`` in a worker, each step shown as it happens."""
        name, domain = self.selected(), self.query_one("#domain", Input).value.strip()
        if name is None or self.busy:
            return
        if not domain:
            self.say(error="Test domain: type a name in a zone this provider serves, such as example.com")
            return
        log = self.query_one("#steps", Log)
        log.clear()
        log.display = True
        self.cancel = threading.Event()
        self.say(result=f"testing {name} at _acme-challenge.{domain}…")
        self.run_call(f"dns test {name}", partial(self._test, name, domain))

    def _test(self, name: str, domain: str) -> str:
        """The worker's body: the service's test, its steps posted to this screen from the thread."""
        def step(event: ProgressEvent) -> None:
            wait = f" (retry after {event.retry_after:.0f} s)" if event.retry_after else ""
            self.post_message(TestStep(f"{event.kind.value}: {event.message}{wait}"))

        return self.service.test_dns(name, domain, progress=step, cancel=self.cancel)

    def on_test_step(self, message: TestStep) -> None:
        """A step of the running test, literally."""
        self.query_one("#steps", Log).write_line(plain(message.line))

    def action_close(self) -> None:
        """Back to the certificates; a running test is cancelled (its record is still removed)."""
        self.cancel.set()
        self.dismiss(None)

    # -- answers --------------------------------------------------------------------------------

    def answered(self, message: Answer) -> None:
        """Show what happened, literally; typed secrets are cleared once saved."""
        verb, _, name = message.key.partition(" ")[2].partition(" ")
        if verb == "list":
            self.show_rows(message.result)
        elif verb == "save":
            kind, found = message.result
            for key in SECRET_FIELDS:
                self.query_one(f"#{key}", Input).value = ""
            self.show_rows(found)
            self.say(result=f"DNS provider {name} ({kind}) saved; test it with a domain below")
        elif verb == "remove":
            self.show_rows(message.result)
            self.say(result=f"DNS provider {name} removed")
        elif verb == "test":
            self.say(result=f"DNS provider {name}: ok: a TXT record at {message.result} was added, seen by "
                            "every resolver and removed")

    def needs_more(self, button: str) -> bool:
        """Edit, remove and test need a provider in the list."""
        return button in ("edit", "remove", "test") and not self.names
