"""The SQL screen: canned queries load with their parameters, Ctrl+J runs, Ctrl+E exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
from textual.widgets import Input, OptionList, TextArea

from forensics.queries import run_canned
from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.screens.error import ErrorScreen
from forensics.tui.screens.export import ExportScreen
from forensics.tui.screens.sql import SqlScreen
from forensics.tui.widgets.paged_table import PagedTable
from tests.tui.conftest import SIZE, settle

DRAIN = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"


def table_rows(screen: SqlScreen) -> list[tuple[object, ...]]:
    table = screen.query_one(PagedTable)
    return [r for r in (table.row_at(i) for i in range(table.total or 0)) if r is not None]


async def test_a_canned_query_loads_with_the_current_run_and_runs(demo_store: Store) -> None:
    _, expected = run_canned(demo_store, "run-events", {"run_id": DRAIN})
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("S")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        options = screen.query_one(OptionList)
        index = list(screen.queries).index("run-events")
        options.focus()
        options.highlighted = index
        await pilot.press("enter")
        assert screen.query_one(TextArea).text.startswith("-- name: run-events")
        assert screen.query_one("#sql-params", Input).value == f"run_id={DRAIN}"
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert table_rows(screen) == expected


async def test_bad_sql_shows_the_error_and_the_app_goes_on(demo_store: Store) -> None:
    app = ForensicsApp(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_sql("SELECT nope FROM runs")
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "nope" in app.screen.message
        await pilot.press("escape")
        assert isinstance(app.screen, SqlScreen)
        app.screen.query_one(TextArea).load_text("SELECT 6 * 7 AS answer")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert table_rows(app.screen) == [(42,)]


async def test_ctrl_e_exports_the_whole_result(demo_store: Store, tmp_path: Path) -> None:
    app = ForensicsApp(demo_store)
    sql = "SELECT run_id, event_count FROM runs ORDER BY run_id"
    _, expected = demo_store.query(sql)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_sql(sql)
        await settle(pilot)
        for name in ("runs.csv", "runs.json", "runs.parquet"):
            await pilot.press("ctrl+e")
            assert isinstance(app.screen, ExportScreen)
            app.screen.query_one(Input).value = str(tmp_path / name)
            await pilot.press("enter")
            await settle(pilot)
    with (tmp_path / "runs.csv").open() as fh:
        assert [(r["run_id"], int(r["event_count"])) for r in csv.DictReader(fh)] == expected
    data = json.loads((tmp_path / "runs.json").read_text())
    assert [(r["run_id"], r["event_count"]) for r in data] == expected
    parquet = str(tmp_path / "runs.parquet")
    assert duckdb.sql(f"SELECT * FROM '{parquet}'").fetchall() == expected
