"""Printing rows for people (a table) and for scripts (JSON, CSV) on stdout.

Stdout carries data only; JSON output is a plain array of objects so `| jq` works, with
times in ISO-8601 and JSON columns embedded as values rather than strings. Tables are for
reading: ids shortened to their unique end (`forensics.shortids`; whole with `--wide`),
columns with no value left out, free text cut first when the terminal is narrow.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import click
import orjson
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from forensics.cli.options import WIDE_KEY
from forensics.shortids import is_id, short_id, unique_end

# A cell is one line: line breaks, tabs and other control characters become spaces.
_FLATTEN = dict.fromkeys([*range(32), 127], " ")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JSON_COLUMNS = {
    "payload",
    "payload_decoded",
    "event_data",
    "extra",
    "options",
    "error",
    "evidence",
    "params",
}


def _jsonable(name: str, value: Any) -> Any:
    if isinstance(value, str) and name in _JSON_COLUMNS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)  # a 128-bit hash (`content_hash`): JSON numbers cannot hold it
    return value


def rows_as_dicts(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [{c: _jsonable(c, v) for c, v in zip(columns, row, strict=True)} for row in rows]


def _cell(value: Any, width: int) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    elif isinstance(value, bytes | bytearray | memoryview):
        text = f"<{len(bytes(value))} bytes>"
    else:
        text = str(value)
    text = text.translate(_FLATTEN) if _CONTROL.search(text) else text
    return text if len(text) <= width else text[: width - 1] + "…"


def emit(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str = "table",
    *,
    title: str | None = None,
    max_width: int = 80,
) -> None:
    """Write rows to stdout in `fmt` (table, json or csv)."""
    if fmt == "json":
        data = rows_as_dicts(columns, rows)
        sys.stdout.write(
            orjson.dumps(
                data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
            ).decode()
            + "\n"
        )
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(c, v) for c, v in zip(columns, row, strict=True)])
    else:
        columns, rows = readable(columns, rows, wide=wide_tables())
        cells = [[_cell(v, max_width) for v in row] for row in rows]
        if sys.stdout.isatty():
            _rich_table(columns, cells, title)
        else:  # a pipe or file: whole lines, never folded cells, no styles
            sys.stdout.writelines(plain_table(columns, cells, title))


TABLE_ROWS = 100_000  # a table for reading holds at most this many rows of a streamed result


def emit_stream(
    columns: Sequence[str],
    batches: Iterable[Sequence[Sequence[Any]]],
    fmt: str = "table",
    *,
    max_width: int = 80,
) -> None:
    """As `emit`, for a result read in batches: JSON and CSV are written batch by batch
    (the same text `emit` writes), so memory holds one batch; a table holds at most
    `TABLE_ROWS` rows, and stderr says when there were more."""
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for batch in batches:
            for row in batch:
                writer.writerow([_csv_value(c, v) for c, v in zip(columns, row, strict=True)])
    elif fmt == "json":
        first = True
        for batch in batches:
            for obj in rows_as_dicts(columns, batch):
                text = orjson.dumps(
                    obj, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
                ).decode()
                sys.stdout.write(("[\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
                first = False
        sys.stdout.write("[]\n" if first else "\n]\n")
    else:
        rows: list[Sequence[Any]] = []
        more = False
        pending = iter(batches)
        for batch in pending:
            room = TABLE_ROWS - len(rows)
            rows.extend(batch[:room])
            if len(batch) > room or (len(rows) == TABLE_ROWS and next(pending, None)):
                more = True
                break
        emit(columns, rows, fmt, max_width=max_width)
        if more:
            click.echo(
                f"forensics: note: the table shows the first {TABLE_ROWS:,} rows of the"
                " result; --format csv or json writes them all (or add LIMIT / WHERE)",
                err=True,
            )


def wide_tables() -> bool:
    """Whether the command line asked for whole values (`--wide`)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get(WIDE_KEY))


def readable(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, wide: bool = False
) -> tuple[list[str], list[list[Any]]]:
    """The table people read: columns without a single value left out (when there are
    rows), and unless `wide`, ids shortened to the end that tells the column's ids apart."""
    keep = [i for i in range(len(columns)) if not rows or any(_filled(row[i]) for row in rows)]
    out_rows = [[row[i] for i in keep] for row in rows]
    if not wide:
        for j in range(len(keep)):
            values = [row[j] for row in out_rows]
            if any(is_id(v) for v in values):
                end = unique_end(values)
                for row in out_rows:
                    if isinstance(row[j], str):
                        row[j] = short_id(row[j], end)
    return [columns[i] for i in keep], out_rows


def _filled(value: Any) -> bool:
    return value is not None and value != ""


# Columns no wider than this (ids, times, types, statuses, counts) keep their whole width
# in a terminal, from the left, as long as they fit: a run id cut short cannot be copied
# into the next command. Wider ones (payloads, JSON, locations, free text) give up room
# first, with an ellipsis, down to `SHRUNK_WIDTH`.
KEEP_WIDTH = 34
SHRUNK_WIDTH = 3
HEADER_WIDTH = 8
READABLE = 8  # a column cut below this many cells says nothing; it is left out instead


