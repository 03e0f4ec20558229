"""Replays by digest, marking two and diffing them, diffing one with the log, the fences.

The screens must show exactly what the replay engine computes, so expectations are taken
from the engine on the same store; the tests check what the user sees and can do with it.
"""

from __future__ import annotations

from forensics.replay.replays import RunReplays, run_replays
from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.replaydata import diff_view, fences_view, first_notable, replay_groups
from forensics.tui.screens.diff import DiffScreen
from forensics.tui.screens.error import ErrorScreen
from forensics.tui.screens.fences import FencesScreen
from forensics.tui.screens.replays import ReplaysScreen
from forensics.tui.widgets.paged_table import PagedTable
from tests.tui.conftest import SIZE, settle

DRAIN = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"  # drain-sync-step-created: the last replay fails


def column(table: PagedTable, key: str) -> list[object]:
    found = [table.row_at(i) for i in range(table.total or 0)]
    return [table.value(row, key) for row in found if row is not None]


def engine(store: Store) -> RunReplays:
    """The engine's replays of the run, on a cursor of their own (their traces read lazily)."""
    return run_replays(store.cursor(), DRAIN)


async def test_replays_are_grouped_by_digest(demo_store: Store) -> None:
    groups = replay_groups(engine(demo_store))
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReplaysScreen)
        table = screen.query_one(PagedTable)
        shown = [table.row_at(i) for i in range(table.total or 0)]
        assert shown == [g.row() for g in groups]
        assert len(groups) >= 2
        assert column(table, "outcome")[-1] == "failed"


async def test_space_marks_two_and_d_diffs_them(demo_store: Store) -> None:
    rr = engine(demo_store)
    groups = replay_groups(rr)
    expected = diff_view(rr, groups[-2].spec, groups[-1].spec)
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("d")
        assert isinstance(app.screen, ErrorScreen)  # nothing marked yet: it says what to do
        await pilot.press("escape", "end", "up", "space", "down", "space", "d")
        await settle(pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        assert (diff.a, diff.b) == (groups[-2].spec, groups[-1].spec)
        table = diff.query_one(PagedTable)
        assert [table.row_at(i) for i in range(table.total or 0)] == list(expected.rows)
        changed = [n for n, row in enumerate(expected.rows) if row[5] != "same"]
        assert len(changed) >= 2
        assert table.cursor_row == changed[0]  # the diff opens on the first difference
        await pilot.press("n")
        assert table.cursor_row == changed[1]


async def test_l_diffs_a_group_with_the_log_and_n_walks_differences(demo_store: Store) -> None:
    rr = engine(demo_store)
    last = replay_groups(rr)[-1]
    expected = diff_view(rr, last.spec, "log")
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("end", "l")
        await settle(pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        assert (diff.a, diff.b) == (last.spec, "log")
        table = diff.query_one(PagedTable)
        assert column(table, "mark") == [row[0] for row in expected.rows]
        assert "≠" in column(table, "mark")  # the step both sides name differently
        assert diff.differences == [n for n, r in enumerate(expected.rows) if r[5] != "same"]
        await pilot.press("N")
        assert table.cursor_row == diff.differences[-1]  # back from the first one wraps
        await pilot.press("s")
        await settle(pilot)
        assert (diff.a, diff.b) == ("log", last.spec)


async def test_fences_show_the_chain_verdicts_and_the_what_if(demo_store: Store) -> None:
    chain_rows, whatif_rows = fences_view(engine(demo_store))
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FencesScreen)
        chain = screen.query_one("#fences-chain", PagedTable)
        assert [chain.row_at(i) for i in range(chain.total or 0)] == chain_rows
        assert len(chain_rows) == 14
        whatif = screen.query_one("#fences-whatif", PagedTable)
        assert [whatif.row_at(i) for i in range(whatif.total or 0)] == whatif_rows
        assert column(whatif, "design")[0] == "tail fence (lastKnownEventId)"
        bad = [n for n, row in enumerate(chain_rows) if row[6] != "ok"]
        assert chain.cursor_row == bad[0]  # it opens on the first write that corrupted the log
        await pilot.press("n")
        assert chain.cursor_row == bad[1]
        await pilot.press("v", "v")  # all -> not ok -> the first verdict present
        await settle(pilot)
        verdict = screen.verdict
        assert verdict is not None and verdict != "not ok"
        shown = [chain.row_at(i) for i in range(chain.total or 0)]
        assert shown and {row[6] for row in shown if row} == {verdict}


async def test_replays_open_on_the_groups_that_matter(demo_store: Store) -> None:
    groups = replay_groups(engine(demo_store))
    start = first_notable(groups)
    notable = groups[start]
    assert any(m["holes"] for m in notable.members)  # inv12 decided from a log with a hole
    assert start > 0
    assert all(
        "failed" not in g.outcome and not g.mismatch and not any(m["holes"] for m in g.members)
        for g in groups[:start]
    )
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReplaysScreen)
        assert app.screen.query_one(PagedTable).cursor_row == start
