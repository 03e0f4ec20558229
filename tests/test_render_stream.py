"""Streamed output (`emit_stream`) writes what `emit` writes, one batch at a time."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.cli import render
from forensics.cli.render import emit, emit_stream
from forensics.store import Store

COLUMNS = ["run_id", "n", "at", "payload", "content_hash"]
ROWS: list[tuple[Any, ...]] = [
    ("wrun_A", 1, datetime(2026, 11, 20, 10, 0, tzinfo=UTC), '{"a": [1, {"b": null}]}', 2**127),
    ("wrun_B", None, None, "not json", 5),
    ("wrun_C\nx", 3, None, '"text"', 0),
]


def _out(call: Any) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        call()
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("rows", [ROWS, []])
def test_streamed_json_and_csv_equal_emit(fmt: str, rows: list[tuple[Any, ...]]) -> None:
    whole = _out(lambda: emit(COLUMNS, rows, fmt))
    batches = [rows[:1], rows[1:]] if rows else []
    assert _out(lambda: emit_stream(COLUMNS, iter(batches), fmt)) == whole


def test_a_table_of_a_huge_result_holds_its_first_rows_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render, "TABLE_ROWS", 2)
    err = io.StringIO()
    with redirect_stderr(err):
        out = _out(lambda: emit_stream(COLUMNS, iter([ROWS[:1], ROWS[1:]]), "table"))
    assert "wrun_A" in out and "wrun_B" in out and "wrun_C" not in out
    assert "first 2 rows" in err.getvalue()
    err = io.StringIO()
    with redirect_stderr(err):
        out = _out(lambda: emit_stream(COLUMNS, iter([ROWS[:2], []]), "table"))
    assert "wrun_B" in out and err.getvalue() == ""


def test_store_stream_reads_in_batches(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        cols, batches = store.stream("SELECT range AS n FROM range(25)", batch=10)
        sizes = [len(b) for b in batches]
    assert (cols, sizes) == (["n"], [10, 10, 5])
