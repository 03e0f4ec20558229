"""The TUI holds the store only while a query runs: an import started while it is open
completes, and `R` shows what the import added (the app also says the store changed)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from forensics.demo import SAMPLES_DIR
from forensics.importers.run import import_paths
from forensics.store import Store
from forensics.store.opening import StoreReader
from forensics.tui.app import ForensicsApp
from forensics.tui.widgets.paged_table import PagedTable
from tests.tui.conftest import SIZE, settle
from tests.tui.test_runs_screen import run_ids

HOSTED_RUN = "wrun_01KVD59BJ6SFWNA34MSXPK14W0"  # the one run of hosted-api-v1-events.json
INCIDENT_RUN = "wrun_01KSNVVXH82P5GM40D6F9152JF"  # the 2113 incident: 54 traced replays


def _forensics(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forensics", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_an_import_while_the_tui_is_open_completes_and_r_shows_its_runs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [SAMPLES_DIR / "world-local-data"])
    app = ForensicsApp(StoreReader(db))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        before = run_ids(table)
        assert len(before) == 9 and HOSTED_RUN not in before
        done = await asyncio.to_thread(
            _forensics,
            "--db",
            str(db),
            "--wait",
            "5",
            "import",
            "json",
            str(SAMPLES_DIR / "hosted-api-v1-events.json"),
        )
        assert done.returncode == 0, done.stderr
        app.notice_changes()  # what the app's timer does every few seconds
        assert "changed: R reloads" in app.sub_title
        assert run_ids(table) == before  # nothing moves under the user's cursor by itself
        await pilot.press("R")
        await settle(pilot)
        assert sorted(run_ids(table)) == sorted([*before, HOSTED_RUN])
        assert app.sub_title == db.name


async def test_r_on_the_replays_screen_reads_them_again(tmp_path: Path) -> None:
    """Traces imported while the replays screen is open show after `R`."""
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [SAMPLES_DIR / "dynamodb-incident-2113.jsonl.gz"])
    app = ForensicsApp(StoreReader(db), INCIDENT_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        before = {str(table.value(table.row_at(i), "source")) for i in range(table.total or 0)}
        assert before == {"reconstructed"}
        done = await asyncio.to_thread(
            _forensics,
            "--db",
            str(db),
            "--wait",
            "5",
            "import",
            "trace",
            str(SAMPLES_DIR / "vercel-logs-incident-2113.jsonl.gz"),
        )
        assert done.returncode == 0, done.stderr
        await pilot.press("R")
        await settle(pilot)
        after = {str(table.value(table.row_at(i), "source")) for i in range(table.total or 0)}
        assert "trace" in after
