"""What a `PagedTable` shows: columns, row sources, and the bounded cache of fetched pages.

A source describes rows that live in DuckDB (a count, and pages fetched with a worker's own
cursor); `Pages` keeps a few of them in memory, dropping the least recently used first, so
memory stays bounded however long the list is. The pure functions at the end lay a row out
in cells (widths, fitted texts, the title line), so the widget only draws.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import duckdb
from rich.cells import cell_len, set_cell_size

PAGE_ROWS = 200
MAX_PAGES = 12
TONES = ("error", "warning", "info", "ok", "muted", "accent", "added", "removed", "changed")
Row = tuple[Any, ...]
CursorFactory = Callable[[], duckdb.DuckDBPyConnection]


def plain(value: Any) -> str:
    """A cell's text: empty for NULL, times to the millisecond, one line."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("\n", " ")


@dataclass(frozen=True)
class Column:
    """One column: which row field it shows, how wide (0 = the rest of the line), how."""

    key: str
    label: str
    width: int = 0
    align: str = "left"
    fmt: Callable[[Any], str] = plain
    tone: Callable[[Any], str | None] | None = None
    min_width: int = 8
    draw: Callable[[Any, int], str] | None = None  # for cells drawn to their width (bars)


class RowSource(Protocol):
    """Where rows come from: a count and pages, each called with a worker's own cursor."""

    @property
    def fields(self) -> Sequence[str]: ...

    def count(self, cur: duckdb.DuckDBPyConnection) -> int: ...

    def fetch(self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int) -> list[Row]: ...


@runtime_checkable
class CountingSource(RowSource, Protocol):
    """A source that can count its rows in the same query as a page (one pass, not two)."""

    def fetch_counted(
        self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int
    ) -> tuple[list[Row], int]: ...


@dataclass
class Pages:
    """The rows in memory: a bounded cache of pages keyed by page number."""

    size: int = PAGE_ROWS
    generation: int = 0
    total: int | None = None
    pages: OrderedDict[int, list[Row]] = field(default_factory=OrderedDict)
    pending: set[int] = field(default_factory=set)

    def row(self, index: int) -> Row | None:
        page = self.pages.get(index // self.size)
        if page is None:
            return None
        self.pages.move_to_end(index // self.size)
        offset = index % self.size
        return page[offset] if offset < len(page) else None

    def keep(self, number: int, rows: list[Row], visible: set[int]) -> None:
        self.pages[number] = rows
        self.pages.move_to_end(number)
        for old in list(self.pages):
            if len(self.pages) <= MAX_PAGES:
                break
            if old not in visible:
                del self.pages[old]


def fit(texts: Sequence[str], columns: Sequence[Column], widths: Sequence[int]) -> list[str]:
    """Each text cut (with `…`) or padded to its column's width, aligned as it says."""
    out = []
    for raw, column, width in zip(texts, columns, widths, strict=False):
        text = raw
        if cell_len(text) > width:
            text = set_cell_size(text, max(width - 1, 0)) + "…" if width else ""
        pad = " " * (width - cell_len(text))
        out.append(pad + text if column.align == "right" else text + pad)
    return out


def widths(columns: Sequence[Column], available: int) -> list[int]:
    """Column widths: fixed ones as given, the rest share what is left (at least their min)."""
    available = max(available, 20)
    fixed = sum(c.width + 1 for c in columns if c.width)
    flex = [c for c in columns if not c.width]
    share = max((available - fixed - len(flex)) // max(len(flex), 1), 0)
    return [c.width or max(share, c.min_width) for c in columns]


def cell_texts(columns: Sequence[Column], sizes: Sequence[int], values: Sequence[Any]) -> list[str]:
    """A row's cells, formatted (or drawn to their width) and fitted."""
    texts = [
        c.draw(v, w) if c.draw is not None else c.fmt(v)
        for c, v, w in zip(columns, values, sizes, strict=True)
    ]
    return fit(texts, columns, sizes)


def header_line(columns: Sequence[Column], sizes: Sequence[int], scroll_x: int, width: int) -> str:
    """The title line; columns cut off at either side are marked `‹` `›` (no scrollbar)."""
    line = (" " + " ".join(fit([c.label for c in columns], columns, sizes))).ljust(scroll_x + width)
    if cell_len(line) > scroll_x + width:
        line = set_cell_size(line, scroll_x + width - 1) + "›"
    if scroll_x:
        line = line[:scroll_x] + "‹" + line[scroll_x + 1 :]
    return line
