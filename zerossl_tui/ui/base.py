"""The dashboard App's base: composes the table and the log, runs orders as thread workers, routes messages.

Every blocking call runs in a named thread worker on the App (never on a modal, whose removal would cancel
it) and calls the one shared service. Progress comes back as small messages; worker failures are handled in
one place (``on_worker_state_changed``). One 1-second clock tick drives every countdown; the views are read
again when an order ends, after an edit, and every ``REFRESH_SECONDS`` when they can have changed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.worker import Worker, WorkerState

from ..core.clock import Clock
from ..core.models import CertificateView, CertInfo, OrderRecord, ProgressEvent
from ..core.text import printable
from .blocking import answer
from .board import OrderBoard
from .closing import while_open
from .freshness import Freshness
from .main_screen import MainScreen
from .messages import OrderProgress, OrdersLoaded, SchedulerNote, ViewsLoaded
from .orders import error_parts, named, run_job, success_text
from .served import Recorded, ServedLoaded, load_served, served_block
from .theming import ThemedApp
from .toasts import OrderToasts, forget_titled
from .widgets.cert_table import CertTable
from .widgets.table_draw import palette_from
from .widgets.timeline import TimelineStrip

if TYPE_CHECKING:
    from ..service.service import CertificateService
    from .board import Job

REFRESH_SECONDS = 30.0
WORKER_THREADS = 64


class DashboardBase(ThemedApp):
    """State, layout, loaders, the order queue and the scheduler; the key actions live in ``app.py``."""

    # Absolute paths: subclasses may live elsewhere. Every style of the dashboard is in these files.
    CSS_PATH = [Path(__file__).parent / name for name in ("app.tcss", "widgets.tcss", "dialogs.tcss",
                                                           "settings.tcss", "ops.tcss")]
    TITLE = "zerossl-tui"
    main: MainScreen

    def __init__(self, service: CertificateService, *, clock: Clock | None = None, title: str | None = None,
                 autorenew: bool | None = None) -> None:
        super().__init__()
        self.service = service
        self.clock = clock or service.clock
        self.board = OrderBoard()
        self.autorenew = service.settings.ui.autorenew if autorenew is None else autorenew
        self.orders_cache: dict[str, list[OrderRecord]] = {}
        self.theme_names: list[str] = []
        self.loaded = False
        self.ready = False
        self._early_views: list[CertificateView] | None = None
        self._order_workers: dict[Worker[CertInfo | None], Job] = {}
        self._stop = threading.Event()
        self._scheduler: object | None = None
        self.select_after_load: str | None = None
        self.served: dict[str, Recorded] = {}
        self.freshness = Freshness()
        self.toasts = OrderToasts(self.notify, forget_titled(self))
        self._certs: CertTable | None = None  # is_closing (every message) looks at its parent: no query
        if title:
            self.title = title

    # -- composition ----------------------------------------------------------------------------

    def get_default_screen(self) -> MainScreen:
        """The dashboard's main screen (it holds the key bindings)."""
        self.main = MainScreen()
        return self.main

    @property
    def table(self) -> CertTable:
        """The certificates table."""
        return self.main.table

    def is_closing(self) -> bool:
        """True once the main screen's widgets are gone (workers may still post while the app closes)."""
        return self.ready and (self._certs is None or self._certs.parent is None)

    def on_mount(self) -> None:
        """Start reading the certificates at once, while the main screen is being built."""
        # Orders, the scheduler and loaders are thread workers on the loop's default executor, whose
        # default size (CPUs + 4) would let a few long orders starve the loaders.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="zerossl-tui"))
        self.reload_views()

    def on_main_screen_ready(self) -> None:
        """Themes, the clock tick, the periodic refresh; rows that arrived early (then the scheduler)."""
        self.install_themes()
        self.theme_changed_signal.subscribe(self, self.on_theme_changed)
        self.table.set_palette(palette_from(self.get_css_variables()))
        self.set_interval(1.0, self.tick)
        self.set_interval(REFRESH_SECONDS, self.look_again)
        self.sub_title = "loading…"
        self._certs = self.table
        self.ready = True
        if self._early_views is not None:
            self.show_views(self._early_views)

    def on_unmount(self) -> None:
        """Stop the scheduler and ask every running order to stop at its next step."""
        self._stop.set()
        self.board.cancel_all()

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information",
        timeout: float | None = None, markup: bool = False,
    ) -> None:
        """Every notification shows its text literally: names, paths and CA answers are never read as
        markup (``markup`` is ignored), and control characters are shown as escapes."""
        super().notify(printable(message, keep_lines=True), title=printable(title), severity=severity,
                       timeout=timeout, markup=False)

    def on_theme_changed(self, _theme: object) -> None:
        """Recolour the cells and remember the choice (through the service, like the CLI would)."""
        self.table.set_palette(palette_from(self.get_css_variables()))
        self.draw_log()
        self.draw_timeline()
        if self.service.settings.ui.theme != self.theme:
            self.save_theme(self.theme)

    def run_blocking(self, key: str, call: Callable[[], object], reply_to: DOMNode, *,
                     group: str = "save") -> None:
        """Run ``call`` (a settings save with its reload and fsyncs, a removal, an account test) in a named
        thread worker on the App, so that closing the screen that asked cannot cancel it; the outcome goes
        back to ``reply_to`` as an ``Answer`` message."""
        self.run_worker(partial(answer, key, call, reply_to), name=key, group=group, thread=True,
                        exclusive=True, exit_on_error=False, description=key)

    # -- loading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="views")
    def reload_views(self, only_if_changed: bool = False) -> None:
        """Read every row (status, expiry, renewal, last result, served); ``only_if_changed``: if they can differ."""
        if (read := self.freshness.read(self.service, self.clock.now(), only_if_changed)) is None:
            return
        if not read[1]:  # every row: what the endpoints served too
            self.post_message(ServedLoaded(load_served(self.service)))
        self.post_message(ViewsLoaded(*read))

    def look_again(self) -> None:
        """Every ``REFRESH_SECONDS``: read the rows again only when they can have changed (``freshness.py``)."""
        self.reload_views(only_if_changed=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="log")
    def load_orders(self, name: str) -> None:
        """Read one certificate's orders from the journal, newest first."""
        self.post_message(OrdersLoaded(name, self.service.orders(name)))

    @while_open
    def on_views_loaded(self, message: ViewsLoaded) -> None:
        """Show fresh rows (kept for later when they arrive before the main screen is built)."""
        if message.partial:  # only some rows were read again (freshness.py): the others stay as shown
            if self.loaded:
                moved = self.table.load_some(message.views, self.clock.now())
                self.main.timeline.move(self.table.views, moved)  # those rows change buckets, no rebuild
                self.draw_log()
        elif self.ready:
            self.show_views(message.views)
        else:
            self._early_views = message.views

    def show_views(self, views: list[CertificateView]) -> None:
        """Fill the table (one pass) or update its changed cells; show the hint when the store is empty."""
        self.loaded = True
        self._early_views = None
        self.table.served = self.served
        self.table.load(views, self.clock.now())
        self.main.show_empty(not views)
        self.draw_timeline()
        if self.select_after_load and self.select_after_load in self.table.views:
            self.table.select(self.select_after_load)
            self.select_after_load = None
        self.update_subtitle()
        self.draw_log()
        if self.autorenew and self._scheduler is None:  # after the first paint: its first turn reads every
            self._scheduler = "starting"  # certificate (seconds at 10,000), and ARI talks to the CA
            self.call_after_refresh(self.run_scheduler)

    @while_open
    def on_served_loaded(self, message: ServedLoaded) -> None:
        """Keep what the endpoints last reported; the rows (and the log) show it once they are there."""
        self.served = message.served
        if self.loaded:
            self.table.set_served(message.served)
            self.draw_log()

    @while_open
    def on_orders_loaded(self, message: OrdersLoaded) -> None:
        """Keep the orders and redraw the log when they belong to the selected row."""
        self.orders_cache[message.name] = message.orders
        if message.name == self.table.selected_name:
            self.draw_log()

    @while_open
    def on_cert_table_highlighted(self, event: CertTable.Highlighted) -> None:
        """Show the newly selected certificate's log (from cache at once, then fresh from the journal)."""
        self.draw_log()
        if event.name is not None:
            self.load_orders(event.name)

    def draw_log(self) -> None:
        """Redraw the order log of the selected certificate."""
        name = self.table.selected_name
        view = self.table.views.get(name) if name else None
        job = self.board.get(name) if name else None
        events = self.board.events(name) if name else ()
        palette = self.table.palette
        served = self.under_header(view, palette)
        self.main.validity.show(view, self.clock.now(), palette)
        self.main.order_log.show(view, self.orders_cache.get(name or ""), job, events, self.clock.now(), palette,
                                 served=served)

    def under_header(self, view: CertificateView | None, palette: dict[str, str]) -> Any:
        """What the order log shows under its header: what is served (app_dns adds the fleet's line)."""
        return served_block(view.spec.verify, self.served.get(view.spec.name), palette) if view else None

    def draw_timeline(self) -> None:
        """The 90-day strip over the table's views and filter (it rebuilds only when those or the day change)."""
        self.main.timeline.show(self.table.views, self.table.filter_text, self.clock.now(), self.table.palette)

    @while_open
    def on_timeline_strip_chosen(self, message: TimelineStrip.Chosen) -> None:
        """A day (or week) of the strip was chosen: show only its certificates; None shows them all."""
        self.table.set_subset(message.names)

    def update_subtitle(self) -> None:
        """Counts and auto-renew state in the header."""
        running = len(self.board.names())
        parts = [f"{len(self.table.views)} certificates"]
        if running:
            parts.append(f"{running} orders")
        parts.append("auto-renew on" if self.autorenew else "auto-renew off")
        self.sub_title = "  ·  ".join(parts)

    # -- the clock ------------------------------------------------------------------------------

    @while_open
    def tick(self) -> None:
        """Once a second: countdowns, and the live timeline of a running selected order."""
        self.table.tick(self.clock.now())
        self.draw_timeline()
        name = self.table.selected_name
        if name and self.board.get(name) is not None:
            self.draw_log()
        elif name:
            self.main.validity.show(self.table.views.get(name), self.clock.now(), self.table.palette)

    # -- orders ---------------------------------------------------------------------------------

    def enqueue(self, names: Iterable[str], force: bool, origin: str = "manual") -> int:
        """Queue orders (at most one per certificate) and start as many as concurrency allows."""
        count = 0
        for name in names:
            if self.board.enqueue(name, force, origin) is not None:
                self.table.set_job(name, "queued")
                count += 1
        self.pump()
        return count

    def pump(self) -> None:
        """Start queued orders while fewer than ``renewal.concurrency`` run."""
        limit = self.service.settings.renewal.concurrency
        while self.board.running_count() < limit:
            job = self.board.next_queued()
            if job is None:
                break
            self.table.set_job(job.name, job.step)
            self._order_workers[self.run_order(job)] = job
        self.update_subtitle()

    @work(thread=True, exit_on_error=False, group="orders", description="certificate order")
    def run_order(self, job: Job) -> CertInfo | None:
        """One order in a thread, with the job's own cancel event; progress goes to the board."""
        return run_job(self.service, job, lambda event: self.progress(event))

    def progress(self, event: ProgressEvent) -> None:
        """Called from worker threads: keep the step, nudge the UI (coalesced per certificate)."""
        self.board.record(event)
        self.post_message(OrderProgress(event.cert))

    @while_open
    def on_order_progress(self, message: OrderProgress) -> None:
        """Show the latest step in the row, and in the log when that row is selected."""
        job = self.board.get(message.name)
        if job is not None:
            self.table.set_job(message.name, job.step)
        if message.name == self.table.selected_name:
            self.draw_log()

    @while_open
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where workers end: orders are reported, other failures notified."""
        worker = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        job = self._order_workers.pop(worker, None)
        if job is not None:
            self.order_ended(job, worker)
        elif worker.group == "revoke":
            self.revoke_ended(worker)
        elif event.state == WorkerState.ERROR and worker.group != "provider-test":
            self.report(worker.error)

    def order_ended(self, job: Job, worker: Worker[CertInfo | None]) -> None:
        """Tell how it went, refresh the row and the log, start the next queued order."""
        self.board.finish(job.name)
        self.table.set_job(job.name, None)
        if worker.state == WorkerState.SUCCESS:
            self.toasts.tell(job.name, True, success_text(job.name, worker.result), severity="information",
                             title="Certificate issued" if worker.result else "Nothing to do")
        elif worker.state == WorkerState.ERROR:
            title, message, severity = error_parts(worker.error)
            self.toasts.tell(job.name, False, named(job.name, message), title=title, severity=severity)
        self.orders_cache.pop(job.name, None)
        if job.name == self.table.selected_name:
            self.load_orders(job.name)
        self.reload_views()
        self.pump()
        issued = worker.state == WorkerState.SUCCESS and worker.result is not None
        self.after_order([job.name] if issued else [])

    @work(thread=True, exit_on_error=False, group="after-order", description="verify and notify")
    def after_order(self, issued: list[str]) -> None:
        """Like ``renew`` and the daemon: verify what the new certificates' endpoints serve (waiting a little
        for the web server's reload), then send the notifications that are due; the Served column follows."""
        from ..service.watch import after_order

        def log(line: str) -> None:
            self.post_message(SchedulerNote(line))

        # watch.Ordered declares store as a plain attribute; the service has it as a read-only property
        after_order(self.service, issued, log, cancel=self._stop)
        self.post_message(ServedLoaded(load_served(self.service)))

    def report(self, error: BaseException | None, name: str = "") -> None:
        """A failure as a notification: the error's title and its message, in plain words."""
        title, message, severity = error_parts(error)
        self.notify(named(name, message), title=title, severity=severity, timeout=10)  # type: ignore[arg-type]

    @work(thread=True, exit_on_error=False, group="revoke")
    def revoke(self, name: str, reason: int) -> tuple[str, CertInfo]:
        """Revoke at the CA in a thread."""
        return name, self.service.revoke(name, reason, progress=self.progress)

    def revoke_ended(self, worker: Worker[tuple[str, CertInfo]]) -> None:
        """Report a revocation."""
        if worker.state == WorkerState.SUCCESS and worker.result is not None:
            name, info = worker.result
            self.notify(f"{name}: serial {info.serial} revoked", title="Revoked")
            self.orders_cache.pop(name, None)
            self.reload_views()
            self.wake_scheduler()  # a revoked certificate is due now, not when the scheduler next wakes
        elif worker.state == WorkerState.ERROR:
            self.report(worker.error)

    # -- scheduler ------------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="scheduler", name="auto-renew")
    def run_scheduler(self) -> None:
        """Renew due certificates while the dashboard is open (stops when the app exits)."""
        from .autorenew import DashboardScheduler

        def note(text: str) -> None:
            self.post_message(SchedulerNote(text))

        def dispatch(names: list[str]) -> None:
            self.call_from_thread(self.enqueue, names, False, "auto")

        scheduler = DashboardScheduler(self.service, self._stop, note, self.board, dispatch)
        self._scheduler = scheduler
        scheduler.run()

    def wake_scheduler(self) -> None:
        """Settings or certificates changed: let the scheduler look again now."""
        wake = getattr(self._scheduler, "wake", None)
        if wake is not None:
            wake()

    def on_scheduler_note(self, message: SchedulerNote) -> None:
        """Scheduler lines go to the Textual log (visible with `textual console`)."""
        self.log.info(message.text)
