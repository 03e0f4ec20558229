"""`forensics report`: write a run's or the fleet's HTML report, or one figure as PNG/SVG."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from forensics.analysis.catalogue import all_codes
from forensics.analysis.engine import check
from forensics.cli import Context
from forensics.cli.options import SINCE, complete_runs, finding_filters, writable_store
from forensics.errors import StoreError, UsageError
from forensics.store import Store
from forensics.store.runids import resolve_run


def _check_args(
    run: str | None, fleet: bool, since: datetime | None, diff: tuple[str, str] | None
) -> None:
    if fleet and run:
        raise UsageError(
            "give a RUN or --fleet, not both", hint="forensics report --fleet -o x.html"
        )
    if not fleet and not run:
        raise UsageError(
            "which run?", hint="forensics report RUN -o run.html, or --fleet for every run"
        )
    if since and not fleet:
        raise UsageError("--since applies to --fleet", hint="forensics report --fleet --since DATE")
    if diff and fleet:
        raise UsageError("--diff compares two replays of one run", hint="give a RUN, not --fleet")


def _open(db: Path, *, analyse: bool) -> tuple[Store, bool]:
    """The store and whether it is writable: a run report brings the run's analysis up to
    date first; the fleet report, or a store another process is writing, is only read."""
    if not analyse:
        return Store(db, read_only=True), False
    try:
        return writable_store(db), True
    except StoreError:
        click.echo(
            "forensics: the store is busy, so the report shows the findings stored by the last"
            " `forensics check`",
            err=True,
        )
        return Store(db, read_only=True), False


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("run", required=False, shell_complete=complete_runs)
    @click.option(
        "-o",
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File to write: .html (default RUN.html or fleet.html), or .png/.svg with --figure.",
    )
    @click.option("--fleet", is_flag=True, help="Report on every run of the store instead.")
    @click.option(
        "--since",
        type=SINCE,
        help="With --fleet: only runs whose first event is at or after TIME (or 24h, 7d).",
    )
    @click.option(
        "--diff",
        nargs=2,
        metavar="A B",
        help="Add a section comparing replays A and B of the run (ids as `forensics replays`).",
    )
    @click.option("--figure", "figure", metavar="NAME", help="Write only this figure.")
    @finding_filters
    @click.pass_obj
    def report(
        obj: Context,
        run: str | None,
        out: Path | None,
        fleet: bool,
        since: datetime | None,
        diff: tuple[str, str] | None,
        figure: str | None,
        min_severity: str,
        codes: tuple[str, ...],
        exclude: tuple[str, ...],
    ) -> None:
        """Write a self-contained HTML report of RUN (or of the whole store with --fleet).

        The page opens offline (plotly.js is inlined) and is meant for the incident ticket.
        RUN is a run id or a unique part of one; its analysis is brought up to date first,
        so the findings shown are current (the fleet report shows what `check` stored).
        With --figure NAME and -o x.png or x.svg, write one figure as an image (needs a
        Chromium). Run figures: timeline, commit-order, replays, fences. Fleet figures:
        findings-over-time, runs-by-status, event-counts, workflow-anomalies,
        slowest-steps. The run report's finding cards are errors and warnings unless
        --min-severity, --code or --exclude-code say otherwise. Prints the path written.
        """
        _check_args(run, fleet, since, diff)
        unknown = [c for c in codes + exclude if c not in all_codes()]
        if unknown:
            raise UsageError(f"unknown detector code {', '.join(unknown)}",
                             hint="known codes: " + ", ".join(all_codes()))  # fmt: skip
        try:
            from forensics.report import (
                FindingFilter,
                figure_names,
                write_fleet_figure,
                write_fleet_report,
                write_run_figure,
                write_run_report,
            )
        except ImportError as exc:
            raise UsageError(
                f"reports need plotly ({exc.name} is missing)",
                hint="pip install 'forensics[report]'",
            ) from exc

        store, writable = _open(obj.db, analyse=not fleet)
        with store:
            run_id = None if fleet else resolve_run(store, str(run))
            if run_id is not None and writable:
                check(store, run_ids=[run_id])  # the report shows current findings
            target = out or Path(f"{run_id or 'fleet'}.html")
            if figure and figure not in figure_names(fleet=fleet):
                names = ", ".join(figure_names(fleet=fleet))
                raise UsageError(f"no figure {figure!r}", hint=f"choose one of: {names}")
            if fleet and figure:
                written = write_fleet_figure(store.con, figure, target, since=since)
            elif fleet:
                written = write_fleet_report(store.con, target, since=since, store_name=obj.db.name)
            elif figure:
                written = write_run_figure(store.con, str(run_id), figure, target)
            else:
                shown = FindingFilter(min_severity, codes, exclude)
                written = write_run_report(store.con, str(run_id), target, diff=diff, shown=shown)
        size = written.stat().st_size / 1e6
        click.echo(f"forensics: wrote {written} ({size:.1f} MB)", err=True)
        click.echo(str(written))
