"""The selected certificate's validity as a bar: issued -> now -> planned renewal -> expiry.

It colours the cells that ``validity_model.layout`` lays out for the width it has, marks now and the
planned renewal under the bar, and says in one line why the renewal is planned then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widget import Widget

from ...core.models import CertificateView
from .. import format as fmt
from ..text import plain
from ..validity_model import ValidityLayout, layout, reason

CHARS = {"used": "━", "left": "━", "late": "━", "ari": "▓"}
COLOURS = {"used": "muted", "left": "success", "late": "error", "ari": "accent"}


class ValidityBar(Widget):
    """Issued, now, renewal and expiry of the selected certificate on one bar, and the reason below."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: CertificateView | None = None
        self.now: datetime | None = None
        self.palette: dict[str, str] = {}
        self._shown: tuple[Any, ...] | None = None

    def show(self, view: CertificateView | None, now: datetime, palette: dict[str, str]) -> None:
        """Draw ``view`` at ``now`` (None: nothing selected). The clock calls this every second; the bar
        is redrawn only when what it shows changes (its now marker moves a column in hours, the reason's
        countdown shows minutes or hours), not at every call."""
        self.view, self.now = view, now
        shown = self._what(view, now, palette)
        if shown != self._shown:
            self._shown, self.palette = shown, dict(palette)
            self.refresh()

    def _what(self, view: CertificateView | None, now: datetime, palette: dict[str, str]) -> tuple[Any, ...]:
        """What the bar shows of ``view`` at ``now``: equal tuples draw the same lines."""
        if view is None:
            return (None,)
        return (view, tuple(palette.items()), self.content_region.width, layout(view, now, self._bar_width(view)),
                reason(view, now))

    def _bar_width(self, view: CertificateView) -> int:
        start, end = self._ends(view)
        return max(2, self.content_region.width - len(start) - len(end) - 2)

    def render(self) -> Text:
        """Three lines: dates and bar, the markers, the reason."""
        view, now = self.view, self.now
        if view is None or now is None:
            return Text("")
        ends = self._ends(view)
        bar = layout(view, now, self._bar_width(view))
        why = Text(fmt.clip(plain(reason(view, now)), max(10, self.content_region.width)), style="dim",
                   no_wrap=True, overflow="ellipsis")
        if bar is None:
            return Text("\n\n").append_text(why)
        return Text("\n").join([self._bar(bar, ends), self._markers(bar, len(ends[0]) + 1), why])

    def _ends(self, view: CertificateView) -> tuple[str, str]:
        info = view.info
        if info is None:
            return "", ""
        return f"issued {info.not_before:%Y-%m-%d}", f"expires {info.not_after:%Y-%m-%d}"

    def _bar(self, bar: ValidityLayout, ends: tuple[str, str]) -> Text:
        text = Text(ends[0] + " ", style="dim")
        for index, kind in enumerate(bar.cells):
            char, colour = CHARS[kind], self.palette.get(COLOURS[kind], "")
            if index == bar.now:
                char, colour = "┃", "bold"
            elif index == bar.renew:
                char, colour = "◆", f"bold {self.palette.get('warning', '')}"
            text.append(char, style=colour)
        text.append(" " + ends[1], style="dim")
        return text

    def _markers(self, bar: ValidityLayout, indent: int) -> Text:
        marks = [(bar.now, "▲ now"), (bar.renew, "◆ renewal")]
        if bar.ari is not None:
            marks.append((bar.ari[0], "▓ ARI window"))
        placed = spread([(indent + c, label) for c, label in sorted(
            (c, t) for c, t in marks if c is not None)], self.content_region.width)
        cells = [" "] * self.content_region.width
        for at, label in placed:
            cells[at:at + len(label)] = list(label)
        return Text("".join(cells).rstrip(), style="dim", no_wrap=True, overflow="crop")


def spread(labels: list[tuple[int, str]], width: int) -> list[tuple[int, str]]:
    """Label positions that keep each label at (or right of) its column, one space apart, inside ``width``:
    labels that would run off the right edge are pushed back left. Those that still do not fit are dropped."""
    placed: list[tuple[int, str]] = []
    for at, label in labels:
        if placed:
            at = max(at, placed[-1][0] + len(placed[-1][1]) + 1)
        placed.append((at, label))
    limit = width
    for index in range(len(placed) - 1, -1, -1):
        at, label = placed[index]
        placed[index] = (min(at, limit - len(label)), label)
        limit = placed[index][0] - 1
    return [(at, label) for at, label in placed if at >= 0]
