"""The settings screen: providers, renewal defaults and concurrency, theme.

Every value is checked as you type with ``core.settings.validate_table`` and saved with
``service.update_table``, the same code the command line uses, in a worker on the App (each update reloads
and fsyncs the settings file). Each field shows its schema docstring.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Switch

from ...core.errors import ZtError
from ...core.schema import NOTIFY_FIELDS
from ...core.settings import BUILTIN_PROVIDERS, GENERAL_FIELDS, RENEWAL_FIELDS, UI_FIELDS, Field, validate_table
from ...core.text import printable
from ..blocking import error_text, run_blocking
from ..messages import Answer
from ..text import literal, literal_text
from .eab import EabScreen
from .provider_form import ProviderForm

if TYPE_CHECKING:
    from ...service.service import CertificateService

DOCS = {f.key: f.doc for f in (*GENERAL_FIELDS, *UI_FIELDS)}


class SettingsScreen(Screen[bool]):
    """Edit providers, [renewal], the default provider and the theme; dismisses with True when saved."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, service: CertificateService, themes: list[str]) -> None:
        super().__init__()
        self.service, self.themes = service, themes
        self.saving = False

    def compose(self) -> ComposeResult:
        """Providers table and buttons, renewal fields, general and theme fields, save bar."""
        yield Header()
        with VerticalScroll():
            yield Label("Providers", classes="section")
            yield DataTable(id="providers", cursor_type="row")
            with Horizontal(classes="buttons"):
                yield Button("Add provider", id="add-provider")
                yield Button("EAB credentials", id="eab")
            yield Label("Renewal", classes="section")
            for field in RENEWAL_FIELDS:
                yield self._field("renewal", field)
            yield Label("General", classes="section")
            yield self._row("default_provider", Select(self._provider_options(), id="default_provider",
                                                       prompt="automatic", value=self._default_provider()))
            yield Label("Dashboard", classes="section")
            themes = [(literal_text(theme), theme) for theme in self.themes]
            chosen = self.app.theme if self.app.theme in self.themes else self.themes[0]
            yield self._row("theme", Select(themes, allow_blank=False, id="theme", value=chosen))
            for field in UI_FIELDS:
                if field.key != "theme":
                    yield self._field("ui", field)
            yield Label("Notifications (targets: n)", classes="section")
            for field in NOTIFY_FIELDS:
                yield self._field("notify", field)
            yield Label("", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Close", id="close")
        yield Footer()

    def _field(self, table: str, field: Field) -> Horizontal:
        """A schema field: a switch for booleans, an input otherwise, and its docstring beside it."""
        value = self.service.settings.table(table)[field.key]
        widget: Input | Switch
        if field.type is bool:
            widget = Switch(bool(value), id=field.key)
        else:
            text = ", ".join(value) if field.type is list else str(value)  # a list is typed comma-separated
            widget = Input(text, id=field.key, type="integer" if field.type is int else "text")
        return Horizontal(Label(field.key), widget, Label(field.doc, classes="doc"), classes="field")

    @staticmethod
    def _row(key: str, widget: Select[str]) -> Horizontal:
        return Horizontal(Label(key), widget, Label(DOCS[key], classes="doc"), classes="field")

    def _provider_options(self) -> list[tuple[str, str]]:
        names = sorted(set(self.service.settings.providers) | set(BUILTIN_PROVIDERS))
        return [(name, name) for name in names]

    def _default_provider(self) -> str | Any:
        chosen = self.service.settings.general.default_provider
        return chosen if chosen else Select.NULL

    def on_mount(self) -> None:
        """Fill the providers table."""
        self.sub_title = printable(f"Settings: {home_relative(self.service.paths.config_file)}")
        table = self.query_one("#providers", DataTable)
        table.add_columns("Name", "Directory", "Email", "EAB", "CA bundle")
        self.refresh_providers()

    def refresh_providers(self) -> None:
        """Redraw the providers; secrets are only ever shown as 'configured'."""
        table = self.query_one("#providers", DataTable)
        table.clear()
        for spec in self.service.settings.providers.values():
            eab = "configured" if spec.has_eab else ("via API key" if spec.api_key else "-")
            cells = (spec.name, spec.directory, spec.email or "-", eab, spec.ca_bundle or "-")
            table.add_row(*(literal_text(cell) for cell in cells), key=spec.name)

    # -- values ---------------------------------------------------------------------------------

    def renewal_values(self) -> dict[str, Any]:
        """The [renewal] fields as typed."""
        return self.values(RENEWAL_FIELDS)

    def ui_values(self) -> dict[str, Any]:
        """The [ui] fields as chosen, the theme included."""
        values = self.values(tuple(f for f in UI_FIELDS if f.key != "theme"))
        theme = self.query_one("#theme", Select).value
        if isinstance(theme, str):
            values["theme"] = theme
        return values

    def values(self, fields: tuple[Field, ...]) -> dict[str, Any]:
        """Fields as typed, converted to their schema types where possible."""
        values: dict[str, Any] = {}
        for field in fields:
            if field.type is bool:
                values[field.key] = self.query_one(f"#{field.key}", Switch).value
                continue
            text = self.query_one(f"#{field.key}", Input).value.strip()
            values[field.key] = _to_int(text) if field.type is int else text
            if field.type is list:
                values[field.key] = [item.strip() for item in text.split(",") if item.strip()]
        return values

    def validate(self) -> str | None:
        """Check [renewal] with the settings schema; show the problem in plain words."""
        message = None
        try:
            validate_table("renewal", self.renewal_values())
            validate_table("ui", self.ui_values())
            validate_table("notify", self.values(NOTIFY_FIELDS))
        except ZtError as exc:
            message = exc.message
        self.query_one("#error", Label).update(literal(message or ""))
        self.query_one("#save", Button).disabled = message is not None or self.saving
        return message

    def on_input_changed(self, event: Input.Changed) -> None:
        """Validate on every keystroke."""
        self.validate()

    # -- actions --------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Route the buttons."""
        actions = {"save": self.action_save, "close": self.action_close, "add-provider": self.add_provider,
                   "eab": self.edit_eab}
        handler = actions.get(event.button.id or "")
        if handler:
            handler()

    def add_provider(self) -> None:
        """Open the add-provider form."""
        self.app.push_screen(ProviderForm(self.service), lambda _: self.refresh_providers())

    def edit_eab(self) -> None:
        """EAB credentials of the highlighted provider (or the default one)."""
        table = self.query_one("#providers", DataTable)
        name = self.service.settings.default_provider()
        if table.row_count:
            name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self.app.push_screen(EabScreen(self.service, name), lambda _: self.refresh_providers())

    def action_save(self) -> None:
        """Save renewal, general and theme through the service (in a worker on the App), then close."""
        if self.saving or self.validate() is not None:
            return
        chosen = self.query_one("#default_provider", Select).value
        default = chosen if isinstance(chosen, str) else ""
        self.saving = True
        self.query_one("#save", Button).disabled = True
        call = partial(save_settings, self.service, self.renewal_values(), default, self.ui_values(),
                       self.values(NOTIFY_FIELDS))
        run_blocking(self, "save settings", call)

    def on_answer(self, message: Answer) -> None:
        """Answer: apply the theme and close; refused: say why and stay."""
        self.saving = False
        if message.error is not None:
            self.validate()
            self.query_one("#error", Label).update(literal(error_text(message.error)))
            return
        self.app.theme = self.ui_values().get("theme", self.app.theme)
        self.dismiss(True)

    def action_close(self) -> None:
        """Leave without saving."""
        self.dismiss(False)


def save_settings(service: CertificateService, renewal: dict[str, Any], default_provider: str,
                  ui: dict[str, Any], notify: dict[str, Any] | None = None) -> None:
    """The settings screen's save: [renewal], the default provider when it changed, [ui], then [notify]."""
    service.update_table("renewal", renewal)
    if default_provider != service.settings.general.default_provider:
        service.update_table("general", {"default_provider": default_provider})
    service.update_table("ui", ui)
    if notify is not None:
        service.update_table("notify", notify)


def home_relative(path: Path) -> str:
    """``~/...`` for a path under the home folder (shorter, and the same on every machine)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _to_int(text: str) -> int | str:
    """A whole number when the text is one; otherwise the text, which the schema then refuses."""
    try:
        return int(text)
    except ValueError:
        return text
