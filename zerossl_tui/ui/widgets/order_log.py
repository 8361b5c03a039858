"""The selected certificate's details and order log: journal orders newest first, plus a live timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...core.models import CertificateView, OrderEvent, OrderRecord, ProgressEvent
from .. import format as fmt
from ..board import Job
from ..text import literal, plain

RESULT_STYLE = {"issued": "success", "failed": "error", "cancelled": "warning", "revoked": "warning",
                "running": "accent"}


def _hms(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M:%S")


def _event_line(kind: str, message: str, at: datetime, retry_after: float | None) -> Text:
    line = Text()
    line.append(f"  {_hms(at)}  ", style="dim")
    line.append(f"{plain(kind):<20} ", style="bold" if kind in ("issued", "failed") else "")
    line.append(plain(message))
    if retry_after:
        line.append(f"  (retry after {retry_after:.0f} s)", style="dim")
    return line


def header(view: CertificateView, now: datetime) -> Text:
    """The certificate's facts in three lines: domains; provider, key, challenge, serial; renewal."""
    spec = view.spec
    text = Text()
    text.append(plain(spec.name), style="bold")
    text.append(f"  {plain(', '.join(spec.domains))}\n")
    challenge = f"webroot {spec.webroot}" if spec.webroot else f"port {spec.http_port}"
    challenge = f"dns-01 via {spec.dns}" if spec.challenge == "dns-01" else f"http-01 {challenge}"
    facts = [f"provider {spec.provider}", f"key {spec.key_type}", challenge]
    if view.info is not None:
        facts += [f"serial {view.info.serial}", f"valid until {fmt.clock_text(view.info.not_after)}"]
    if view.chain:
        facts.append(f"chain {view.chain}")
    text.append("  " + "  ·  ".join(plain(fact) for fact in facts) + "\n", style="dim")
    text.append(f"  next renewal {plain(fmt.next_renewal_text(view, now))}")
    if view.explanation:
        text.append(f"  ({plain(view.explanation)})", style="dim")
    if view.last_error:
        text.append(f"  ·  last error: {fmt.clip(plain(view.last_error), 90)}")
    return text


def live_timeline(job: Job, events: Sequence[ProgressEvent], now: datetime, palette: dict[str, str]) -> Text:
    """The running order: each step with its time, and a Retry-After countdown while the CA works."""
    text = Text()
    title = "▶ running order" if job.state != "queued" else "… queued: waiting for a free slot"
    text.append(title, style=f"bold {palette.get('accent', '')}")
    retry = job.retry_at()
    if retry is not None:
        wait = max(0.0, (retry - now).total_seconds())
        text.append(f"   CA is processing: next check in {wait:.0f} s", style=palette.get("warning", ""))
    if job.cancel.is_set():
        text.append("   cancelling…", style=palette.get("warning", ""))
    for event in reversed(events):
        text.append("\n")
        text.append_text(_event_line(event.kind.value, event.message, event.at, event.retry_after))
    return text


def order_block(order: OrderRecord, palette: dict[str, str]) -> Text:
    """One journal order: result, times, serial or error, then its events."""
    style = palette.get(RESULT_STYLE.get(order.result, ""), "")
    text = Text()
    text.append(f"order {order.id}  ", style="bold")
    text.append(plain(order.result), style=f"bold {style}")
    finished = f" → {_hms(order.finished)}" if order.finished else ""
    text.append(f"  {fmt.clock_text(order.started)}{finished}", style="dim")
    if order.serial:
        text.append(f"  serial {plain(order.serial)}")
    if order.error_detail:
        text.append(f"\n  error ({plain(order.error_type)}): {plain(order.error_detail)}",
                    style=palette.get("error", ""))
    for event in order.events:
        text.append("\n")
        text.append_text(_order_event_line(event))
    return text


def _order_event_line(event: OrderEvent) -> Text:
    return _event_line(event.kind, event.message, event.at, event.retry_after)


class OrderLog(VerticalScroll):
    """Details and order history of the selected certificate."""

    def on_mount(self) -> None:
        """Start with an empty log."""
        self.border_title = "Order log"

    def compose(self) -> ComposeResult:
        """One Static holds the whole log as rich text."""
        yield Static(id="log-text")

    def show(
        self,
        view: CertificateView | None,
        orders: Sequence[OrderRecord] | None,
        job: Job | None,
        events: Sequence[ProgressEvent],
        now: datetime,
        palette: dict[str, str],
        served: Text | None = None,
    ) -> None:
        """Draw the log of ``view``: header, what is served, live timeline when an order runs, then journal
        orders."""
        body = self.query_one("#log-text", Static)
        if view is None:
            self.border_title = "Order log"
            body.update(Text("Select a certificate to see its orders.", style="dim"))
            return
        self.border_title = literal(f"Order log: {view.spec.name}")
        parts = [header(view, now), *([served] if served is not None else [])]
        if job is not None:
            parts.append(live_timeline(job, events, now, palette))
        parts.extend(_history(orders, job is not None, palette))
        body.update(Text("\n\n").join(parts))


def _history(orders: Sequence[OrderRecord] | None, live: bool, palette: dict[str, str]) -> list[Text]:
    if orders is None:
        return [Text("loading orders…", style="dim")]
    shown = [o for o in orders if not (live and o.result == "running")]
    if not shown and not live:
        return [Text("No orders yet: press r to issue this certificate now.", style="dim")]
    return [order_block(order, palette) for order in shown]

