"""The certificates table: one row per certificate, live countdowns, sort and filter.

A Line API widget (like toolong's log view) rather than a DataTable: each row is drawn once into a cached
Strip of plain segments, and ``update_cell`` re-draws only the row whose text changed. A clock tick over the
rows on screen therefore costs a few string operations per row, with ten rows or ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...core.models import CertificateView
from .. import format as fmt
from ..served import Recorded, served_rank
from .table_draw import Palette, fit, palette_from, parse_style
from .table_model import COLUMNS, SORT_KEYS, SORT_ORDER, Cells, cells_for, live_cells, served_cell, status_cell

PADDING = 1


class CertTable(ScrollView, can_focus=True):
    """Every managed certificate; rows are keyed by certificate name."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "cert-table--header", "cert-table--even", "cert-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "cycle_sort", "Sort", tooltip="Sort by the next column (click a header too)", show=False),
        Binding("up", "cursor(-1)", show=False), Binding("down", "cursor(1)", show=False),
        Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
        Binding("home", "cursor(-1000000000)", show=False), Binding("end", "cursor(1000000000)", show=False),
    ]

    cursor_row: reactive[int] = reactive(0)

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another certificate (None: the table is empty)."""

        table: CertTable
        name: str | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.views: dict[str, CertificateView] = {}
        self.palette: Palette = palette_from({})
        self.filter_text = ""
        self.subset: frozenset[str] | None = None
        self.sort_column = "name"
        self.sort_reverse = False
        self.names: list[str] = []
        self.cells: dict[str, Cells] = {}
        self.widths: dict[str, int] = {key: len(label) for label, key, _ in COLUMNS}
        self._jobs: dict[str, str] = {}
        self.served: dict[str, Recorded] = {}
        self._versions: dict[str, int] = {}
        self._live_at: dict[str, datetime] = {}  # when each row's countdowns next show other text
        self._strips: LRUCache[tuple[Any, ...], Strip] = LRUCache(1024)
        self._now = datetime.fromtimestamp(0, UTC)
        self._highlighted: str | None = None
        self._paint_style: Style | None = None

    # -- data in --------------------------------------------------------------------------------

    def load(self, views: list[CertificateView], now: datetime, *, every: bool = False) -> None:
        """Show these views (one pass over them): new rows, or only the cells that changed. A row whose view
        is unchanged keeps its cells (its countdowns catch up on screen, see ``tick``), and when no row
        changed the order and widths stand: the periodic reload of 10,000 unchanged rows costs little.
        ``every``: recompute every row (the colours changed)."""
        before, self.views = self.views, {v.spec.name: v for v in views}
        self._now = now
        changed = every or before.keys() != self.views.keys()
        for name, view in self.views.items():
            if every or name not in self.cells or before.get(name) != view:
                changed = True
                self._live_at.pop(name, None)
                self._set_cells(name, cells_for(view, now, self.palette, self._jobs.get(name),
                                                self.served.get(name)))
        for gone in set(self.cells) - set(self.views):
            self.cells.pop(gone)
            self._live_at.pop(gone, None)
        if changed:
            self._arrange()
        else:
            self.views = before  # the same object: the timeline strip (keyed on it) is not rebuilt either
            self.tick(now)

    def load_some(self, views: list[CertificateView], now: datetime) -> list[tuple[CertificateView, CertificateView]]:
        """Show new views of some rows already shown (the look read again only the rows whose renewal state
        this process wrote): only their cells change, the columns only widen, and the rows are sorted again
        only when one of them may move; at 10,000 rows, sizing every column cost 0.1 s of CPU each look.
        Returns the rows that changed: (old view, new view)."""
        fresh = {v.spec.name: v for v in views if v.spec.name in self.views and self.views[v.spec.name] != v}
        if not fresh:
            return []
        key, before = self._sort_key(), self.views
        self.views, self._now = {**before, **fresh}, now  # a new mapping: the timeline strip follows it
        for name, view in fresh.items():
            self._live_at.pop(name, None)
            self._set_cells(name, cells_for(view, now, self.palette, self._jobs.get(name), self.served.get(name)))
            for _, column, _ in COLUMNS:
                self._widen(column, self.cells[name][column][0])
        if any(key(view) != key(before[name]) for name, view in fresh.items()):
            self._arrange(size=False)
        else:
            self.refresh()
        return [(before[name], view) for name, view in fresh.items()]

    def set_job(self, name: str, step: str | None) -> None:
        """Show ``step`` (``queued``, ``finalizing``...) for a running order, or clear it with None."""
        if step is None:
            self._jobs.pop(name, None)
        else:
            self._jobs[name] = step
        view = self.views.get(name)
        if view is not None:
            self.update_cell(name, "status", *status_cell(view, self.palette, self._jobs.get(name)))

    def set_served(self, served: dict[str, Recorded]) -> None:
        """What the ``verify`` endpoints last reported (``{name: {endpoint: check}}``): the Served cells."""
        self.served = served
        for name, view in self.views.items():
            self.update_cell(name, "served", *served_cell(view, served.get(name), self.palette))

    def set_filter(self, text: str) -> None:
        """Show only certificates whose name or a domain contains ``text``."""
        if text != self.filter_text:
            self.filter_text = text
            self._arrange()

    def set_subset(self, names: frozenset[str] | None) -> None:
        """Show only these certificates (the timeline's chosen day), or every one again with None."""
        if names != self.subset:
            self.subset = names
            self._arrange()

    def set_palette(self, palette: Palette) -> None:
        """New colours (the theme changed): redraw every row."""
        self.palette = palette
        self.load(list(self.views.values()), self._now, every=True)
        self._strips.clear()
        self.refresh()

    def tick(self, now: datetime) -> None:
        """Advance the countdowns to ``now`` in the rows on screen. A row is looked at only once the
        moment comes when its text changes (``live_changes_at``: an hour for a countdown that shows hours),
        and only its own line is redrawn.

        Rows off screen catch up when they scroll into view (``watch_scroll_y``).
        """
        if now < self._now:  # the clock went back: every moment worked out ahead is wrong
            self._live_at.clear()
        self._now = now
        self._update_live()

    def update_cell(self, name: str, column: str, text: str, style: str = "") -> None:
        """Change one cell; the row is redrawn only when the text or its colour changed."""
        if self._put(name, column, text, style):
            self.refresh()

    # -- reading --------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """How many rows are shown (after the filter)."""
        return len(self.names)

    def get_cell(self, name: str, column: str) -> str:
        """The text shown in one cell."""
        return self.cells[name][column][0]

    @property
    def selected_name(self) -> str | None:
        """The certificate under the cursor."""
        return self.names[self.cursor_row] if 0 <= self.cursor_row < len(self.names) else None

    def select(self, name: str) -> None:
        """Move the cursor to ``name`` when it is shown."""
        if name in self.names:
            self.cursor_row = self.names.index(name)

    # -- sorting --------------------------------------------------------------------------------

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by ``column``; choosing the current column again flips the order."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self._arrange()

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        index = (SORT_ORDER.index(self.sort_column) + 1) % len(SORT_ORDER)
        self.sort_by(SORT_ORDER[index], reverse=False)
        self.notify(f"sorted by {COLUMNS[index][0].lower()}", timeout=2)

    # -- cursor and mouse -----------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows (clamped)."""
        if self.names:
            self.cursor_row = max(0, min(len(self.names) - 1, self.cursor_row + delta))

    def action_page(self, direction: int) -> None:
        """Move the cursor by a screenful."""
        self.action_cursor(direction * max(1, self.size.height - 2))

    def validate_cursor_row(self, value: int) -> int:
        """Keep the cursor on a row."""
        return max(0, min(value, len(self.names) - 1)) if self.names else 0

    def watch_cursor_row(self, old: int, new: int) -> None:
        """Redraw, keep the cursor in view, tell the screen which certificate is selected."""
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    def on_click(self, event: events.Click) -> None:
        """A click on the header sorts by that column; a click on a row selects it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column:
                self.sort_by(column)
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.names):
            self.cursor_row = row

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Rows scrolled into view get their countdowns brought up to date before they are drawn."""
        super().watch_scroll_y(old_value, new_value)
        self._update_live()

    def on_focus(self) -> None:
        """The cursor colour depends on focus."""
        self._strips.clear()

    def on_blur(self) -> None:
        """The cursor colour depends on focus."""
        self._strips.clear()

    # -- drawing --------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Every line of one paint, with the widget's style looked up once for all of them: ``rich_style``
        walks every ancestor's styles, and a paint of a screenful of rows asked for it three times a row."""
        self._paint_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._paint_style = None

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header stays on top, rows scroll under it."""
        scroll_x, scroll_y = self.scroll_offset
        base = self._paint_style or self.rich_style
        if y == 0:
            strip = self._header_strip(base)
        else:
            index = scroll_y + y - 1
            if index >= len(self.names):
                return Strip.blank(self.size.width, base)
            strip = self._row_strip(index, base)
        return strip.crop_extend(scroll_x, scroll_x + self.size.width, base)

    def _header_strip(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("cert-table--header")
        arrow = " ▼" if self.sort_reverse else " ▲"
        texts = [(label + (arrow if key == self.sort_column else ""), key) for label, key, _ in COLUMNS]
        return self._strip([(text, key, Style()) for text, key in texts], style)

    def _row_strip(self, index: int, base: Style) -> Strip:
        name = self.names[index]
        cursor = index == self.cursor_row
        key = (name, self._versions.get(name, 0), cursor, index % 2, self.has_focus, tuple(self.widths.values()))
        strip = self._strips.get(key)
        if strip is None:
            if cursor:
                base += self.get_component_rich_style("cert-table--cursor")
            elif index % 2:
                base += self.get_component_rich_style("cert-table--even")
            cells = self.cells[name]
            parts = [(cells[k][0], k, Style() if cursor else parse_style(cells[k][1])) for _, k, _ in COLUMNS]
            strip = self._strips[key] = self._strip(parts, base)
        return strip

    def _strip(self, parts: list[tuple[str, str, Style]], base: Style) -> Strip:
        pad = " " * PADDING
        segments = [Segment(f"{pad}{fit(text, self.widths[key], key == 'expiry')}{pad}", base + style)
                    for text, key, style in parts]
        return Strip(segments, self._total_width())

    def _total_width(self) -> int:
        return sum(self.widths.values()) + 2 * PADDING * len(self.widths)

    def _column_at(self, x: int) -> str | None:
        edge = 0
        for _, key, _ in COLUMNS:
            edge += self.widths[key] + 2 * PADDING
            if x < edge:
                return key
        return None

    # -- bookkeeping ----------------------------------------------------------------------------

    def _set_cells(self, name: str, cells: Cells) -> None:
        if self.cells.get(name) != cells:
            self.cells[name] = cells
            self._versions[name] = self._versions.get(name, 0) + 1

    def _arrange(self, size: bool = True) -> None:
        """Filter, sort, size the columns (``size``: else they stay as wide as they are), keep the selection;
        one pass over the rows."""
        selected = self.selected_name
        chosen = [v for v in self.views.values() if fmt.matches(v, self.filter_text)
                  and (self.subset is None or v.spec.name in self.subset)]
        chosen.sort(key=self._sort_key(), reverse=self.sort_reverse)
        self.names = [v.spec.name for v in chosen]
        if size:
            self.widths = {key: fixed or max([len(label) + 2, *(cell_len(self.cells[n][key][0]) for n in self.names)])
                           for label, key, fixed in COLUMNS}
        self.virtual_size = Size(self._total_width(), len(self.names) + 1)
        if selected in self.names:
            self.cursor_row = self.names.index(selected)
        else:
            self.cursor_row = min(self.cursor_row, max(0, len(self.names) - 1))
        self.refresh()
        self._announce()

    def _sort_key(self) -> Any:
        if self.sort_column == "served":  # what was reported is not in the view: rank the cell, worst first
            return lambda v: (served_rank(self.cells[v.spec.name]["served"][0]), v.spec.name)
        return SORT_KEYS[self.sort_column]

    def _widen(self, column: str, text: str) -> None:
        fixed = next(width for _, key, width in COLUMNS if key == column)
        if not fixed and cell_len(text) > self.widths[column]:
            self.widths[column] = cell_len(text)
            self.virtual_size = Size(self._total_width(), len(self.names) + 1)

    def _announce(self) -> None:
        name = self.selected_name
        if name != self._highlighted:
            self._highlighted = name
            self.post_message(self.Highlighted(self, name))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def _put(self, name: str, column: str, text: str, style: str) -> bool:
        """Keep one cell's text and colour; True when they changed (the row must be redrawn)."""
        cells = self.cells.get(name)
        if cells is None or cells.get(column) == (text, style):
            return False
        cells[column] = (text, style)
        self._versions[name] = self._versions.get(name, 0) + 1
        self._widen(column, text)
        return True

    def _update_live(self) -> None:
        """Bring the countdowns of the rows on screen up to ``_now``: only rows whose text changes by now
        are computed, and only their lines are redrawn."""
        now, top = self._now, int(self.scroll_y)
        for index in range(top, min(len(self.names), top + self.size.height)):
            name = self.names[index]
            view = self.views.get(name)
            if view is None or now < self._live_at.get(name, now):
                continue
            expiry, renewal, self._live_at[name] = live_cells(view, now, self.palette)
            if self._put(name, "expiry", *expiry) | self._put(name, "renewal", *renewal):
                self.refresh_lines(index + 1)
