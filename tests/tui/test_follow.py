"""`forensics open --watch`: the TUI follows a world-local directory that is being written.

Runs written while the app is open appear in the runs list; the cursor stays on its row
unless it was on the last one, where it follows the new last row; a new finding is
announced; an open run shows its new events; the header says when the last poll was.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.follow import Follower
from forensics.tui.screens.run import RunScreen
from forensics.tui.widgets.paged_table import PagedTable
from forensics.watch.sources import DirSource
from tests.tui.conftest import SIZE
from tests.watch.test_watch_dir import event_file

ROOT = Path(__file__).resolve().parents[2]
STEP = "step_01KSNVVXJB00000000000001"


def run_id(n: int) -> str:
    return f"wrun_01KSNVVXH82P5GM40D6F91{n:04d}"


def log(root: Path, n: int, events: int = 5) -> None:
    """Run `n`'s first `events` events (a step that completes), minute `n` of the day."""
    kinds = [
        ("run_created", None, {"deploymentId": "dpl_1", "workflowName": "wf"}),
        ("run_started", None, None),
        ("step_created", STEP, {"stepName": "step//charge"}),
        ("step_started", STEP, {"attempt": 1}),
        ("step_completed", STEP, {}),
    ]
    for k, (kind, cid, data) in enumerate(kinds[:events], start=1):
        add(root, n, k, kind, cid, data)


def add(root: Path, n: int, k: int, kind: str, cid: str | None, data: object) -> None:
    obj: dict[str, object] = {"eventType": kind, "specVersion": 2, "runId": run_id(n)}
    if cid:
        obj["correlationId"] = cid
    if data is not None:
        obj["eventData"] = data
    obj["eventId"] = f"wevt_01KSNVVXJ{n:08d}{k:08d}"
    obj["createdAt"] = f"2026-11-21T09:{n:02d}:{k:02d}.000Z"
    event_file(root, obj)


async def until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 30) -> None:
    """Let the app work (the follower's worker never ends) until `condition` holds."""
    for _ in range(int(seconds / 0.05)):
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError("the followed change never showed")


def shown_runs(table: PagedTable) -> int:
    return table.total or 0


async def test_the_tui_follows_a_directory_being_written(tmp_path: Path) -> None:
    root = tmp_path / ".workflow-data"
    log(root, 1)
    log(root, 2)
    with Store(tmp_path / "store.duckdb") as store:
        follower = Follower(store, [DirSource(root)], interval=0.2)
        try:
            await follow(ForensicsApp(store, None, follower), root)
        finally:
            assert follower.close(30)
        _, rows = store.query("SELECT count(*), count(DISTINCT event_id) FROM events")
        assert rows == [(25, 25)]  # 4 runs of 5, 1 late completion, 3 + 1


def listing(app: ForensicsApp) -> bool:
    """Whether the runs list is still being read (first load or a follow)."""
    return any(w.is_running for w in app.workers if w.group in ("runs", "pages"))


async def follow(app: ForensicsApp, root: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(PagedTable)
        await until(pilot, lambda: shown_runs(table) == 2)
        await until(pilot, lambda: "last poll" in app.sub_title)
        assert str(app.sub_title).startswith(f"store.duckdb · watching {root}")
        await until(pilot, lambda: not listing(app))
        table.move_cursor(0)

        log(root, 3)  # the cursor is not on the last row: it stays
        await until(pilot, lambda: shown_runs(table) == 3)
        await pilot.pause(0.3)
        assert table.cursor_row == 0

        table.move_cursor(2)  # on the last row: it follows new ones
        log(root, 4)
        await until(pilot, lambda: shown_runs(table) == 4)
        await until(pilot, lambda: table.cursor_row == 3)

        add(root, 1, 6, "step_completed", STEP, {})  # a second completion of run 1's step
        await until(
            pilot,
            lambda: any(
                "multiple-terminals" in n.title and run_id(1) in n.message
                for n in app._notifications
            ),
        )

        log(root, 5, events=3)
        await until(pilot, lambda: shown_runs(table) == 5)
        await until(pilot, lambda: table.cursor_row == 4)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        events = app.screen.query_one("#events-table", PagedTable)
        await until(pilot, lambda: events.total == 3)
        add(root, 5, 4, "step_started", STEP, {"attempt": 1})
        await until(pilot, lambda: events.total == 4)


def test_open_watch_rejects_a_source_it_cannot_name(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "forensics", "--db", str(tmp_path / "s.duckdb"), "open"]
    done = subprocess.run(
        [*command, "--watch", "somewhere"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 2
    assert "say which kind of source" in done.stderr
    assert "dir:PATH" in done.stderr
