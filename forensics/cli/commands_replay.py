"""Replay commands: `import trace`, `replays`, `diff`, `fences` (thin: one library call each)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from forensics.cli import Context
from forensics.cli.commands_import import progress_bar, report
from forensics.cli.options import complete_runs, output_option, writable
from forensics.cli.render import emit, rows_as_dicts
from forensics.cli.replay_render import diff_text, grouped_table
from forensics.errors import InputError
from forensics.importers.trace import import_traces
from forensics.replay.checks import trace_holes
from forensics.replay.diff import diff, resolve
from forensics.replay.fences import fence_chain
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.views import (
    collapse_rows,
    diff_info,
    fence_rows,
    replay_rows,
    replay_summary,
    what_if_rows,
)
from forensics.replay.whatif import what_if
from forensics.store import Store
from forensics.store.runids import resolve_run

REPLAY_COLUMNS = [
    "group",
    "replay",
    "count",
    "source",
    "events",
    "digest",
    "tail",
    "outcome",
    "wrote",
    "mismatch",
    "holes",
    "at",
]
FENCE_COLUMNS = ["n", "event", "class", "writer", "fence", "chained_from", "verdict", "detail"]
WHAT_IF_COLUMNS = ["design", "rejects", "verdict"]
TABLE_FORMATS = click.Choice(["table", "json", "csv"])


def _run(store: Store, text: str) -> RunReplays:
    """The run's replays (a run known only from its traces resolves too)."""
    return run_replays(store.con, resolve_run(store, text))


def _emit_rows(columns: list[str], rows: list[dict[str, Any]], fmt: str) -> None:
    """JSON gets every field of the rows; CSV the table's columns."""
    keys = (list(rows[0]) if rows else columns) if fmt == "json" else columns
    emit(keys, [[r.get(k) for k in keys] for r in rows], fmt)


def register(cli: click.Group) -> None:
    import_group = cli.commands["import"]
    assert isinstance(import_group, click.Group)

    @import_group.command(name="trace")
    @click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
    @output_option
    @click.pass_obj
    def import_trace(obj: Context, files: tuple[Path, ...], fmt: str) -> None:
        """Import replay traces: WF_TRACE lines in raw text logs or JSON-lines log exports.

        FILES (.gz too) are read as one import, so a replay split across files is whole.
        The line may sit in a field such as `message`; the export's timestamp, stream or
        instance and request id are kept. Replays group by (run, stream, pid, inv).
        """
        with progress_bar("importing traces") as base, writable(obj.db) as store:
            summary = import_traces(store, files, base)
        report([summary], fmt)

    @cli.command()
    @click.argument("run", shell_complete=complete_runs)
    @click.option(
        "--source",
        type=click.Choice(["all", "trace", "reconstructed"]),
        default="all",
        show_default=True,
        help="Only traced or only reconstructed replays.",
    )
    @click.option("--each", is_flag=True,
                  help="One row per replay in the table (JSON and CSV have one each).")  # fmt: skip
    @click.option("--format", "fmt", type=TABLE_FORMATS, default="table", show_default=True)
    @click.pass_obj
    def replays(obj: Context, run: str, source: str, each: bool, fmt: str) -> None:
        """Every replay of RUN, grouped by the digest of the log it loaded.

        Traced replays are named by invocation (inv269), reconstructed ones r1, r2, … in
        commit order; `writes` are the events each one wrote, `holes` the events its list
        lacks that sort below its last one. The table shows replays that loaded one snapshot,
        wrote nothing and ended alike as one row with their count (--each: one row each).
        """
        with Store(obj.db, read_only=True) as store:
            rr = _run(store, run)
            rows = replay_rows(rr, trace_holes(rr))
        rows = [r for r in rows if source == "all" or r["source"] == source]
        if fmt == "table":
            shown = rows if each else collapse_rows(rows)
            columns = [c for c in REPLAY_COLUMNS if c != "count" or not each]
            grouped_table(replay_summary(rr), columns, shown, "group")
        else:
            _emit_rows([c for c in REPLAY_COLUMNS if c != "count"], rows, fmt)

    @cli.command(name="diff")
    @click.argument("run", shell_complete=complete_runs)
    @click.argument("a")
    @click.argument("b")
    @click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
    )
    @click.pass_obj
    def diff_command(obj: Context, run: str, a: str, b: str, fmt: str) -> None:
        """Compare two views of RUN's log and say what the difference did.

        A and B are replay ids (inv269, r3), digest prefixes (94e1262a), `log` (the final
        log) or `log@EVENT` (the log up to an event id, a unique end of one, or a position).
        Events are matched by correlation id, type and occurrence, not by line.
        """
        with Store(obj.db, read_only=True) as store:
            rr = _run(store, run)
            info = diff_info(rr, diff(resolve(rr, a), resolve(rr, b)))
        if fmt == "json":
            emit_json(info)
        else:
            diff_text(info)

    @cli.command()
    @click.argument("run", shell_complete=complete_runs)
    @click.option("--all", "every", is_flag=True, help="Every event, not only decision writes.")
    @click.option("--format", "fmt", type=TABLE_FORMATS, default="table", show_default=True)
    @click.pass_obj
    def fences(obj: Context, run: str, every: bool, fmt: str) -> None:
        """RUN's writes in commit order with their fences and verdicts, and a what-if per
        fence design.

        Verdicts: ok, fence-break, stuck-fence, stale-snapshot-write (symmetric or
        asymmetric), unfenced-decision-write. The table shows decision writes and flagged
        ones (--all: every event); CSV prints that chain only; JSON is
        {"chain": [every event], "what_if": [one row per design]}.
        """
        with Store(obj.db, read_only=True) as store:
            rr = _run(store, run)
            if not rr.log.events:
                raise InputError(
                    f"the store holds no events of {rr.log.run_id}, only traces of it",
                    hint="import the run's event log (forensics import json|dynamodb|postgres)",
                )
            chain = fence_chain(rr)
            rows = fence_rows(rr, chain)
            designs = what_if_rows(rr, what_if(rr, chain))
        shown = [r for r in rows if every or r["class"] == "replay-origin" or r["verdict"] != "ok"]
        if fmt == "json":
            emit_json(
                {
                    "run_id": rr.log.run_id,
                    "commit_order": rr.log.commit_basis,
                    "chain": rows_as_json(rows),
                    "what_if": designs,
                }
            )
        elif fmt == "csv":
            _emit_rows(FENCE_COLUMNS, shown, "csv")
        else:
            title = f"{rr.log.run_id}: writes in commit order ({rr.log.commit_basis})"
            grouped_table(title, FENCE_COLUMNS, shown, "")
            grouped_table("what each fence design would have done", WHAT_IF_COLUMNS, designs, "")


def rows_as_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = list(rows[0]) if rows else []
    return rows_as_dicts(keys, [[r[k] for k in keys] for r in rows])


def emit_json(value: Any) -> None:
    data = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    sys.stdout.write(data.decode() + "\n")
