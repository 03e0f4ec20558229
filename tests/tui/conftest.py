"""Fixtures of the TUI tests: the demo store built once, an app on it, and `settle`.

Every test drives the real app on the bundled samples with Pilot, headless and at a fixed
size. `settle` waits until no worker is running and their results are on screen, so no test
sleeps for a guessed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("textual", reason="the TUI needs Textual: pip install 'forensics[tui]'")

from textual.pilot import Pilot
from textual.worker import WorkerFailed

from forensics.analysis.engine import check
from forensics.demo import build_demo_store
from forensics.store import Store
from forensics.tui.app import ForensicsApp

SIZE = (80, 24)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop (Pilot needs one; no plugin required)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples imported into a store and checked, as `forensics demo` leaves it."""
    db = tmp_path_factory.mktemp("tui") / "demo.duckdb"
    store, _ = build_demo_store(db)
    with store:
        check(store)  # as `forensics demo` does: verdicts and findings stored
    return db


@pytest.fixture
def demo_store(demo_db: Path) -> Iterator[Store]:
    with Store(demo_db, read_only=True) as store:
        yield store


@pytest.fixture
def app(demo_store: Store) -> ForensicsApp:
    return ForensicsApp(demo_store)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until no worker runs and nothing on screen shows a loading indicator, twice.

    Twice in a row, because a screen pushed by the last key starts its workers only once
    it is mounted, a moment after the key was handled.
    """
    calm = 0
    for _ in range(200):
        await pilot.pause()
        # a failed worker is the app's to report (as the error snapshot shows)
        with contextlib.suppress(WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(worker.is_running for worker in pilot.app.workers) or any(
            widget.loading or getattr(widget, "busy", False)
            for widget in pilot.app.screen.query("*")
        )
        calm = 0 if busy else calm + 1
        if calm == 2:
            return
    raise AssertionError("the app did not settle: a worker or a loading indicator stayed")
