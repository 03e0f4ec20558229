"""One SVG snapshot per screen state, at 80×24 (and one run at 160×45), on the samples.

Deterministic by construction: a fixed size, no clock in the header, every worker finished
before the picture (`settle`), cursors that do not blink, data from the bundled samples
only. Update with `pytest tests/tui --snapshot-update` after looking at the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from forensics.store import Store
from forensics.tui.app import ForensicsApp
from tests.tui.conftest import SIZE, settle

DRAIN = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"
Compare = Callable[..., bool]


def steps(*keys: str, sql: str | None = None) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Press `keys` (settling after each), then stop every cursor from blinking."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ForensicsApp)
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if sql is not None:
            app.open_sql(sql)
            await settle(pilot)
        for widget in [*app.screen.query(Input), *app.screen.query(TextArea)]:
            widget.cursor_blink = False
        await pilot.pause()

    return run_before


def shoot(
    snap_compare: Compare,
    store: Store,
    keys: Sequence[str] = (),
    *,
    run: str | None = None,
    size: tuple[int, int] = SIZE,
    **options: Any,
) -> bool:
    app = ForensicsApp(store, run)
    return snap_compare(app, terminal_size=size, run_before=steps(*keys, **options))


def test_runs(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store)


def test_runs_filtered(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["slash", "f", "a", "i", "l"])


def test_run_events(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["down", "down", "down"], run=DRAIN)


def test_run_events_wide(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["end"], run=DRAIN, size=(160, 45))


def test_run_lanes(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["l", "end"], run=DRAIN)


def test_run_findings(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["f"], run=DRAIN)


def test_replays(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["r", "end", "space"], run=DRAIN)


def test_diff(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["r", "end", "l"], run=DRAIN)


def test_fences(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["c", "n"], run=DRAIN)


def test_sql(snap_compare: Compare, demo_store: Store) -> None:
    sql = "SELECT status, count(*) AS runs FROM runs GROUP BY status ORDER BY status"
    assert shoot(snap_compare, demo_store, sql=sql)


def test_help(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["question_mark"], run=DRAIN)


def test_error(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, sql="SELECT nope FROM runs")


def test_command_prompt(snap_compare: Compare, demo_store: Store) -> None:
    assert shoot(snap_compare, demo_store, ["colon", "r", "u", "n", "space"])


@pytest.mark.parametrize("theme", ["textual-light"])
def test_run_events_light_theme(snap_compare: Compare, demo_store: Store, theme: str) -> None:
    app = ForensicsApp(demo_store, DRAIN)
    app.theme = theme
    assert snap_compare(app, terminal_size=SIZE, run_before=steps("down"))


def test_run_events_no_color(
    snap_compare: Compare, demo_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # Textual reads it when the app is made
    app = ForensicsApp(demo_store, DRAIN)
    assert app.no_color
    assert snap_compare(app, terminal_size=SIZE, run_before=steps("end"))
