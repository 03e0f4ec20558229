"""Global keys: `:` commands, `?` help for the screen on top, errors in a modal, `q` quits."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from forensics.errors import UsageError
from forensics.store import Store
from forensics.tui.app import ForensicsApp
from forensics.tui.commands import Command, parse_command
from forensics.tui.screens.diff import DiffScreen
from forensics.tui.screens.error import ErrorScreen
from forensics.tui.screens.help import HelpScreen
from forensics.tui.screens.run import RunScreen
from forensics.tui.screens.runs import RunsScreen
from forensics.tui.screens.sql import SqlScreen
from forensics.tui.widgets.paged_table import PagedTable
from tests.tui.conftest import SIZE, settle

DRAIN = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"


def test_commands_parse_with_prefixes_and_say_what_is_known() -> None:
    assert parse_command("run 8C6") == Command("run", ("8C6",))
    assert parse_command(":r 8C6") == Command("run", ("8C6",))
    assert parse_command("d 92d3 log") == Command("diff", ("92d3", "log"))
    assert parse_command("sql select 1, 2") == Command("sql", ("select 1, 2",))
    assert parse_command("q") == Command("quit", ())
    with pytest.raises(UsageError, match="no command 'bogus'"):
        parse_command("bogus")
    with pytest.raises(UsageError, match="could be run, runs"):
        parse_command("ru")
    with pytest.raises(UsageError, match="`run` takes 1 argument"):
        parse_command("run")


async def type_command(pilot: object, app: ForensicsApp, line: str) -> None:
    await pilot.press("colon")  # type: ignore[attr-defined]
    app.screen.query_one(Input).value = line
    await pilot.press("enter")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def test_colon_run_opens_a_run_by_the_end_of_its_id(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_command(pilot, app, "run 8C6")
        assert isinstance(app.screen, RunScreen)
        assert app.screen.run_id == "wrun_01M7YP11YQM7RBMDNTRNMJQ8C6"
        await type_command(pilot, app, "runs")
        assert isinstance(app.screen, RunsScreen)


async def test_colon_errors_go_to_a_modal_with_what_to_try(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_command(pilot, app, "bogus")
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.message == "no command 'bogus'"
        assert app.screen.hint.startswith("commands: run ID, runs, diff A B")
        await pilot.press("escape")
        await type_command(pilot, app, "run nosuchrun")
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.message == "no run 'nosuchrun' in the store"
        await pilot.press("escape")
        await type_command(pilot, app, "fences")
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.message == "`fences` needs a run"


async def test_colon_diff_and_sql(demo_store: Store) -> None:
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_command(pilot, app, "diff log@9 log")
        assert isinstance(app.screen, DiffScreen)
        assert (app.screen.a, app.screen.b) == ("log@9", "log")
        await type_command(pilot, app, "sql select 6 * 7 as answer")
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        table = screen.query_one(PagedTable)
        assert [table.row_at(0)] == [(42,)]


async def test_question_mark_lists_the_keys_of_the_screen_on_top(app: ForensicsApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        keys = {(k.keys, k.description, k.scope) for k in help_screen.keys}
        assert ("/", "Filter", "screen") in keys
        assert ("s", "Sort", "screen") in keys
        assert ("? f1", "Help", "everywhere") in keys
        await pilot.press("escape", "enter")
        await settle(pilot)
        await pilot.press("question_mark")
        keys = {(k.keys, k.description) for k in app.screen.keys}  # type: ignore[attr-defined]
        assert ("l", "Lanes") in keys
        assert ("n", "Next error") in keys


async def test_q_goes_back_and_quits_from_the_runs_list_esc_does_not(demo_store: Store) -> None:
    app = ForensicsApp(demo_store, DRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("escape")  # never quits by accident
        assert app.is_running
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
