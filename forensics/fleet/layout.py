"""The fleet layout: a store's tables as Parquet, every run's rows in one hash bucket.

    DIR/_forensics_fleet.json               the manifest (layout version, bucket count, tables)
    DIR/<table>/bucket=<b>/<file>.parquet   per-run tables, hive-partitioned by `bucket`
    DIR/<table>/<file>.parquet              tables that belong to no run (imports, quarantine)

`bucket` is the first 8 hex digits of md5(run_id) read as an unsigned number, modulo the
bucket count: DuckDB, Spark and Python (`bucket_of`) compute the same value, so a reader
can find a run's bucket without the manifest. The columns are the store's, with the 128-bit
`content_hash` as 32 hex digits and JSON columns as text; the README documents them as a
public interface. `forensics export --layout fleet` writes it from a store and
`forensics convert --engine spark` writes it from raw exports.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from forensics.errors import InputError, UsageError
from forensics.store import Store
from forensics.store.ingest import hex128_sql

LAYOUT: Final = "forensics-fleet"
LAYOUT_VERSION: Final = 1
MANIFEST: Final = "_forensics_fleet.json"
EVENTS_PER_BUCKET: Final = 1_000_000
"""The default bucket count aims at this many events per bucket (a Spark task's worth)."""
MAX_BUCKETS: Final = 4096

# Per-run tables and how their rows find their run id (`r` is the table itself).
RUN_TABLES: Final = {
    "events": "r.run_id",
    "run_records": "r.run_id",
    "entities": "r.run_id",
    "trace_replays": "r.run_id",
    "trace_items": "r.run_id",
    "trace_snapshots": "r.run_id",
    "trace_subscriptions": (
        "(SELECT t.run_id FROM trace_replays t WHERE t.replay_key = r.replay_key)"
    ),
    "trace_mismatches": "(SELECT t.run_id FROM trace_replays t WHERE t.replay_key = r.replay_key)",
}
OTHER_TABLES: Final = ("imports", "quarantine")


SCAN_PER_BUCKET = 16  # up to this many buckets with rows, a table is written bucket by bucket


def bucket_sql(column: str, buckets: int, engine: str = "duckdb") -> str:
    """SQL for the bucket of the run id in `column` (DuckDB or Spark)."""
    head = f"left(md5({column}), 8)"
    if engine == "spark":
        return f"CAST(pmod(CAST(conv({head}, 16, 10) AS BIGINT), {int(buckets)}) AS INT)"
    return f"CAST(('0x' || {head})::UBIGINT % {int(buckets)} AS INTEGER)"


def bucket_of(run_id: str, buckets: int) -> int:
    """The bucket of one run id (as `bucket_sql` computes it)."""
    return int(hashlib.md5(run_id.encode("utf-8")).hexdigest()[:8], 16) % buckets


def default_buckets(events: int) -> int:
    """A power of two giving about `EVENTS_PER_BUCKET` events per bucket (1 to 4096)."""
    want = max(1, math.ceil(events / EVENTS_PER_BUCKET))
    return min(MAX_BUCKETS, 1 << (want - 1).bit_length())


@dataclass(frozen=True)
class Manifest:
    buckets: int
    tables: dict[str, int]
    source: str
    written_at: str

    def to_json(self) -> bytes:
        doc = {
            "layout": LAYOUT,
            "version": LAYOUT_VERSION,
            "bucket_of": "md5(run_id) first 8 hex digits, as unsigned, mod buckets",
            "buckets": self.buckets,
            "tables": self.tables,
            "source": self.source,
            "written_at": self.written_at,
        }
        return json.dumps(doc, indent=2).encode("utf-8") + b"\n"


def read_manifest(text: str, where: str) -> Manifest:
    """The manifest in `text` (read from `where`), checked."""
    try:
        doc: dict[str, Any] = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{where} is not JSON: {exc}", hint="re-export the fleet") from exc
    if doc.get("layout") != LAYOUT or doc.get("version") != LAYOUT_VERSION:
        raise InputError(
            f"{where} describes layout {doc.get('layout')!r} version {doc.get('version')!r},"
            f" not {LAYOUT} version {LAYOUT_VERSION}",
            hint="re-export it with this version: `forensics export --layout fleet DIR`",
        )
    return Manifest(int(doc["buckets"]), dict(doc["tables"]), str(doc["source"]), doc["written_at"])


def fleet_columns(store: Store, table: str) -> str:
    """The select list of `table`: 128-bit hashes as hex text, JSON as text."""
    _, rows = store.query(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?"
        " ORDER BY column_index",
        [table],
    )
    out = []
    for name, kind in rows:
        if kind == "UHUGEINT":
            out.append(f'{hex128_sql(f"r.{name}")} AS "{name}"')
        elif kind in ("HUGEINT", "JSON"):
            out.append(f'CAST(r."{name}" AS VARCHAR) AS "{name}"')
        else:
            out.append(f'r."{name}"')
    return ", ".join(out)


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder", hint="name a folder for the fleet")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise UsageError(
                f"{out} is not empty",
                hint="name an empty or new folder, or pass --overwrite to replace a fleet there",
            )
        if not (out / MANIFEST).is_file():
            raise UsageError(
                f"{out} holds files but no {MANIFEST}: --overwrite replaces fleets only",
                hint="name an empty or new folder",
            )
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)


