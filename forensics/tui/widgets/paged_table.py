"""A table over any number of rows that fetches them from DuckDB a page at a time.

Rows stay in DuckDB: the table keeps a few pages in memory (the least recently used page is
dropped first) and draws only the lines on screen, so a 25,000-event run costs what a
25-event run costs. Pages are fetched in thread workers, each with a cursor of its own. The
table posts `RowHighlighted` when its cursor lands on a row, `RowSelected` on Enter or a
double click, `HeaderClicked` on a column title and `LoadFailed` when a fetch raises.
Colours come from a small semantic palette (`tone`s) so every screen reads the same on dark
and light themes; each tone also has a glyph column the screens fill, for NO_COLOR terminals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState

from forensics.tui.handoff import hand_over
from forensics.tui.widgets.rows import (
    MAX_PAGES,
    PAGE_ROWS,
    TONES,
    Column,
    CountingSource,
    CursorFactory,
    Pages,
    Row,
    RowSource,
    cell_texts,
    header_line,
    plain,
    widths,
)

__all__ = ["MAX_PAGES", "PAGE_ROWS", "Column", "CursorFactory", "PagedTable", "Row", "plain"]


class _TableMessage(Message):
    """A message from a table; `control` is the table (for `@on(..., "#id")`)."""

    def __init__(self, table: PagedTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> PagedTable:
        return self.table


class PagedTable(ScrollView, can_focus=True):
    """A read-only table whose rows come from a `RowSource`, fetched as they come into view."""

    DEFAULT_CSS = """
    PagedTable {
        height: 1fr; background: $surface; overflow-x: hidden; scrollbar-size-vertical: 1;
    }
    PagedTable:focus { background-tint: $foreground 4%; }
    PagedTable > .paged-table--header { text-style: bold; color: $text-accent; }
    PagedTable > .paged-table--cursor { background: $block-cursor-blurred-background; }
    PagedTable:focus > .paged-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    PagedTable > .paged-table--placeholder { color: $text-muted; }
    PagedTable > .paged-table--error { color: $text-error; text-style: bold; }
    PagedTable > .paged-table--warning { color: $text-warning; }
    PagedTable > .paged-table--info { color: $text-primary; }
    PagedTable > .paged-table--ok { color: $text-success; }
    PagedTable > .paged-table--muted { color: $text-muted; }
    PagedTable > .paged-table--accent { background: $accent 25%; text-style: bold; }
    PagedTable > .paged-table--added { color: $text-success; background: $success-muted 40%; }
    PagedTable > .paged-table--removed { color: $text-error; background: $error-muted 40%; }
    PagedTable > .paged-table--changed { color: $text-warning; background: $warning-muted 40%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "paged-table--header",
        "paged-table--cursor",
        "paged-table--placeholder",
        *(f"paged-table--{tone}" for tone in TONES),
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
        Binding("left", "sideways(-1)", "Scroll left", show=False),
        Binding("right", "sideways(1)", "Scroll right", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, init=False)
    busy: reactive[bool] = reactive(False)
    """Rows are on their way: the table says so in place (it stays focusable, unlike
    Textual's `loading`, which also takes the focus away)."""

    class RowHighlighted(_TableMessage):
        """The cursor is on a row whose values are loaded."""

        def __init__(self, table: PagedTable, index: int, row: Row) -> None:
            super().__init__(table)
            self.index, self.row = index, row

    class RowSelected(RowHighlighted):
        """Enter (or a double click) on a row (its own handler: `on_paged_table_row_selected`)."""

    class HeaderClicked(_TableMessage):
        """A column title was clicked (screens sort on it)."""

        def __init__(self, table: PagedTable, key: str) -> None:
            super().__init__(table)
            self.key = key

    class LoadFailed(_TableMessage):
        """Fetching rows raised; the screen shows the error."""

        def __init__(self, table: PagedTable, error: BaseException) -> None:
            super().__init__(table)
            self.error = error

    class Loaded(_TableMessage):
        """The row count and the first page of a new source are in."""

        def __init__(self, table: PagedTable, total: int) -> None:
            super().__init__(table)
            self.total = total

    def __init__(
        self,
        cursor_factory: CursorFactory,
        columns: Sequence[Column] = (),
        *,
        page_rows: int = PAGE_ROWS,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.page_rows = page_rows
        self._cursor_factory = cursor_factory
        self._columns: list[Column] = list(columns)
        self._source: RowSource | None = None
        self._index: dict[str, int] = {}
        self._state = Pages(page_rows)
        self._widths: list[int] = []
        self._announce = True
        self._focus_on_show = False
        self._tail = False  # after the next count, put the cursor on the last row
        self.row_tone: Callable[[int, Row], str | None] = lambda index, row: None

    @property
    def allow_horizontal_scroll(self) -> bool:
        """Wide rows scroll sideways (wheel, arrows) though no scrollbar is drawn."""
        return self.virtual_size.width > self.scrollable_content_region.width

    # -- what to show ---------------------------------------------------------------------

    @property
    def source(self) -> RowSource | None:
        return self._source

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(self._columns)

    @property
    def total(self) -> int | None:
        """How many rows the source has (None until counted)."""
        return self._state.total

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._columns = list(columns)
        self._layout()
        self.refresh()

    def set_source(self, source: RowSource, *, cursor: int = 0) -> None:
        """Show `source`'s rows, counting them and fetching the page that holds `cursor`."""
        self._source = source
        self._index = {name: i for i, name in enumerate(source.fields)}
        self._state = Pages(self.page_rows, generation=self._state.generation + 1)
        self.set_reactive(PagedTable.cursor_row, max(cursor, 0))
        self._announce = True
        self.busy = True
        self._request(cursor // self.page_rows, with_count=True)

    def follow(self, source: RowSource) -> None:
        """Show `source` again after rows were added: the cursor stays on its row unless it
        was on the last one, where it moves on to the new last row (as lnav follows)."""
        total = self._state.total
        tail = total is not None and self.cursor_row >= total - 1
        self.set_source(source, cursor=self.cursor_row)
        self._tail = tail

    def redraw(self) -> None:
        """Draw again after a change in what `row_tone` or the columns' formatters say."""
        self.refresh()

    def row_at(self, index: int) -> Row | None:
        return self._state.row(index)

    def value(self, row: Row, key: str) -> Any:
        return row[self._index[key]]

    # -- fetching -------------------------------------------------------------------------

    def _request(self, page: int, *, with_count: bool = False) -> None:
        state, source = self._state, self._source
        if source is None or page in state.pending or page in state.pages or page < 0:
            return
        state.pending.add(page)
        generation = state.generation

        def fetch() -> None:
            cur = self._cursor_factory()
            offset, limit = page * self.page_rows, self.page_rows
            try:
                total: int | None = None
                if with_count and isinstance(source, CountingSource):
                    rows, total = source.fetch_counted(cur, offset, limit)
                else:
                    total = source.count(cur) if with_count else None
                    rows = source.fetch(cur, offset, limit)
            finally:
                cur.close()
            hand_over(self, self._arrived, generation, page, rows, total)

        self.run_worker(fetch, thread=True, group="pages", exit_on_error=False)

    def _arrived(self, generation: int, page: int, rows: list[Row], total: int | None) -> None:
        state = self._state
        if generation != state.generation:
            return
        state.pending.discard(page)
        state.keep(page, rows, self._visible_pages())
        if total is not None:
            state.total = total
            self.busy = False
            self._layout()  # the row count decides whether a vertical scrollbar takes a column
            last = max(total - 1, 0)
            self.set_reactive(
                PagedTable.cursor_row, last if self._tail else min(self.cursor_row, last)
            )
            self._tail = False
            self._scroll_to_cursor()
            self.post_message(self.Loaded(self, total))
        self._announce_cursor()
        self._ensure_pages()
        self.refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.group == "pages":
            event.stop()
            self._state.pending.clear()
            self.busy = False
            error = event.worker.error
            assert error is not None
            self.post_message(self.LoadFailed(self, error))

    def _visible_pages(self) -> set[int]:
        top = int(self.scroll_offset.y)
        bottom = top + max(self.size.height - 1, 1)
        return set(range(top // self.page_rows, bottom // self.page_rows + 1))

    def _ensure_pages(self) -> None:
        total = self._state.total
        if total is None:
            return
        for page in sorted(self._visible_pages() | {self.cursor_row // self.page_rows}):
            if page * self.page_rows < total:
                self._request(page)

    # -- layout and drawing ---------------------------------------------------------------

    def _layout(self) -> None:
        self._widths = widths(self._columns, self._row_width())
        total = self._state.total
        self.virtual_size = Size(self._line_width(), (total or 0) + 1)

    def _row_width(self) -> int:
        """The width rows will have once the vertical scrollbar shows (or hides) for the
        current row count: laid out for the width of the moment, the columns would end one
        scrollbar too wide as soon as the rows arrive, and the table would scroll sideways."""
        width = self.scrollable_content_region.width
        if self.styles.overflow_y != "auto":
            return width
        needs = (self._state.total or 0) + 1 > self.container_size.height
        gutter = self.styles.scrollbar_size_vertical
        if needs and not self.show_vertical_scrollbar:
            width -= gutter
        elif not needs and self.show_vertical_scrollbar:
            width += gutter
        return max(width, 0)

    def _line_width(self) -> int:
        return sum(w + 1 for w in self._widths)

    def focus_when_shown(self) -> None:
        """Take the focus now, or as soon as the table is on screen (a pane being switched
        to is shown only after the next layout, and a hidden widget cannot be focused)."""
        if self.focusable:
            self.focus()
        else:
            self._focus_on_show = True

    def on_show(self, event: events.Show) -> None:
        if self._focus_on_show:
            self._focus_on_show = False
            self.call_after_refresh(self.focus)

    def on_focus(self, event: events.Focus) -> None:
        self.refresh()  # the cursor row looks different with and without the focus

    def on_blur(self, event: events.Blur) -> None:
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._layout()
        self._ensure_pages()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._ensure_pages()

    def render_line(self, y: int) -> Strip:
        if len(self._widths) != len(self._columns):
            self._layout()
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("paged-table--header")
            line = header_line(self._columns, self._widths, scroll_x, width)
            strip = Strip([Segment(line, style)])
        else:
            strip = self._row_strip(scroll_y + y - 1, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _row_strip(self, index: int, base: Style) -> Strip:
        total = self._state.total
        if self.busy and index == 0:
            style = base + self.get_component_rich_style("paged-table--placeholder")
            return Strip([Segment(" loading…", style)])
        if total is None or index >= total:
            return Strip([])
        row = self._state.row(index)
        if row is None:
            style = base + self.get_component_rich_style("paged-table--placeholder")
            return Strip([Segment(f" {index + 1:>6} …", style)])
        tone = self.row_tone(index, row)
        line = base + self._tone_style(tone)
        if index == self.cursor_row:
            line += self.get_component_rich_style("paged-table--cursor")
        values = [row[self._index[c.key]] if c.key in self._index else None for c in self._columns]
        texts = cell_texts(self._columns, self._widths, values)
        segments = [Segment(" ", line)]
        for column, value, text in zip(self._columns, values, texts, strict=True):
            cell = line
            if column.tone is not None and index != self.cursor_row:
                cell = line + self._tone_style(column.tone(value))
            segments += [Segment(text, cell), Segment(" ", line)]
        return Strip(segments)

    def _tone_style(self, tone: str | None) -> Style:
        if tone is None:
            return Style()
        return self.get_component_rich_style(f"paged-table--{tone}")

    # -- cursor ---------------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self._ensure_pages()
        self._announce = True
        self._announce_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        rows = max(self.scrollable_content_region.height - 1, 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def _announce_cursor(self) -> None:
        row = self._state.row(self.cursor_row) if self._announce else None
        if row is not None:
            self._announce = False
            self.post_message(self.RowHighlighted(self, self.cursor_row, row))

    def announce(self) -> None:
        """Post `RowHighlighted` for the row under the cursor again (once it is loaded)."""
        self._announce = True
        self._announce_cursor()

    def move_cursor(self, index: int, *, center: bool = False) -> None:
        """Put the cursor on row `index` (clamped); `center` scrolls it to mid-screen."""
        last = max((self._state.total or 1) - 1, 0)
        index = min(max(index, 0), last)
        if center:
            half = max(self.scrollable_content_region.height // 2, 1)
            self.scroll_to(y=max(index - half, 0), animate=False, immediate=True)
        self.cursor_row = index

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(self.size.height - 2, 1))

    def action_jump(self, where: int) -> None:
        self.move_cursor(where if where >= 0 else (self._state.total or 1) - 1)

    def action_sideways(self, direction: int) -> None:
        self.scroll_to(x=max(self.scroll_x + direction * 8, 0), animate=False)

    def action_select(self) -> None:
        row = self._state.row(self.cursor_row)
        if row is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self._click_header(offset.x + int(self.scroll_offset.x))
            return
        self.move_cursor(int(self.scroll_offset.y) + offset.y - 1)
        if event.chain >= 2:
            self.action_select()

    def _click_header(self, x: int) -> None:
        left = 1
        for column, width in zip(self._columns, self._widths, strict=True):
            if left <= x < left + width + 1:
                self.post_message(self.HeaderClicked(self, column.key))
                return
            left += width + 1
