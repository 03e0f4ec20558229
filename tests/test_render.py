"""Tables on stdout: the plain drawing for pipes matches rich's, and values are never markup."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from forensics.cli.render import column_widths, emit, fitting_columns, plain_table
from forensics.shortids import short_id, unique_end


def rich_drawing(columns: Sequence[str], cells: Sequence[Sequence[str]], title: str | None) -> str:
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="ellipsis", no_wrap=True)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    out = io.StringIO()
    Console(file=out, width=100_000, soft_wrap=False, color_system=None).print(table)
    return out.getvalue()


CASES = [
    (
        ["run_id", "status", "events"],
        [["wrun_01M7YNNASS8KVC54EGYKZ763NW", "completed", "12"]],
        "Runs",
    ),
    (["a", "long_column", "c"], [["x", "", ""], ["ünï", "[bold]z[/bold]", "3"]], None),
    (["payload"], [['{"name":"注文","emoji":"🔒 Encrypted"}'], ["x"]], "A much longer title"),
    (["only"], [], None),
    (["w"], [["wide 表 cell"], ["narrow"]], "T"),
]


@pytest.mark.parametrize(("columns", "cells", "title"), CASES)
def test_plain_table_draws_what_rich_draws(
    columns: list[str], cells: list[list[str]], title: str | None
) -> None:
    assert "".join(plain_table(columns, cells, title)) == rich_drawing(columns, cells, title)


def test_cell_values_are_shown_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    emit(["payload"], [['{"tag":"[/red]"}'], ["line\nbreak\tand tab"]])
    out = capsys.readouterr().out
    assert '{"tag":"[/red]"}' in out  # not read as rich markup (which would raise here)
    assert "line break and tab" in out


def test_narrow_terminals_keep_ids_whole_and_shrink_wide_columns() -> None:
    # pos, run id, event type, a wide payload: 120 columns fit them all but the payload
    naturals = [3, 31, 14, 300]
    widths = column_widths(naturals, 120)
    assert widths[:3] == [3, 31, 14]
    assert sum(widths) + 3 * len(widths) + 1 == 120
    # everything fits: natural widths
    assert column_widths([3, 31, 14, 20], 120) == [3, 31, 14, 20]
    # too narrow for the ids: the leftmost keep theirs, the rest shrink, nothing vanishes
    narrow = column_widths([31, 31, 31, 31], 80)
    assert narrow[0] == 31 and min(narrow) >= 3 and sum(narrow) + 13 <= 80


def test_json_output_writes_128_bit_integers_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    emit(["content_hash", "n"], [(2**127 + 5, 7)], "json")
    assert json.loads(capsys.readouterr().out) == [{"content_hash": str(2**127 + 5), "n": 7}]


def test_free_text_gives_up_room_before_structured_columns() -> None:
    # pos, event id, type, step name (free text), a time: the step name is cut, not the time
    widths = column_widths([3, 12, 14, 30, 23], 80, [False, False, False, True, False])
    assert widths[:3] == [3, 12, 14] and widths[4] == 23
    assert widths[3] == 80 - 16 - (3 + 12 + 14 + 23)


def test_tables_shorten_ids_to_their_unique_end_and_drop_empty_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [
        ("wrun_01M7YNNASS8KVC54EGYKZ763NW", None, "step_01KSP9BZB4487TXAG8KMAB2J", "e45df944"),
        ("wrun_01M7YNNASS8KVC54EGYKZ763NX", "", "wait_01KSP9BZB4487TXAG8KMAB2J", "e45df944"),
        ("wrun_01M7YNNAST44YFK7BMMFBCW7YQ", None, None, "e45df944"),
    ]
    emit(["run_id", "empty", "correlation_id", "digest"], rows)
    out = capsys.readouterr().out
    assert "wrun_…Z763NW" in out and "wrun_…Z763NX" in out and "wrun_…BCW7YQ" in out
    assert "step_…KMAB2J" in out and "wait_…KMAB2J" in out  # the kind tells them apart
    assert "empty" not in out and "e45df944" in out  # a digest is not shortened
    assert max(len(line) for line in out.splitlines()) < 60  # piped: no wider than needed
    emit(["run_id"], [r[:1] for r in rows[:2]], "csv")
    assert "wrun_01M7YNNASS8KVC54EGYKZ763NW" in capsys.readouterr().out


def test_ids_that_share_a_long_end_get_a_longer_one() -> None:
    ids = ["wrun_01AAAAAAAAAAAAAAAAAAABCDEF", "wrun_01BBBBBBBBBBBBBBBBBXABCDEF"]
    assert unique_end(ids) == 7
    assert [short_id(i, 7) for i in ids] == ["wrun_…AABCDEF", "wrun_…XABCDEF"]


def test_columns_too_cramped_to_read_are_left_out_from_the_right() -> None:
    # id, a free-text name, status, two times, a flag: at 80 columns the times go first
    naturals = [12, 40, 9, 23, 23, 5]
    shown, widths = fitting_columns(naturals, 80, [False, True, False, False, False, False])
    assert shown[:3] == [0, 1, 2] and 0 in shown
    assert all(w >= min(naturals[i], 8) for i, w in zip(shown, widths, strict=True))
    assert sum(widths) + 3 * len(widths) + 1 <= 80
    assert fitting_columns([3, 4], 80, [False, False]) == ([0, 1], [3, 4])
