"""`forensics open [RUN]`: the terminal UI on the store, optionally straight into one run."""

from __future__ import annotations

from pathlib import Path

import click

from forensics.cli import Context
from forensics.cli.options import complete_runs, writable_store
from forensics.errors import UsageError
from forensics.store import Store
from forensics.store.opening import StoreReader


def open_tui(
    db: Path,
    run: str | None,
    *,
    check_first: bool = False,
    watch: tuple[str, ...] = (),
    interval: float = 2.0,
) -> None:
    """Show the TUI on the store (read-only) until the user quits.

    With `check_first`, bring the stored findings up to date first (that needs the store
    for writing, briefly). The TUI itself holds the store only while a query runs, so
    imports, checks and other viewers can use it while the TUI is open.
    """
    try:
        from forensics.tui import run_tui
    except ImportError as exc:
        raise UsageError(
            f"the terminal UI needs Textual ({exc.name or exc} is missing)",
            hint="pip install 'forensics[tui]'",
        ) from exc
    from forensics.store.runids import resolve_run

    if watch:
        _open_following(db, run, watch, interval)
        return
    if check_first:
        from forensics.analysis.engine import check

        with writable_store(db) as store:
            check(store)
    with Store(db, read_only=True) as store:
        run_id = resolve_run(store, run) if run else None
    run_tui(StoreReader(db), run_id)


def _open_following(db: Path, run: str | None, specs: tuple[str, ...], interval: float) -> None:
    """The TUI while `specs` are watched into the store (held for writing meanwhile)."""
    from forensics.cli.commands_watch import source_of
    from forensics.store.runids import resolve_run
    from forensics.tui import follow_tui

    sources = [source_of(spec) for spec in specs]
    try:
        with writable_store(db) as store:
            run_id = resolve_run(store, run) if run else None
            if not follow_tui(store, sources, run_id, interval):
                click.echo(
                    "forensics open: the watch's last pass did not end within a minute; the"
                    " next import completes what it stored",
                    err=True,
                )
    finally:
        for source in sources:
            source.close()


def register(cli: click.Group) -> None:
    @cli.command("open")
    @click.argument("run", required=False, shell_complete=complete_runs)
    @click.option(
        "--check",
        "check_first",
        is_flag=True,
        help="Bring verdicts and findings up to date first (what `forensics check` does).",
    )
    @click.option(
        "--watch",
        "watch",
        multiple=True,
        metavar="SOURCE",
        help="Follow a live source while browsing (repeatable): dir:PATH, trace:FILE,"
        " postgres:DSN, dynamodb:TABLE[@ENDPOINT]. New runs, events and findings appear as"
        " they land; the store is held for writing meanwhile.",
    )
    @click.option(
        "--interval",
        default="2s",
        show_default=True,
        metavar="DURATION",
        help="With --watch: time between passes.",
    )
    @click.pass_obj
    def open_(
        obj: Context, run: str | None, check_first: bool, watch: tuple[str, ...], interval: str
    ) -> None:
        """Browse the store in a terminal UI: runs, events, findings, replays, fences, SQL.

        RUN opens one run straight away (a full id, or a unique start or end of one).
        Findings are the ones `forensics check` stored; --check updates them first.
        Keys: ? help, : command, / filter, Enter open, Esc or q back, Ctrl+Q quit.
        With --watch, the header shows each pass's time and lag, new findings are
        announced, and lists stay where you are unless you are at their last row.
        """
        from forensics.timespec import parse_duration

        seconds = parse_duration(interval, "--interval").total_seconds()
        if seconds <= 0:
            raise click.BadParameter("must be more than 0", param_hint="--interval")
        open_tui(obj.db, run, check_first=check_first, watch=watch, interval=seconds)
