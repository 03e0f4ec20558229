"""Long logs: the table holds a bounded number of pages however far the user scrolls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dsl import RUN, ev

from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.widgets.paged_table import MAX_PAGES, PAGE_ROWS, PagedTable
from tests.tui.conftest import settle

EVENTS = PAGE_ROWS * (MAX_PAGES + 3) + 17


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("long") / "long.duckdb"
    with Store(db) as store:
        session = store.begin_import("test", "dsl")
        session.add_event(ev(1, "run_created", data={"workflowName": "workflow//x//long"}))
        for n in range(2, EVENTS + 1):
            session.add_event(ev(n, "step_started", f"step_{n // 3:026d}", {"stepName": "s"}))
        session.finish()
    return db


@pytest.fixture
def long_store(long_db: Path) -> Iterator[Store]:
    with Store(long_db, read_only=True) as store:
        yield store


async def test_end_shows_the_last_event_and_memory_stays_bounded(long_store: Store) -> None:
    app = ForensicsApp(long_store, RUN)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#events-table", PagedTable)
        assert table.total == EVENTS
        await pilot.press("end")
        await settle(pilot)
        last = table.row_at(EVENTS - 1)
        assert last is not None
        assert (table.cursor_row, table.value(last, "pos")) == (EVENTS - 1, EVENTS)
        for page in range(MAX_PAGES + 3):
            table.move_cursor(page * PAGE_ROWS + 5)
            await settle(pilot)
            row = table.row_at(page * PAGE_ROWS + 5)
            assert row is not None and table.value(row, "pos") == page * PAGE_ROWS + 6
        assert len(table._state.pages) <= MAX_PAGES
