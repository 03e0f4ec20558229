"""The runs list: every sample run, `/` filtering, sorting, Enter opens, Esc comes back."""

from __future__ import annotations

import json

from forensics.demo import SAMPLES_DIR
from forensics.tui.app import ForensicsApp
from forensics.tui.screens.run import RunScreen
from forensics.tui.screens.runs import RunsScreen
from forensics.tui.widgets.paged_table import PagedTable
from tests.tui.conftest import SIZE, settle

MANIFEST = json.loads((SAMPLES_DIR / "manifest.json").read_text())
RUNS = {r["run_id"]: r for r in MANIFEST["runs"]}


def run_ids(table: PagedTable) -> list[str]:
    rows = [table.row_at(i) for i in range(table.total or 0)]
    return [str(table.value(row, "run_id")) for row in rows if row is not None]


async def test_lists_every_run_in_first_event_order(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        ids = run_ids(table)
        assert sorted(ids) == sorted(RUNS)
        events = {i: table.value(table.row_at(n), "events") for n, i in enumerate(ids)}
        assert events == {i: r["event_count"] for i, r in RUNS.items()}
        firsts = [table.value(table.row_at(n), "first_at") for n in range(len(ids))]
        assert firsts == sorted(firsts)


async def test_slash_filters_by_status_and_escape_clears(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"running", "enter")
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        assert run_ids(table) == ["wrun_01M7YP121JCEJ8H18WADNSZSWS"]
        assert app.focused is table
        await pilot.press("slash", "escape")
        await settle(pilot)
        assert len(run_ids(table)) == len(RUNS)


async def test_filter_words_match_workflow_and_run_id(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"inv", "enter")
        await settle(pilot)
        assert run_ids(app.screen.query_one(PagedTable)) == ["wrun_01KSP9BZB4487TXAG8KM4D1H1C"]


async def test_s_sorts_by_the_next_column_and_r_reverses(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        screen._sort_by("events")
        await settle(pilot)
        table = screen.query_one(PagedTable)
        counts = [table.value(table.row_at(n), "events") for n in range(table.total or 0)]
        assert counts == sorted(counts, reverse=True)
        await pilot.press("r")
        await settle(pilot)
        counts = [table.value(table.row_at(n), "events") for n in range(table.total or 0)]
        assert counts == sorted(counts)
        await pilot.press("s")
        assert screen.sort_key == "spec"


async def test_enter_opens_the_run_and_escape_returns(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = run_ids(app.screen.query_one(PagedTable))[0]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)
        assert app.screen.run_id == first
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