# Columns of free text: they give up room first (cut with an ellipsis), after which the
# structured columns (ids, times, types, statuses, counts) keep their whole width.
FREE_TEXT = frozenset(
    {
        "workflow_name", "step_name", "name", "payload", "payload_decoded", "event_data",
        "extra", "location", "source_location", "error", "reason", "notes", "explanation",
        "evidence", "replay_message", "description", "detail", "message", "title", "params",
        "options", "raw", "what", "meaning",
    }
)  # fmt: skip


def column_widths(
    naturals: Sequence[int], width: int, free: Sequence[bool] | None = None
) -> list[int]:
    """The width of each column in a terminal `width` wide (columns at their natural
    widths when they all fit). Structured columns keep their width, from the left, as long
    as they fit; free text (`free`, or wider than `KEEP_WIDTH`) shares what is left, in
    proportion to its natural width."""
    budget = width - (3 * len(naturals) + 1)  # borders and padding
    if sum(naturals) <= budget:
        return list(naturals)
    loose = [n > KEEP_WIDTH or bool(free and free[i]) for i, n in enumerate(naturals)]
    out = [min(n, SHRUNK_WIDTH) for n in naturals]
    used = sum(out)
    for index, natural in enumerate(naturals):
        if not loose[index] and used - out[index] + natural <= budget:
            used += natural - out[index]
            out[index] = natural
    shrinking = [i for i, n in enumerate(naturals) if out[i] < n]
    while shrinking and used < budget:
        room, want = budget - used, sum(naturals[i] - out[i] for i in shrinking)
        for i in list(shrinking):
            grant = min(max(1, room * (naturals[i] - out[i]) // want), naturals[i] - out[i])
            grant = min(grant, budget - used)
            out[i] += grant
            used += grant
            if out[i] >= naturals[i]:
                shrinking.remove(i)
    return out


def _rich_table(columns: Sequence[str], cells: list[list[str]], title: str | None) -> None:
    """A table that fits the terminal (wide cells shrink, with an ellipsis), header in bold.
    Columns that would be cut too short to read are left out, and stderr says which."""
    console = Console(soft_wrap=False)
    # a long header does not hold a column of short values open: it is cut first
    naturals = [
        max([min(cell_len(c), HEADER_WIDTH), *(cell_len(row[index]) for row in cells)])
        for index, c in enumerate(columns)
    ]
    free = [c in FREE_TEXT for c in columns]
    shown, widths = fitting_columns(naturals, console.width, free)
    table = Table(title=title, show_lines=False, header_style="bold")
    for i, width in zip(shown, widths, strict=True):
        table.add_column(Text(columns[i]), overflow="ellipsis", no_wrap=True, width=width)
    for row in cells:
        table.add_row(*(Text(row[i]) for i in shown))  # a value is never read as markup
    console.print(table)
    left_out = [columns[i] for i in range(len(columns)) if i not in shown]
    if left_out:
        Console(stderr=True, soft_wrap=True).print(
            f"forensics: note: {len(left_out)} column(s) left out at {console.width} columns"
            f" ({', '.join(left_out)}): a wider terminal, `| less -S` or --format csv shows"
            " them",
            markup=False,
            highlight=False,
        )


def fitting_columns(
    naturals: Sequence[int], width: int, free: Sequence[bool]
) -> tuple[list[int], list[int]]:
    """The columns to show and their widths: the rightmost column that would be cut below
    `READABLE` cells (and below its natural width) is left out, until the rest fit."""
    shown = list(range(len(naturals)))
    while True:
        widths = column_widths([naturals[i] for i in shown], width, [free[i] for i in shown])
        cramped = [
            n
            for n, (i, w) in enumerate(zip(shown, widths, strict=True))
            if w < min(naturals[i], READABLE) and n > 0
        ]
        if not cramped:
            return shown, widths
        del shown[cramped[-1]]


def plain_table(
    columns: Sequence[str], cells: Sequence[Sequence[str]], title: str | None = None
) -> list[str]:
    """The lines of the terminal table drawn at its natural width, without styles.

    Drawn here rather than by rich: rich lays a table out cell by cell, which takes
    seconds for the thousands of rows of a long run's events, and a pipe needs no layout.
    """
    lengths = [[cell_len(cell) for cell in row] for row in cells]
    widths = [cell_len(c) for c in columns]
    for row_lengths in lengths:
        widths = [max(w, n) for w, n in zip(widths, row_lengths, strict=True)]

    def line(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right + "\n"

    def row_line(edge: str, values: Sequence[str], sizes: Sequence[int]) -> str:
        parts = (f" {v}{' ' * (w - n)} " for v, n, w in zip(values, sizes, widths, strict=True))
        return edge + edge.join(parts) + edge + "\n"

    out = []
    if title:
        total = sum(widths) + 3 * len(widths) + 1
        left = max(0, (total - cell_len(title)) // 2)
        out.append(" " * left + title + " " * max(0, total - left - cell_len(title)) + "\n")
    out.append(line("┏", "━", "┳", "┓"))
    out.append(row_line("┃", columns, [cell_len(c) for c in columns]))
    out.append(line("┡", "━", "╇", "┩"))
    out.extend(row_line("│", row, n) for row, n in zip(cells, lengths, strict=True))
    out.append(line("└", "─", "┴", "┘"))
    return out


def _csv_value(name: str, value: Any) -> Any:
    value = _jsonable(name, value)
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value