def export_fleet(
    store: Store, out: Path, *, buckets: int | None = None, overwrite: bool = False
) -> Manifest:
    """Write the store's tables in the fleet layout under `out`; returns the manifest."""
    if buckets is not None and not 1 <= buckets <= MAX_BUCKETS:
        raise UsageError(f"--buckets must be 1 to {MAX_BUCKETS}, not {buckets}")
    _prepare(out, overwrite)
    n_events = int(store.query("SELECT count(*) FROM events")[1][0][0])
    buckets = buckets or default_buckets(n_events)
    counts: dict[str, int] = {}
    for table, run_of in RUN_TABLES.items():
        counts[table] = _write(store, table, out, run_of, buckets)
    for table in OTHER_TABLES:
        counts[table] = _write(store, table, out, None, buckets)
    manifest = Manifest(buckets, counts, str(store.path), datetime.now(UTC).isoformat())
    (out / MANIFEST).write_bytes(manifest.to_json())
    return manifest


def _write(store: Store, table: str, out: Path, run_of: str | None, buckets: int) -> int:
    """One table under `out/<table>/`; an empty per-run table is one empty file in bucket 0,
    so readers find the table and its columns."""
    target = out / table
    cols = fleet_columns(store, table)
    n = int(store.query(f"SELECT count(*) FROM {table}")[1][0][0])
    if run_of is None or n == 0:
        folder = target / "bucket=0" if run_of is not None else target
        folder.mkdir(parents=True)
        path = _quoted(folder / "part-0.parquet")
        store.query(f"COPY (SELECT {cols} FROM {table} r) TO {path} (FORMAT parquet)")
        return n
    bucket = bucket_sql(run_of, buckets)
    held = [int(b) for (b,) in store.query(f"SELECT DISTINCT {bucket} FROM {table} r")[1]]
    if len(held) > SCAN_PER_BUCKET:
        sql = f"SELECT {cols}, {bucket} AS bucket FROM {table} r"
        store.query(
            f"COPY ({sql}) TO {_quoted(target)}"
            " (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (bucket), ROW_GROUP_SIZE 122880)"
        )
        return n
    # a few buckets: one plain write each (DuckDB's partitioned write took 4 times as long)
    for b in sorted(held):
        folder = target / f"bucket={b}"
        folder.mkdir(parents=True)
        store.query(
            f"COPY (SELECT {cols} FROM {table} r WHERE {bucket} = {b})"
            f" TO {_quoted(folder / 'part-0.parquet')}"
            " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
        )
    return n


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
