"""One run: the log in replay order, the detail pane, lanes, `/`, `t`, marking and `n`."""

from __future__ import annotations

from forensics.analysis.ranks import rank
from forensics.browse import run_events
from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.data import stored_findings
from forensics.tui.screens.run import RunScreen
from forensics.tui.widgets.event_detail import EventDetail
from forensics.tui.widgets.paged_table import PagedTable
from tests.tui.conftest import SIZE, settle

DRAIN = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"  # drain-sync-step-created, 14 events


def rows(table: PagedTable, key: str) -> list[object]:
    found = [table.row_at(i) for i in range(table.total or 0)]
    return [table.value(row, key) for row in found if row is not None]


async def test_events_come_in_log_order_and_the_detail_follows_the_cursor(
    demo_store: Store,
) -> None:
    _, expected = run_events(demo_store, DRAIN)
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        table = screen.query_one("#events-table", PagedTable)
        assert rows(table, "event_id") == [r[1] for r in expected]
        # a failed run opens on its story: the cursor on the root cause (#10, the stale write)
        assert screen.story is not None and screen.story.root_cause is not None
        assert table.cursor_row == screen.story.root_cause.event.position - 1 == 9
        assert screen.query_one(EventDetail).event_id == expected[9][1]
        await pilot.press("home")
        await settle(pilot)
        assert screen.query_one(EventDetail).event_id == expected[0][1]
        await pilot.press("down", "down")
        await settle(pilot)
        assert screen.query_one(EventDetail).event_id == expected[2][1]


async def test_slash_filters_events_and_t_switches_the_time_column(demo_store: Store) -> None:
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#events-table", PagedTable)
        await pilot.press("slash", *"p_cr", "enter")
        await settle(pilot)
        assert rows(table, "pos") == [4, 10, 11]
        assert [c.label for c in table.columns if c.key in ("created_at", "write_time")] == [
            "created"
        ]
        await pilot.press("t")
        assert [c.label for c in table.columns if c.key in ("created_at", "write_time")] == [
            "written"
        ]


async def test_lanes_show_one_line_per_entity_and_enter_marks_its_events(
    demo_store: Store,
) -> None:
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("l")
        await settle(pilot)
        lanes = screen.query_one("#lanes-table", PagedTable)
        assert [str(v)[-3:] for v in rows(lanes, "lane")] == ["un)", "B2F", "B2G", "B2H", "B2J"]
        assert rows(lanes, "events") == [3, 2, 3, 2, 4]
        await pilot.press("end", "enter")
        await settle(pilot)
        assert screen.marked == [10, 11, 12, 13]
        events = screen.query_one("#events-table", PagedTable)
        assert app.focused is events
        assert events.cursor_row == 9
        await pilot.press("n", "n")
        assert events.cursor_row == 11
        await pilot.press("N", "N", "N")
        assert events.cursor_row == 12  # walking back from #10 wraps to the last mark


async def test_a_mark_hidden_by_the_filter_clears_it(demo_store: Store) -> None:
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("slash", *"hook", "enter")
        await settle(pilot)
        screen.mark([9])
        await settle(pilot)
        events = screen.query_one("#events-table", PagedTable)
        assert screen.filter_text == ""
        assert events.total == 14
        assert events.cursor_row == 8


async def test_enter_on_a_finding_marks_its_witness_events(demo_store: Store) -> None:
    cur = demo_store.cursor()
    try:
        stored = stored_findings(cur, DRAIN)
    finally:
        cur.close()
    assert stored  # the demo store is checked: this run has findings
    _, log = run_events(demo_store, DRAIN)
    position = {row[1]: row[0] for row in log}
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("f")
        await settle(pilot)
        findings = screen.query_one("#findings-table", PagedTable)
        stored.sort(key=rank)  # root causes first
        assert rows(findings, "code") == [f.code for f in stored]
        assert rows(findings, "code")[0] == "stale-snapshot-write"
        await pilot.press("down", "enter")
        await settle(pilot)
        witness = sorted(position[e] for e in stored[1].event_ids)
        assert screen.marked == witness
        events = screen.query_one("#events-table", PagedTable)
        assert app.focused is events
        assert events.cursor_row == witness[0] - 1
        await pilot.press("n")
        assert events.cursor_row == witness[1] - 1
        flagged = {e for f in stored for e in f.event_ids}
        flag = events.columns[0].fmt
        ids = rows(events, "event_id")
        assert [flag(e) != "" for e in ids] == [e in flagged for e in ids]
