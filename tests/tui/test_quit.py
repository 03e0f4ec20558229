"""Quitting while a thread worker still reads the store ends the app: the worker's late result
is handed over by message and dropped, not waited on (which used to hang the quit)."""

from __future__ import annotations

import asyncio
import threading

from forensics.tui.app import ForensicsApp
from forensics.tui.handoff import hand_over
from tests.tui.conftest import SIZE


async def test_a_result_arriving_after_quit_does_not_hold_the_app(app: ForensicsApp) -> None:
    release = threading.Event()
    returned = threading.Event()
    shown: list[str] = []

    def late_reader() -> None:
        release.wait(10)  # the store read that is still running when the user quits
        hand_over(app, shown.append, "late result")
        returned.set()

    async def session() -> None:
        async with app.run_test(size=SIZE) as pilot:
            app.run_worker(late_reader, thread=True, exit_on_error=False)
            await pilot.pause()
            threading.Timer(0.3, release.set).start()  # the read ends while the app shuts down
            await pilot.press("q")

    await asyncio.wait_for(session(), timeout=20)
    assert returned.wait(5), "the worker never returned from handing over its result"
    assert shown == []  # nobody was left to show it
