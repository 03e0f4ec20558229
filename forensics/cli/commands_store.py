"""Commands that read the store: runs, events, sql, queries, export."""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from forensics.browse import export_store, list_runs, run_events
from forensics.cli import Context
from forensics.cli.options import complete_runs, format_option, parse_pairs
from forensics.cli.render import emit, emit_stream
from forensics.errors import UsageError
from forensics.queries import load_queries, run_canned
from forensics.store import Store
from forensics.store.runids import resolve_run


def _note_unmatched(
    status: str | None, workflow: str | None, held: list[tuple[object, ...]]
) -> None:
    """Say why `runs` printed nothing: the status or workflow name no run has, and what the
    store does hold (the closest workflow names first)."""
    statuses = sorted({str(r[0]) for r in held if r[0] is not None})
    if status and status not in statuses:
        click.echo(
            f"forensics: note: no run has status {status!r};"
            f" statuses in the store: {', '.join(statuses) or 'none'}",
            err=True,
        )
        return
    names = sorted({str(r[1]) for r in held if r[1] is not None})
    if workflow and not any(workflow.lower() in n.lower() for n in names):
        close = (
            difflib.get_close_matches(workflow, names, n=3, cutoff=0.3)
            or [n for n in names if difflib.SequenceMatcher(None, workflow, n).ratio() > 0][:3]
        )
        said = f"; did you mean {' or '.join(close)}?" if close else ""
        click.echo(f"forensics: note: no workflow name contains {workflow!r}{said}", err=True)
    else:
        click.echo("forensics: note: no run matches both --status and --workflow", err=True)


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--status", help="Only runs with this status (completed, failed, …).")
    @click.option("--workflow", help="Only runs whose workflow name contains this text.")
    @click.option("--limit", type=click.IntRange(min=1), help="At most this many runs.")
    @format_option
    @click.pass_obj
    def runs(
        obj: Context, status: str | None, workflow: str | None, limit: int | None, fmt: str
    ) -> None:
        """List the runs in the store."""
        with Store(obj.db, read_only=True) as store:
            cols, rows = list_runs(store, status=status, workflow=workflow, limit=limit)
            unmatched = bool(status or workflow) and not rows
            # asked only when nothing matched: the runs view costs a pass over the log
            held = (
                store.query("SELECT DISTINCT status, workflow_name FROM runs")[1]
                if unmatched
                else []
            )
        emit(cols, rows, fmt)
        if unmatched:
            _note_unmatched(status, workflow, held)

    @cli.command()
    @click.argument("run", shell_complete=complete_runs)
    @click.option("--full", is_flag=True, help="Every column (provenance, ids, fences, metadata).")
    @format_option
    @click.pass_obj
    def events(obj: Context, run: str, full: bool, fmt: str) -> None:
        """One run's events in replay (eventId) order, payloads decoded.

        RUN is a run id or a unique part of one (its start or end).
        """
        with Store(obj.db, read_only=True) as store:
            cols, rows = run_events(store, resolve_run(store, run), full=full)
        emit(cols, rows, fmt, max_width=60)

    @cli.command()
    @click.argument("statement", required=False)
    @click.option("--query", "-q", "name", help="Run the canned query NAME instead.")
    @click.option(
        "--param",
        "-p",
        "params",
        multiple=True,
        metavar="NAME=VALUE",
        help="A canned query's parameter (repeatable).",
    )
    @click.option(
        "--allow-files",
        is_flag=True,
        help="Let the statement read and write files (COPY … TO, read_csv, ATTACH).",
    )
    @format_option
    @click.pass_obj
    def sql(
        obj: Context,
        statement: str | None,
        name: str | None,
        params: tuple[str, ...],
        allow_files: bool,
        fmt: str,
    ) -> None:
        """Run SQL over the store (read-only), or a canned query with --query.

        Tables: events, run_log (one copy per event, in log order), runs, run_records,
        entities, imports, import_marks, quarantine, findings, run_verdicts,
        event_conflicts, and the trace_* tables of replays. Statements cannot touch files,
        the network or extensions unless --allow-files is given.
        """
        if (statement is None) == (name is None):
            raise UsageError(
                "give either a SQL statement or --query NAME",
                hint='forensics sql "select count(*) from events"',
            )
        if statement is not None and not statement.strip():
            raise UsageError(
                "the SQL statement is empty",
                hint='forensics sql "select count(*) from events"',
            )
        with Store(obj.db, read_only=True) as store:
            if not allow_files:
                store.sandbox()
            if name is not None:
                cols, rows = run_canned(store, name, parse_pairs(params, "--param"))
                emit(cols, rows, fmt)
            else:  # any size: printed as it is read
                cols, batches = store.stream(str(statement))
                emit_stream(cols, batches, fmt)

    @cli.command()
    @format_option
    def queries(fmt: str) -> None:
        """List the canned queries and their parameters."""
        rows = [
            (
                q.name,
                q.title,
                ", ".join(p.name + ("" if p.required else f"={p.default}") for p in q.params),
                q.description,
            )
            for q in load_queries().values()
        ]
        emit(["name", "title", "params", "description"], rows, fmt, max_width=70)

    @cli.command()
    @click.argument("out", type=click.Path(file_okay=False, path_type=Path))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["parquet", "csv", "json"]),
        default="parquet",
        show_default=True,
    )
    @click.option("--run", "run", help="Only this run.", shell_complete=complete_runs)
    @click.option(
        "--layout",
        type=click.Choice(["tables", "fleet"]),
        default="tables",
        show_default=True,
        help="tables: OUT/<table>.<format>; fleet: Parquet partitioned by run-id bucket,"
        " for `check --engine spark --from OUT`.",
    )
    @click.option(
        "--buckets",
        type=click.IntRange(min=1, max=4096),
        help="Fleet layout: the number of run-id buckets (default: about 1M events each).",
    )
    @click.option("--overwrite", is_flag=True, help="Fleet layout: replace a fleet in OUT.")
    @click.pass_obj
    def export(
        obj: Context,
        out: Path,
        fmt: str,
        run: str | None,
        layout: str,
        buckets: int | None,
        overwrite: bool,
    ) -> None:
        """Export the store's tables to OUT/<table>.<format> (Parquet by default), or with
        --layout fleet to the fleet layout (see README, "Fleets on Apache Spark")."""
        if layout == "fleet":
            _export_fleet(obj, out, fmt, run, buckets, overwrite)
            return
        if buckets is not None or overwrite:
            raise UsageError("--buckets and --overwrite go with --layout fleet")
        with Store(obj.db, read_only=True) as store:
            run_id = resolve_run(store, run) if run else None
            written = export_store(store, out, fmt=fmt, run_id=run_id)
        for path in written:
            click.echo(str(path))


def _export_fleet(
    obj: Context, out: Path, fmt: str, run: str | None, buckets: int | None, overwrite: bool
) -> None:
    from forensics.fleet.layout import export_fleet

    if fmt != "parquet" or run is not None:
        raise UsageError(
            "the fleet layout is Parquet of the whole store",
            hint="drop --format/--run, or use --layout tables",
        )
    with Store(obj.db, read_only=True) as store:
        manifest = export_fleet(store, out, buckets=buckets, overwrite=overwrite)
    tables = ", ".join(f"{t} {n}" for t, n in manifest.tables.items() if n)
    click.echo(str(out))
    click.echo(
        f"forensics: fleet layout, {manifest.buckets} buckets: {tables or 'no rows'}", err=True
    )
