"""The timeline strip: the next 90 days, a column per day (or week), renewals over expiries.

It draws what ``timeline_model.build`` computes and rebuilds that only when the views, the filter, the day,
the width or the theme changed, so the clock tick that calls ``show`` every second costs a comparison.
Choosing a column (click, or enter when focused) asks the App to show only its certificates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from ...core.models import CertificateView
from .. import format as fmt
from ..timeline_model import Bucket, Timeline, bucket_days, build, day_start, shift, summary

LABEL = "renew  "
LEVELS = "▁▂▃▄▅▆▇█"
EMPTY = "·"
TITLE = "Next 90 days"
HINT = "click a column (or ←/→ and enter) to show only its certificates"


def level(count: int, peak: int) -> str:
    """A bar character for ``count`` out of ``peak``: one of eight heights, or a dot for none.

    The height follows the square root of the share, so that a single certificate next to a busy day
    still shows as a bar rather than the lowest sliver.
    """
    if count <= 0:
        return EMPTY
    share = math.sqrt(min(1.0, count / max(1, peak)))
    return LEVELS[max(0, math.ceil(share * len(LEVELS)) - 1)]


class TimelineStrip(Widget, can_focus=True):
    """Counts per day of the next 90 days; a chosen column filters the certificates table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Earlier", show=False), Binding("right", "move(1)", "Later", show=False),
        Binding("home", "move(-1000)", show=False), Binding("end", "move(1000)", show=False),
        Binding("enter,space", "choose", "Show these", show=False),
        Binding("escape", "clear", "Show all", show=False),
    ]

    @dataclass
    class Chosen(Message):
        """Show only these certificates in the table (None: all of them again)."""

        strip: TimelineStrip
        names: frozenset[str] | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: Timeline | None = None
        self.cursor = 0
        self.chosen: int | None = None
        self._views: Mapping[str, CertificateView] = {}
        self._filter = ""
        self._now: datetime | None = None
        self._palette: dict[str, str] = {}
        self._key: tuple[Any, ...] | None = None

    def on_mount(self) -> None:
        """Title and hint in the border."""
        self.border_title = TITLE
        self.border_subtitle = HINT

    # -- data in --------------------------------------------------------------------------------

    def show(self, views: Mapping[str, CertificateView], filter_text: str, now: datetime,
             palette: dict[str, str]) -> None:
        """Follow the table's views and filter at ``now``; rebuilt only when something it shows changed."""
        self._views, self._filter, self._now, self._palette = views, filter_text, now, palette
        self._rebuild()

    def move(self, views: Mapping[str, CertificateView], moved: list[tuple[CertificateView, CertificateView]]
             ) -> None:
        """Follow the table's new ``views``, in which only the rows of ``moved`` (old view, new view) changed:
        those certificates change buckets, without a rebuild over every row (40 ms at 10,000)."""
        if (self.model is None or self._key is None or self._key[0] != id(self._views)
                or any(self._views.get(old.spec.name) is not old for old, _ in moved)):  # not what it shows
            self._views = views
            self._rebuild()
            return
        shift(self.model, [(old, new) for old, new in moved if fmt.matches(new, self._filter)])
        self._views, self._key = views, (id(views), *self._key[1:])
        self._announce()
        self.refresh()

    def on_resize(self, _event: events.Resize) -> None:
        """A day or a week per column depends on the width."""
        self._rebuild()

    def _rebuild(self) -> None:
        if self._now is None:
            return
        days = bucket_days(self._columns_room())
        key = (id(self._views), self._filter, day_start(self._now), days, tuple(self._palette.items()))
        if key == self._key:
            return
        changed_scale = self.model is None or self.model.days != days
        self._key = key
        chosen = [v for v in self._views.values() if fmt.matches(v, self._filter)]
        self.model = build(chosen, self._now, days)
        if changed_scale:
            self.cursor, self.chosen = 0, None
        self._announce()
        self.refresh()

    # -- keys and mouse -------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        """Move the cursor column."""
        if self.model is not None:
            self.cursor = max(0, min(len(self.model.buckets) - 1, self.cursor + delta))
            self._describe(self.model.buckets[self.cursor])
            self.refresh()

    def action_choose(self) -> None:
        """Show only the cursor column's certificates (again: show all)."""
        self.choose(None if self.chosen == self.cursor else self.cursor)

    def action_clear(self) -> None:
        """Show every certificate again."""
        self.choose(None)

    def on_click(self, event: events.Click) -> None:
        """A click on a column chooses it; a click on the chosen column shows everything again."""
        offset = event.get_content_offset(self)
        if offset is None or self.model is None:
            return
        column = (offset.x - len(LABEL)) // self._cell_width()
        if 0 <= column < len(self.model.buckets):
            self.cursor = column
            self.action_choose()

    def choose(self, column: int | None) -> None:
        """Filter the table to ``column`` (None: no filter) and say so."""
        self.chosen = column
        if column is not None:
            self.cursor = column
        self._announce()
        self.refresh()

    def _announce(self) -> None:
        model = self.model
        if self.chosen is None or model is None:
            self.border_subtitle = HINT
            self.post_message(self.Chosen(self, None))
            return
        bucket = model.buckets[self.chosen]
        self._describe(bucket, "showing ")
        self.post_message(self.Chosen(self, bucket.names))

    def _describe(self, bucket: Bucket, prefix: str = "") -> None:
        tail = " (enter or escape: show all)" if prefix else ""
        self.border_subtitle = fmt.clip(prefix + summary(bucket), 90) + tail

    # -- drawing --------------------------------------------------------------------------------

    def _columns_room(self) -> int:
        return max(0, self.content_region.width - len(LABEL)) if self.is_mounted else 0

    def _cell_width(self) -> int:
        if self.model is None or self.model.days == 1:
            return 1
        return max(1, min(6, self._columns_room() // len(self.model.buckets)))

    def render(self) -> Text:
        """Renewals, expiries and the date axis, three lines."""
        if self.model is None:
            return Text("")
        lines = [self._row("renew  ", "renewing"), self._row("expire ", "expiring"), self._axis()]
        text = Text("\n").join(lines)
        text.no_wrap, text.overflow = True, "crop"
        return text

    def _row(self, label: str, kind: str) -> Text:
        model = self.model
        assert model is not None
        text = Text(label, style="dim")
        width, peak = self._cell_width(), model.peak
        for index, bucket in enumerate(model.buckets):
            names: list[str] = getattr(bucket, kind)
            char = level(len(names), peak)
            text.append(char * width, style=self._style(index, kind, bucket, bool(names)))
        return text

    def _style(self, index: int, kind: str, bucket: Bucket, filled: bool) -> str:
        palette = self._palette
        colour = palette.get("accent" if kind == "renewing" else "warning", "")
        if kind == "renewing" and bucket.troubled:
            colour = palette.get("error", "") + " bold"
        elif not filled:
            colour = palette.get("muted", "")
        # The chosen column and the cursor get a grey background: reversing a block character would
        # only swap it for the background colour.
        if index == self.chosen or (index == self.cursor and self.has_focus):
            return f"{colour} on {palette.get('muted', 'grey50')}"
        return colour

    def _axis(self) -> Text:
        model = self.model
        assert model is not None
        width = self._cell_width()
        cells = [" "] * (len(model.buckets) * width)
        _put(cells, 0, "▲ today")
        step = 14 if model.days == 1 else 2
        for index in range(step, len(model.buckets), step):
            _put(cells, index * width, f"│{model.buckets[index].start:%b %d}")
        return Text(" " * len(LABEL) + "".join(cells), style=self._palette.get("muted", ""))

    def on_focus(self) -> None:
        """The cursor is drawn only while focused."""
        if self.model is not None:
            self._describe(self.model.buckets[self.cursor])
        self.refresh()

    def on_blur(self) -> None:
        """Back to the hint (or the chosen column's summary)."""
        self._announce_subtitle()
        self.refresh()

    def _announce_subtitle(self) -> None:
        if self.chosen is not None and self.model is not None:
            self._describe(self.model.buckets[self.chosen], "showing ")
        else:
            self.border_subtitle = HINT


def _put(cells: list[str], at: int, label: str) -> None:
    """Write ``label`` into ``cells`` from ``at`` when it fits without overwriting another label."""
    end = at + len(label) + 1
    if end <= len(cells) and all(c == " " for c in cells[at:end]):
        cells[at:at + len(label)] = list(label)
