"""The TUI opens on the problem: the story banner, n/N errors, w/W warnings, y, m, Ctrl+P."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.runsdata import runs_snapshot
from forensics.tui.screens.run import RunScreen
from forensics.tui.screens.runs import COLUMNS
from forensics.tui.widgets.paged_table import PagedTable
from forensics.tui.widgets.story_banner import StoryBanner
from tests.tui.conftest import SIZE, settle

DRAIN = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"  # failed: a stale write at #10
HEALTHY = "wrun_01M7YNNASS8KVC54EGYKZ763NW"


async def test_a_failed_run_opens_on_its_story_and_keys_walk_errors_and_warnings(
    demo_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        banner = screen.query_one(StoryBanner)
        assert banner.has_class("shown")
        assert "root cause: stale-snapshot-write at #10" in str(banner.render())
        events = screen.query_one("#events-table", PagedTable)
        assert events.cursor_row == 9
        errors, warnings = screen.flagged["error"], screen.flagged["warning"]
        await pilot.press("n")
        assert events.cursor_row + 1 == min(p for p in errors if p > 10)
        await pilot.press("N", "N")
        assert events.cursor_row + 1 == max(p for p in errors if p < 10)
        await pilot.press("w")
        assert events.cursor_row + 1 in warnings
        await pilot.press("y")
        assert app.clipboard == f"{DRAIN}#{events.cursor_row + 1}"
        await pilot.press("m")
        await settle(pilot)
        text = (tmp_path / f"{DRAIN}.story.md").read_text()
        assert text.startswith(f"### Run `{DRAIN}`") and "#### Root cause" in text


async def test_a_healthy_run_opens_at_its_first_event_without_a_banner(
    demo_store: Store,
) -> None:
    app = ForensicsApp(demo_store, HEALTHY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert not screen.query_one(StoryBanner).has_class("shown")
        assert screen.query_one("#events-table", PagedTable).cursor_row == 0
        await pilot.press("n")  # no error: a note, the cursor stays
        assert screen.query_one("#events-table", PagedTable).cursor_row == 0


async def test_ctrl_p_finds_a_run_by_its_error_code(demo_store: Store) -> None:
    app = ForensicsApp(demo_store)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"9BZB4487")
        await settle(pilot)
        for _ in range(20):  # the palette searches in the background
            await pilot.pause(0.1)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen) and app.screen.run_id == DRAIN


def test_the_runs_list_shows_error_code_and_verdict(demo_store: Store) -> None:
    cur = demo_store.cursor()
    try:
        table = runs_snapshot(cur).to_pylist()
    finally:
        cur.close()
    row = next(r for r in table if r["run_id"] == DRAIN)
    assert (row["error_code"], row["verdict"]) == ("CORRUPTED_EVENT_LOG", "anomalous")
    assert "error_code" in {c.key for c in COLUMNS}


async def test_the_findings_list_hides_info_until_asked(tmp_path: Path) -> None:
    from forensics.analysis.engine import check
    from tests.story.test_noise import _fenced_run

    path = tmp_path / "fenced.duckdb"
    with Store(path) as store:
        _fenced_run(store)
        found = check(store).findings
    assert {f.severity for f in found} == {"error", "info"}
    with Store(path, read_only=True) as store:
        app = ForensicsApp(store, found[0].run_id)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("f")
            await settle(pilot)
            table = app.screen.query_one("#findings-table", PagedTable)
            assert table.total == len([f for f in found if f.severity != "info"])
            await pilot.press("i")
            await settle(pilot)
            assert table.total == len(found)
