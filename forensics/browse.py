"""Reading the store for people: runs, one run's events, exporting.

Every function takes an open store and returns plain rows, so the CLI, the TUI and reports
print the same thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forensics.errors import UsageError
from forensics.store import Store
from forensics.store.ingest import hex128_sql

Rows = tuple[list[str], list[tuple[Any, ...]]]

RUN_COLUMNS = (
    "run_id, workflow_name, status, error_code, spec_version, event_count, first_event_at,"
    " last_event_at, terminal_event, has_record"
)


def list_runs(
    store: Store,
    *,
    status: str | None = None,
    workflow: str | None = None,
    limit: int | None = None,
) -> Rows:
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if workflow:
        where.append("workflow_name LIKE ?")
        params.append(f"%{workflow}%")
    sql = f"SELECT {RUN_COLUMNS} FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY first_event_at NULLS LAST, run_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.query(sql, params)


def run_events(store: Store, run_id: str, *, full: bool = False) -> Rows:
    """One run's events in replay (eventId) order with decoded payloads."""
    cols = (
        "log_position AS pos, event_id, event_type, correlation_id,"
        " json_extract_string(event_data, '$.stepName') AS step_name, created_at, write_time,"
        " payload_format, payload_decoded AS payload"
    )
    if full:
        cols += (
            ", id_scheme, slot, id_time, occurred_at, spec_version, resume_id,"
            " fence_last_event_id, fence_state_updated_at, event_data, payload_field,"
            " conflict, source_kind, source_location, source_position, extra"
        )
    return store.query(
        f"SELECT {cols} FROM run_log WHERE run_id = ? ORDER BY log_position", [run_id]
    )


# Each exported table and how `--run` narrows it (None: nothing of it belongs to one run).
_OF_RUN = "run_id = $run"
_OF_RUN_REPLAYS = "replay_key IN (SELECT replay_key FROM trace_replays WHERE run_id = $run)"
EXPORT_TABLES: dict[str, str | None] = {
    "events": _OF_RUN,
    "runs": _OF_RUN,
    "run_records": _OF_RUN,
    "entities": _OF_RUN,
    "findings": _OF_RUN,
    "run_verdicts": _OF_RUN,
    "imports": "import_id IN (SELECT DISTINCT import_id FROM events WHERE run_id = $run)",
    "quarantine": None,
    "trace_replays": _OF_RUN,
    "trace_subscriptions": _OF_RUN_REPLAYS,
    "trace_mismatches": _OF_RUN_REPLAYS,
    "trace_snapshots": _OF_RUN,
    "trace_items": _OF_RUN,
}
EXPORT_FORMATS = {
    "parquet": "(FORMAT parquet, COMPRESSION zstd)",
    "csv": "(FORMAT csv, HEADER)",
    "json": "(FORMAT json)",
}


def _exportable(store: Store, table: str) -> str:
    """The select list of `table` for export: 128-bit integers (`content_hash`) as 32
    lower-case hex digits, as in the fleet layout, since Parquet, CSV readers and JSON
    numbers cannot hold them exactly (and DuckDB's decimal text of one costs about a
    millisecond: minutes at millions of events)."""
    _, wide = store.query(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?"
        " AND data_type IN ('HUGEINT', 'UHUGEINT') ORDER BY column_index",
        [table],
    )
    if not wide:
        return "*"
    casts = ", ".join(
        f"{hex128_sql(_quote(c)) if t == 'UHUGEINT' else f'CAST({_quote(c)} AS VARCHAR)'}"
        f" AS {_quote(c)}"
        for c, t in wide
    )
    return f"* REPLACE ({casts})"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_store(
    store: Store, out: Path, *, fmt: str = "parquet", run_id: str | None = None
) -> list[Path]:
    """Write each table (and the `runs` view) to `out/<table>.<fmt>`; optionally one run."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint="use parquet, csv or json")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table, of_run in EXPORT_TABLES.items():
        target = out / f"{table}.{fmt}"
        sql = f"SELECT {_exportable(store, table)} FROM {table}"
        params = None
        if run_id is not None:
            sql += f" WHERE {of_run}" if of_run else " WHERE false"
            params = {"run": run_id} if of_run else None
        quoted = str(target).replace("'", "''")
        store.query(f"COPY ({sql}) TO '{quoted}' {EXPORT_FORMATS[fmt]}", params)
        written.append(target)
    return written
