"""Text from a log is never read as Rich markup: brackets in ids and names are shown as
they are, and a closing tag with no opening one cannot crash a screen."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from forensics.importers.run import import_paths
from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.screens.run import RunScreen
from tests.tui.conftest import settle

RUN = "wrun_[/bold]01M7YNNASS8KVC54EG"
CID = "step_[link=https://example.invalid]x[/link]"


def _store(tmp_path: Path) -> Path:
    dump = tmp_path / "events.jsonl"
    events = [
        {
            "runId": RUN,
            "eventId": f"wevt_01M7YNNAT{n:017d}",
            "eventType": kind,
            "correlationId": CID if kind.startswith("step") else None,
            "createdAt": "2026-11-20T10:00:00.000Z",
            "specVersion": 2,
            "eventData": {"stepName": "[red]charge[/]"} if kind.startswith("step") else {},
        }
        for n, kind in enumerate(["run_created", "step_created", "step_started"])
    ]
    dump.write_text("".join(json.dumps(e) + "\n" for e in events))
    db = tmp_path / "m.duckdb"
    with Store(db) as store:
        import_paths(store, [dump])
    return db


async def test_brackets_in_the_data_are_shown_not_interpreted(tmp_path: Path) -> None:
    with Store(_store(tmp_path), read_only=True) as store:
        app = ForensicsApp(store, RUN)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, RunScreen)
            header = str(screen.query_one("#run-header", Static).render())
            assert "[/bold]" in header
            await pilot.press("down")
            await settle(pilot)
            console = Console(width=200, file=io.StringIO(), record=True)
            console.print(screen.query_one("#detail-body", Static).content)
            detail = console.export_text()
            assert "[link=https://example.invalid]x[/link]" in detail
            assert "[red]charge[/]" in detail
            assert isinstance(app.screen, RunScreen)  # no error modal, no crash
