"""The Textual app: wires the screens together and owns the global keys and the store.

Screens do their own work; the app only opens them (`open_run`, `open_sql`, …), runs the
`:` command line, shows `?` help for whatever screen is on top and turns any error into a
modal. It holds the store and hands every worker a cursor of its own; with a `StoreReader`
the file is held only while the app is busy, and the app notices when a writer changed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import duckdb
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.worker import Worker, WorkerState

from forensics.errors import ForensicsError, UsageError
from forensics.store import Store
from forensics.store.opening import StoreReader
from forensics.tui.commands import Command, parse_command
from forensics.tui.handoff import Deliver, hand_over
from forensics.tui.palette import RunsProvider
from forensics.tui.screens.command import CommandScreen
from forensics.tui.screens.error import ErrorScreen
from forensics.tui.screens.help import HelpScreen, key_help

if TYPE_CHECKING:
    from forensics.tui.follow import Follower
    from forensics.watch.alerts import Alert
    from forensics.watch.loop import Pass

_NOTIFY_SEVERITY: dict[str, SeverityLevel] = {"error": "error", "warning": "warning"}


class ForensicsApp(App[None]):
    """`forensics open`: the runs list, then one run's views, replays, diff, fences, SQL."""

    TITLE = "forensics"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {RunsProvider}  # Ctrl+P: runs by id, workflow, status, error
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("colon", "command", "Command"),
        Binding("S", "sql", "SQL"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    CHANGE_POLL_S = 2.0

    def __init__(
        self,
        store: Store | StoreReader,
        run_id: str | None = None,
        follower: Follower | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.start_run = run_id
        self.follower = follower
        self.sub_title = store.path.name

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one worker (DuckDB connections are not shared by threads)."""
        cur = self.store.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def on_mount(self) -> None:
        from forensics.tui.screens.runs import RunsScreen

        self.push_screen(RunsScreen())
        if self.start_run:
            self.open_run(self.start_run)
        if isinstance(self.store, StoreReader):
            self.set_interval(self.CHANGE_POLL_S, self.notice_changes)
        if self.follower is not None:
            self.sub_title = f"{self.store.path.name} · {self.follower.header()}"
            self.run_worker(self._follow, thread=True, group="follow", exit_on_error=False)

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.stop.set()

    # -- following live sources (`forensics open --watch`) --------------------------------

    def _follow(self) -> None:
        assert self.follower is not None
        self.follower.run(_ToApp(self))

    def followed(self, location: str, done: Pass) -> None:
        """A pass ended: the header says when and the lag; lists show what it stored."""
        assert self.follower is not None
        self.sub_title = f"{self.store.path.name} · {self.follower.header()}"
        if not (done.stored or done.alerts or done.touched):
            return
        for screen in self.screen_stack:
            follow = getattr(screen, "follow", None)
            if callable(follow):
                follow(done.touched)

    def new_finding(self, alert: Alert) -> None:
        self.notify(
            f"{alert.run_id}: {alert.summary}",
            title=f"new finding: {alert.code}",
            severity=_NOTIFY_SEVERITY.get(alert.severity, "information"),
            timeout=10,
        )

    def source_failed(self, location: str, message: str, retry_in: float) -> None:
        assert self.follower is not None
        self.sub_title = f"{self.store.path.name} · {self.follower.header()}"
        self.notify(
            f"{message}; retrying in {retry_in:.0f} s from the saved cursor",
            title=f"lost {location}",
            severity="warning",
        )

    def source_back(self, location: str, away: float) -> None:
        self.notify(
            f"after {away:.0f} s; resumed from the saved cursor", title=f"{location} is back"
        )

    def notice_changes(self) -> None:
        """Say once when another command wrote the store; `R` reloads what is on screen."""
        reader = self.store
        if isinstance(reader, StoreReader) and reader.changed():
            reader.mark_seen()
            self.sub_title = f"{reader.path.name} · changed: R reloads"
            self.notify("The store changed (an import or a check wrote it): press R to reload.")

    def reloaded(self) -> None:
        """A screen reloaded: the title no longer says the store changed."""
        if isinstance(self.store, StoreReader):
            self.store.mark_seen()
        self.sub_title = self.store.path.name

    # -- opening screens ------------------------------------------------------------------

    def open_run(self, run_id: str, view: str = "events") -> None:
        from forensics.tui.screens.run import RunScreen

        self.push_screen(RunScreen(run_id, view=view))

    def open_sql(self, text: str | None = None, *, run_id: str | None = None) -> None:
        from forensics.tui.screens.sql import SqlScreen

        self.push_screen(SqlScreen(text, run_id=run_id or self.current_run()))

    def current_run(self) -> str | None:
        """The run the top screen is about, if any."""
        for screen in reversed(self.screen_stack):
            run_id = getattr(screen, "run_id", None)
            if isinstance(run_id, str):
                return run_id
        return None

    def show_error(self, error: BaseException) -> None:
        if isinstance(self.screen, ErrorScreen):
            return  # one modal at a time; the first error is the one to read
        self.push_screen(ErrorScreen(error))

    # -- global keys ----------------------------------------------------------------------

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        title = screen.__class__.__name__.removesuffix("Screen") or "forensics"
        about = str(getattr(screen, "HELP", ""))
        self.push_screen(HelpScreen(f"{title} — keys", about, key_help(screen)))

    def action_sql(self) -> None:
        self.open_sql()

    def action_command(self) -> None:
        self.push_screen(CommandScreen(), self._run_command)

    def _run_command(self, line: str | None) -> None:
        if not line or not line.strip():
            return
        try:
            self.dispatch(parse_command(line))
        except ForensicsError as exc:
            self.show_error(exc)

    def dispatch(self, command: Command) -> None:
        """Do what a parsed `:` command says."""
        from forensics.tui.screens.runs import RunsScreen

        name, args = command.name, command.args
        if name == "quit":
            self.exit()
        elif name == "help":
            self.action_help()
        elif name == "sql":
            self.open_sql(args[0] if args else None)
        elif name == "runs":
            while len(self.screen_stack) > 2 and not isinstance(self.screen, RunsScreen):
                self.pop_screen()
        elif name == "run":
            self.resolve_and_open(args[0])
        else:
            self.run_screen_command(command)

    def resolve_and_open(self, text: str) -> None:
        from forensics.store.runids import resolve_run
        from forensics.tui.data import CursorStore

        def resolve() -> None:
            reader = CursorStore(self.store)
            try:
                run_id = resolve_run(reader, text)
            finally:
                reader.close()
            hand_over(self, self.open_run, run_id)

        self.run_worker(resolve, thread=True, group="command", exit_on_error=False)

    def run_screen_command(self, command: Command) -> None:
        """`diff`, `replays`, `fences`: they act on the run the screen stack is about."""
        run_id = self.current_run()
        if run_id is None:
            hint = "open one first (Enter on a run, or :run ID)"
            self.show_error(UsageError(f"`{command.name}` needs a run", hint=hint))
            return
        from forensics.tui.screens.run import RunScreen

        top = self.screen
        target = top if isinstance(top, RunScreen) else None
        if target is None:
            self.open_run(run_id)
            self.call_after_refresh(self._forward, command)
        else:
            target.run_command(command)

    def _forward(self, command: Command) -> None:
        from forensics.tui.screens.run import RunScreen

        if isinstance(self.screen, RunScreen):
            self.screen.run_command(command)

    def on_deliver(self, message: Deliver) -> None:
        """A thread worker's result, posted by `hand_over`, applied here on the app's loop."""
        message.stop()
        message.call()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)


class _ToApp:
    """The follower's news, handed to the app's thread."""

    def __init__(self, app: ForensicsApp) -> None:
        self.app = app

    def passed(self, location: str, done: Pass) -> None:
        hand_over(self.app, self.app.followed, location, done)

    def alert(self, alert: Alert) -> None:
        hand_over(self.app, self.app.new_finding, alert)

    def failed(self, location: str, message: str, retry_in: float) -> None:
        hand_over(self.app, self.app.source_failed, location, message, retry_in)

    def back(self, location: str, away: float) -> None:
        hand_over(self.app, self.app.source_back, location, away)
