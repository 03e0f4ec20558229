"""What a Spark executor runs: the one-machine detectors on a group of suspect runs.

Each group's rows arrive as Arrow tables (events with their fleet columns; the other per-run
tables as JSON rows), go into an in-memory store, and `check` runs there exactly as on one
machine: its own sieve, every detector (the replay detectors too), explanations, verdicts.
Nothing here imports Spark: these are plain Arrow-in, Arrow-out functions, which Spark ships
to its Python workers with the installed package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Final

import orjson
import pyarrow as pa

from forensics.analysis.engine import check, verdict_without_findings
from forensics.analysis.rules_ids import facts_may_hit
from forensics.analysis.scan import Settings
from forensics.model import Finding
from forensics.store import Store
from forensics.store.ingest import from_hex128_sql

RESULT_SCHEMA: Final = pa.schema(
    [
        ("kind", pa.string()),  # "finding" or "verdict"
        ("run_id", pa.string()),
        ("finding_id", pa.string()),
        ("code", pa.string()),
        ("severity", pa.string()),
        ("correlation_id", pa.string()),
        ("event_ids", pa.list_(pa.string())),
        ("fatal_in", pa.list_(pa.string())),
        ("replay_message", pa.string()),
        ("evidence", pa.string()),
        ("explanation", pa.string()),
        ("verdict", pa.string()),
        ("reason", pa.string()),
    ]
)
FACTS_RESULT_SCHEMA: Final = pa.schema(
    [
        ("run_id", pa.string()),
        ("needs_events", pa.bool_()),
        ("verdict", pa.string()),
        ("reason", pa.string()),
    ]
)
# The per-run tables besides events, sent as JSON rows: (table, its columns' JSON types).
AUX_TABLES: Final = (
    "run_records",
    "entities",
    "trace_replays",
    "trace_items",
    "trace_snapshots",
    "trace_subscriptions",
    "trace_mismatches",
)
_FLEET_ONLY: Final = ("bucket", "chunk")


def facts_verdicts(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Per run (a `_fx_facts` row): whether its facts alone leave a finding possible (then
    its events go to the detectors), and its verdict should no detector find anything."""
    for batch in batches:
        rows = batch.to_pylist()
        out: dict[str, list[Any]] = {name: [] for name in FACTS_RESULT_SCHEMA.names}
        for f in rows:
            v = verdict_without_findings({**f, "fingerprint": ""})
            out["run_id"].append(f["run_id"])
            out["needs_events"].append(facts_may_hit(f))
            out["verdict"].append(v.verdict)
            out["reason"].append(v.reason)
        yield pa.RecordBatch.from_pydict(out, schema=FACTS_RESULT_SCHEMA)


def check_group(events: pa.Table, aux: pa.Table, settings: Settings) -> pa.Table:
    """Findings and verdicts of the runs in one group (`events`: their fleet rows; `aux`:
    `table`, `row` JSON of their other per-run rows), by `check` in an in-memory store."""
    os.environ.setdefault("FORENSICS_MEMORY_LIMIT", "1GB")
    with Store(":memory:") as store:
        _load(store, events, aux)
        result = check(store, settings=settings)
    rows = [_finding_row(f) for f in result.findings]
    rows += [_verdict_row(v.run_id, v.verdict, v.reason) for v in result.runs]
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)


def _load(store: Store, events: pa.Table, aux: pa.Table) -> None:
    con = store.con
    keep = [c for c in events.column_names if c not in _FLEET_ONLY]
    con.register("_fleet_events", events.select(keep))
    hashed = from_hex128_sql("content_hash")
    con.execute(
        f"INSERT INTO events BY NAME SELECT * REPLACE ({hashed} AS content_hash) FROM _fleet_events"
    )
    con.unregister("_fleet_events")
    if aux.num_rows == 0:
        return
    con.register("_fleet_aux", aux.select(["table", "row"]))
    for table in AUX_TABLES:
        structure = _structure(store, table)
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT unnest(json_transform(row, ?))"
            ' FROM _fleet_aux WHERE "table" = ?',
            [structure, table],
        )
    con.unregister("_fleet_aux")


def _structure(store: Store, table: str) -> str:
    """The `json_transform` structure of `table`'s columns (JSON columns read as text)."""
    _, cols = store.query(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?"
        " ORDER BY column_index",
        [table],
    )
    return orjson.dumps({c: "VARCHAR" if t == "JSON" else t for c, t in cols}).decode()


def _finding_row(f: Finding) -> dict[str, Any]:
    evidence = orjson.dumps(f.evidence, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    return {
        "kind": "finding",
        "run_id": f.run_id,
        "finding_id": f.finding_id,
        "code": f.code,
        "severity": f.severity,
        "correlation_id": f.correlation_id,
        "event_ids": list(f.event_ids),
        "fatal_in": list(f.fatal_in),
        "replay_message": f.replay_message,
        "evidence": evidence,
        "explanation": f.explanation,
    }


def _verdict_row(run_id: str, verdict: str, reason: str | None) -> dict[str, Any]:
    return {"kind": "verdict", "run_id": run_id, "verdict": verdict, "reason": reason}
