"""The dashboard App: what each key does, the command palette, and the factory the CLI and tests use.

Each action reads the selection, opens a screen or queues an order; layout, loaders, the order queue and
the scheduler live in ``base.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen
from textual.widgets import Input

from ..core.clock import Clock
from ..core.models import CertStatus
from .app_dns import DnsAndFleet
from .board import QUEUED
from .keys import KEYS
from .messages import Answer
from .screens.accounts import AccountsScreen, outcome
from .screens.cert_form import CertificateForm, FormResult, provider_choices
from .screens.confirm import ConfirmScreen, RevokeScreen
from .screens.dns import DnsScreen
from .screens.eab import EabScreen
from .screens.help import HelpScreen
from .screens.hosts import HostsScreen
from .screens.notify import NotifyScreen
from .screens.settings import SettingsScreen

if TYPE_CHECKING:
    from ..service.service import CertificateService


class Dashboard(DnsAndFleet):
    """zerossl-tui's terminal dashboard over one CertificateService."""

    def selected(self) -> str | None:
        """The selected certificate's name, or a notification saying there is none."""
        name = self.table.selected_name
        if name is None:
            self.notify("No certificate selected: press a to add one", severity="warning")
        return name

    # -- orders ---------------------------------------------------------------------------------

    def action_renew(self) -> None:
        """``r``: renew the selected certificate now (forced)."""
        name = self.selected()
        if name is None:
            return
        if self.board.get(name) is not None:
            self.notify(f"{name}: an order is already running (c cancels it)", severity="warning")
            return
        self.enqueue([name], force=True)

    def action_renew_due(self) -> None:
        """``R``: renew every certificate that is due, up to ``renewal.concurrency`` at once. The service
        says which are due (the rule of the scheduler and `renew`, on the journal as it is now, not on the
        table's last load), in a worker."""
        self.run_blocking("renew due", self.service.due, self, group="renew-due")

    def due_found(self, message: Answer) -> None:
        """Queue the due certificates, but those that another process is issuing."""
        if message.error is not None:
            self.report(message.error)
            return
        busy = {name for name, view in self.table.views.items() if view.status is CertStatus.ISSUING}
        count = self.enqueue([name for name in message.result or [] if name not in busy], force=False)
        if not count:
            self.notify("Nothing is due for renewal.", title="Renew due")
            return
        limit = self.service.settings.renewal.concurrency
        self.notify(f"Renewing {count} due certificate(s), {limit} at a time.", title="Renew due")

    def action_cancel(self) -> None:
        """``c``: cancel the selected row's order (a queued one is simply dropped)."""
        name = self.selected()
        if name is None:
            return
        job = self.board.get(name)
        if job is None:
            self.notify(f"{name}: no order is running", severity="warning")
            return
        if job.state == QUEUED:
            self.board.finish(name)
            self.table.set_job(name, None)
            self.notify(f"{name}: removed from the queue")
        else:
            job.cancel.set()
            self.notify(f"{name}: cancelling at the next step…")
        self.draw_log()

    # -- certificates ---------------------------------------------------------------------------

    def action_add(self) -> None:
        """``a``: the add form."""
        self.push_screen(CertificateForm(self.service), self.form_saved)

    def action_edit(self) -> None:
        """``e``: the edit form of the selected certificate."""
        name = self.selected()
        if name is not None:
            self.push_screen(CertificateForm(self.service, self.service.certificate(name)), self.form_saved)

    def form_saved(self, result: FormResult | None) -> None:
        """After add/edit: reload, select it, issue it when asked."""
        if result is None:
            return
        self.notify(f"{result.name}: saved")
        self.select_after_load = result.name
        self.orders_cache.pop(result.name, None)
        if result.issue_now:
            self.enqueue([result.name], force=True)
        self.reload_views()
        self.wake_scheduler()

    def action_remove(self) -> None:
        """``d``: stop managing the selected certificate, after confirmation."""
        name = self.selected()
        if name is None:
            return
        if self.board.get(name) is not None:
            self.notify(f"{name}: cancel its running order first (c)", severity="warning")
            return
        question = f"Stop managing {name}? Its files stay on disk; the web server keeps using them."
        self.push_screen(ConfirmScreen(f"Remove {name}", question, "Remove", danger=True),
                         lambda yes: self.remove(name) if yes else None)

    def remove(self, name: str) -> None:
        """Remove through the service, in a worker (the settings file is reloaded, written and synced)."""
        self.run_blocking(f"remove {name}", partial(self.service.remove_certificate, name), self,
                          group="remove")

    def on_answer(self, message: Answer) -> None:
        """A removal, a verification or an account operation ended: say so and refresh, or say why not."""
        if message.key == "fleet":
            self.fleet_loaded(message)
            return
        if message.key.startswith("verify "):
            self.verified(message)
            return
        if message.key.startswith("account "):
            self.account_done(message)
            return
        if message.key == "renew due":
            self.due_found(message)
            return
        if not message.key.startswith("remove "):
            return
        name = message.key.removeprefix("remove ")
        if message.error is not None:
            self.report(message.error)
            return
        self.notify(f"{name}: removed (files kept)")
        self.reload_views()

    def action_revoke(self) -> None:
        """``x``: revoke the selected certificate, after confirmation and a reason."""
        name = self.selected()
        if name is None:
            return
        view = self.table.views.get(name)
        if view is None or view.info is None:
            self.notify(f"{name}: never issued, nothing to revoke", severity="warning")
            return

        def chosen(reason: int | None) -> None:
            if reason is not None:
                self.revoke(name, reason)

        self.push_screen(RevokeScreen(name, view.info.serial), chosen)


    def action_verify(self) -> None:
        """``v``: check what the selected certificate's ``verify`` endpoints serve, in a worker."""
        name = self.selected()
        view = self.table.views.get(name) if name else None
        if name is None or view is None:
            return
        if not view.spec.verify:
            self.notify(f"{name}: no endpoints to verify: add them with `zerossl-tui edit {name} --verify "
                        "HOST:PORT`", severity="warning")
            return
        self.notify(f"{name}: checking {len(view.spec.verify)} endpoint(s)…", timeout=3)
        self.run_blocking(f"verify {name}", partial(self.service.verify, [name]), self, group="verify")

    def verified(self, message: Answer) -> None:
        """Say how many endpoints serve the current certificate; the Served column and the log follow."""
        name = message.key.removeprefix("verify ")
        if message.error is not None:
            self.report(message.error, name)
            return
        checks = message.result or []
        good = sum(1 for check in checks if check.ok)
        self.notify(f"{name}: {good} of {len(checks)} endpoint(s) serve the current certificate",
                    title="Served", severity="information" if good == len(checks) else "warning")
        self.reload_views()

    # -- providers and settings -----------------------------------------------------------------

    def action_notifications(self) -> None:
        """``n``: the notification URLs (masked): add, test, remove."""
        self.push_screen(NotifyScreen(self.service))

    def action_dns_providers(self) -> None:
        """``D``: the DNS providers of dns-01 (secrets masked): add, edit, test, remove."""
        self.push_screen(DnsScreen(self.service))

    def action_hosts(self) -> None:
        """``H``: the fleet's hosts, only when certificates are shared through PostgreSQL."""
        if self.service.settings.storage.backend != "postgresql":
            self.notify("Hosts: only in a fleet ([storage] backend = \"postgresql\"; see `storage use`)",
                        severity="warning")
            return
        self.push_screen(HostsScreen(self.service))

    def action_accounts(self) -> None:
        """``u``: every provider's ACME account: key rollover and deactivation."""
        self.push_screen(AccountsScreen(self.service))

    def account_done(self, message: Answer) -> None:
        """A rollover or deactivation ended: a notification, and the accounts screen when it is open."""
        text, ok = outcome(message)
        self.notify(text, title="Account", severity="information" if ok else "error", timeout=10)
        if isinstance(self.screen, AccountsScreen):
            self.screen.account_done(message)

    def action_eab(self) -> None:
        """``k``: EAB credentials of the selected certificate's provider (or the default one)."""
        name = self.table.selected_name
        view = self.table.views.get(name) if name else None
        provider = view.spec.provider if view else self.service.settings.default_provider()
        if provider not in {value for _, value in provider_choices(self.service)}:
            provider = self.service.settings.default_provider()  # e.g. a provider removed by hand
        self.push_screen(EabScreen(self.service, provider), self.eab_saved)

    def eab_saved(self, provider: str | None) -> None:
        """Say so; the secret itself is never shown."""
        if provider:
            self.notify(f"{provider}: credentials saved", title="EAB credentials")
            self.wake_scheduler()

    def action_settings(self) -> None:
        """``s``: the settings screen."""
        self.push_screen(SettingsScreen(self.service, self.theme_choices()), self.settings_saved)

    def settings_saved(self, saved: bool | None) -> None:
        """Apply: concurrency may have grown, schedules may have moved."""
        if saved:
            self.notify("Settings saved")
            self.reload_views()
            self.pump()
            self.wake_scheduler()

    def theme_choices(self) -> list[str]:
        """Our themes first (shipped and the user's), then Textual's own."""
        rest = sorted(name for name in self.available_themes if name not in self.theme_names)
        return self.theme_names + rest

    def action_theme(self) -> None:
        """``t``: the next of our themes (saved for next time)."""
        names = self.theme_names or self.theme_choices()
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[index % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    # -- filter, help, quit ---------------------------------------------------------------------

    def action_filter(self) -> None:
        """``/``: show the filter bar and focus it."""
        bar = self.main.filter_bar
        bar.add_class("visible")
        bar.focus()

    def action_close_filter(self) -> None:
        """Escape: clear and hide the filter, and show every day of the timeline again."""
        bar = self.main.filter_bar
        self.main.timeline.choose(None)
        if bar.has_class("visible"):
            bar.value = ""
            bar.remove_class("visible")
            self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Typing in the filter bar filters the table."""
        if event.input.id == "filter":
            self.table.set_filter(event.value)
            self.draw_timeline()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter keeps the filter and returns to the table."""
        if event.input.id == "filter":
            self.table.focus()

    def action_help(self) -> None:
        """``?``: every key."""
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """``q``: quit; asks first while orders run, then cancels them."""
        running = self.board.names()
        if not running:
            self.exit(0)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.board.cancel_all()
                self.exit(0)

        question = f"{len(running)} order(s) still running ({', '.join(running[:5])}). Cancel them and quit?"
        self.push_screen(ConfirmScreen("Quit?", question, "Cancel orders and quit", danger=True), answer)

    # -- command palette ------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every dashboard key is also a command."""
        yield from super().get_system_commands(screen)
        for key in KEYS:
            if key.action not in ("quit", "help"):
                yield SystemCommand(f"{key.label} ({key.display or key.key})", key.help,
                                    getattr(self, f"action_{key.action}"))
        yield SystemCommand("Keys (?)", "Show every key", self.action_help)


def make_app(
    service: CertificateService, *, clock: Clock | None = None, title: str | None = None,
    autorenew: bool | None = None,
) -> Dashboard:
    """The one factory used by the CLI, tests, snapshots and the screenshot script."""
    return Dashboard(service, clock=clock, title=title, autorenew=autorenew)


def run_dashboard(service: CertificateService, title: str | None = None, *, autorenew: bool | None = None) -> int:
    """Run the dashboard until the user quits; the exit status for the CLI."""
    app = make_app(service, title=title, autorenew=autorenew)
    app.run()
    return app.return_code or 0
