"""Printing rows for people (a table) and for scripts (JSON, CSV) on stdout.

Stdout carries data only; JSON output is a plain array of objects so `| jq` works, with
times in ISO-8601 and JSON columns embedded as values rather than strings.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "csv")
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
    text = text.replace("\n", " ")
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
        table = Table(title=title, show_lines=False, header_style="bold")
        for c in columns:
            table.add_column(c, overflow="ellipsis", no_wrap=True)
        for row in rows:
            table.add_row(*(_cell(v, max_width) for v in row))
        # A terminal gets its own width; a pipe or file gets whole lines, never folded cells.
        width = None if sys.stdout.isatty() else 100_000
        Console(width=width, soft_wrap=False).print(table)


def _csv_value(name: str, value: Any) -> Any:
    value = _jsonable(name, value)
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value
