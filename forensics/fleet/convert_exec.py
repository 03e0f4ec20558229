"""What Spark's executors run for `convert --engine spark`: raw export lines into fleet rows.

Two steps, both plain Arrow-in, Arrow-out functions (nothing here imports Spark):

1. `read_files`: each task reads whole files (gzip or not, any filesystem PyArrow opens)
   and emits every non-blank line with its file, line number, run id and bucket. The run id
   is read without decoding the record, so a run's lines can meet before they are imported.
2. `convert_partition`: the lines of a partition arrive sorted by bucket, run, file and line;
   whole runs are gathered into chunks of about `Job.chunk` lines, and each chunk is imported
   by the one-machine importer's own line function into an in-memory store (decoding,
   duplicates, conflicts, quarantine as on one machine). The chunk's rows are then written
   as Parquet into the fleet folder (`<table>/bucket=<b>/`, quarantine in `quarantine/`),
   and the task returns only counts.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from forensics.fleet.layout import bucket_of, fleet_columns
from forensics.importers.base import ImportOptions
from forensics.model import QuarantineRecord
from forensics.store import ImportSession, Store

FORMATS: Final = ("dynamodb-json", "jsonl", "postgres-csv")
LINE_SCHEMA: Final = pa.schema(
    [
        ("run", pa.string()),
        ("bucket", pa.int32()),
        ("location", pa.string()),
        ("number", pa.int64()),
        ("line", pa.binary()),
    ]
)
COUNTS: Final = ("read", "stored", "duplicates", "quarantined", "conflicts", "files")
COUNT_SCHEMA: Final = pa.schema([(name, pa.int64()) for name in COUNTS])
_BATCH: Final = 10_000
_WRITTEN: Final = ("events", "run_records", "entities")


@dataclass(frozen=True)
class Job:
    """What every task of one conversion needs to know (shipped to the executors)."""

    fmt: str
    out: str  # the fleet folder, as a URI or an absolute local path
    buckets: int
    preset: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    key: bytes | None = None
    chunk: int = 50_000
    source: str = ""


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The PyArrow filesystem and path of `uri` (a local path, file:, s3:, s3a:, gs:, hdfs:)."""
    if "://" not in uri and not uri.startswith("file:"):
        return pafs.LocalFileSystem(), os.path.abspath(uri)
    if uri.startswith("file:") and not uri.startswith("file://"):
        uri = "file://" + uri[len("file:") :]
    if uri.startswith(("s3a://", "s3n://")):
        uri = "s3://" + uri.split("://", 1)[1]
    system, path = pafs.FileSystem.from_uri(uri)
    return system, str(path)


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def _run_reader(job: Job) -> Callable[[bytes], str | None]:
    if job.fmt == "dynamodb-json":
        from forensics.importers.dynamodb_json import export_line_run
        from forensics.importers.mapping import resolve_mapping

        mapping = resolve_mapping(job.preset, job.overrides)
        return lambda line: export_line_run(line, mapping)
    from forensics.importers.jsonl import line_run

    return line_run


def _lines(location: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, stripped line) of every non-blank line of a file, gzip or not."""
    system, path = filesystem(location)
    compression = "gzip" if location.endswith(".gz") else None
    with system.open_input_stream(path, compression=compression) as raw:
        for number, line in enumerate(io.BufferedReader(raw, 1 << 20), start=1):
            stripped = line.strip()
            if stripped:
                yield number, stripped


def _csv_records(location: str) -> Iterator[tuple[int, bytes, str | None]]:
    """(line, `[table, {column: value}]` as JSON, run id) of every record of a world-postgres
    table's CSV export; a file that stops being CSV ends in a record naming why."""
    from forensics.importers.postgres.csv_tables import (
        CsvError,
        csv_rows,
        open_text,
        run_column,
        table_of,
    )

    table = str(table_of(location))
    column = run_column(table)
    system, path = filesystem(location)
    compression = "gzip" if location.endswith(".gz") else None
    with system.open_input_stream(path, compression=compression) as raw:
        text = open_text(io.BufferedReader(raw, 1 << 20))
        number = 1
        try:
            for number, row in csv_rows(text):
                yield number, orjson.dumps([table, row]), row.get(column)
        except (CsvError, UnicodeDecodeError) as exc:
            yield number + 1, orjson.dumps([table, {"\0": f"not CSV: {exc}"}]), None


def _records(location: str, job: Job) -> Iterator[tuple[int, bytes, str | None]]:
    """(line number, line, run id) of every record of a file."""
    if job.fmt == "postgres-csv":
        yield from _csv_records(location)
        return
    run_of = _run_reader(job)
    for number, line in _lines(location):
        yield number, line, run_of(line)


def read_files(batches: Iterator[pa.RecordBatch], job: Job) -> Iterator[pa.RecordBatch]:
    """Every non-blank line (every CSV record) of the files named in `batches` (column
    `path`), with its run id (NULL when it names none: it is quarantined later) and bucket."""
    for batch in batches:
        for location in batch.column("path").to_pylist():
            out: dict[str, list[Any]] = {name: [] for name in LINE_SCHEMA.names}
            for number, line, run in _records(location, job):
                out["run"].append(run)
                out["bucket"].append(bucket_of(run if run is not None else location, job.buckets))
                out["location"].append(location)
                out["number"].append(number)
                out["line"].append(line)
                if len(out["line"]) >= _BATCH:
                    yield pa.RecordBatch.from_pydict(out, schema=LINE_SCHEMA)
                    out = {name: [] for name in LINE_SCHEMA.names}
            if out["line"]:
                yield pa.RecordBatch.from_pydict(out, schema=LINE_SCHEMA)


def convert_partition(batches: Iterator[pa.RecordBatch], job: Job) -> Iterator[pa.RecordBatch]:
    """Import the partition's lines (sorted by bucket, run, file, line) chunk by chunk, whole
    runs at a time, write each chunk's fleet rows, and yield the partition's counts."""
    from pyspark import TaskContext  # only inside a Spark task: names the files it writes

    # A retried task sees the same sorted lines, so it cuts the same chunks and writes the
    # same file names: its files replace the failed attempt's instead of adding to them.
    context = TaskContext.get()
    task = f"{context.partitionId():05d}" if context else "00000"
    totals = dict.fromkeys(COUNTS, 0)
    pending: list[tuple[str, int, bytes]] = []
    bucket, run, seq = -1, None, 0
    for batch in batches:
        cols = batch.to_pydict()
        for b, r, loc, n, line in zip(
            cols["bucket"], cols["run"], cols["location"], cols["number"], cols["line"],
            strict=True,
        ):  # fmt: skip
            if pending and (b != bucket or (r != run and len(pending) >= job.chunk)):
                _add(totals, convert_chunk(pending, bucket, f"{task}-{seq:05d}", job))
                pending, seq = [], seq + 1
            bucket, run = b, r
            pending.append((loc, n, line))
    if pending:
        _add(totals, convert_chunk(pending, bucket, f"{task}-{seq:05d}", job))
    yield pa.RecordBatch.from_pydict({k: [v] for k, v in totals.items()}, schema=COUNT_SCHEMA)


def _add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for name, value in counts.items():
        totals[name] += value


def convert_chunk(
    lines: list[tuple[str, int, bytes]], bucket: int, name: str, job: Job
) -> dict[str, int]:
    """Import `lines` (whole runs of one bucket) in an in-memory store; write its rows."""
    os.environ.setdefault("FORENSICS_MEMORY_LIMIT", "1GB")
    with Store(":memory:") as store:
        with store.begin_import(job.fmt, job.source) as session:
            if job.fmt == "postgres-csv":
                _store_tables(lines, job, session)
            else:
                feed = _feeder(job, session)
                for location, number, line in lines:
                    feed(line, location, number)
            summary = session.finish()
        files = 0
        for table in (*_WRITTEN, "quarantine"):
            rows = store.con.sql(
                f"SELECT {fleet_columns(store, table)} FROM {table} r"
            ).to_arrow_table()
            if rows.num_rows:
                where = "quarantine" if table == "quarantine" else f"{table}/bucket={bucket}"
                write_table(rows, join(job.out, where, f"part-{name}.parquet"))
                files += 1
    return {
        "read": summary.read,
        "stored": summary.stored,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined,
        "conflicts": summary.conflicts,
        "files": files,
    }


def _store_tables(lines: list[tuple[str, int, bytes]], job: Job, session: ImportSession) -> None:
    """A chunk of world-postgres CSV records, stored by the PostgreSQL importer's functions."""
    from forensics.importers.postgres.csv_tables import TableImport

    rows = []
    for location, number, line in lines:
        table, row = orjson.loads(line)
        rows.append((table, (location, number, row)))
    TableImport(session, job.key).store(rows)


def _feeder(job: Job, session: ImportSession) -> Callable[[bytes, str, int], None]:
    """The one-machine importer's line function for the job's format, bound to `session`."""
    options = ImportOptions(key=job.key, mapping=job.overrides, preset=job.preset)
    if job.fmt == "dynamodb-json":
        from forensics.importers.dynamodb_json import import_export_line
        from forensics.importers.mapping import resolve_mapping

        mapping = resolve_mapping(job.preset, job.overrides)

        def dynamodb(line: bytes, location: str, number: int) -> None:
            import_export_line(line, location, number, mapping, session, options)

        return dynamodb
    from forensics.importers.jsonl import line_event

    def jsonl(line: bytes, location: str, number: int) -> None:
        parsed = line_event(line, location, number, options)
        if isinstance(parsed, QuarantineRecord):
            session.quarantine(parsed)
        else:
            session.add_event(parsed[1])

    return jsonl


def write_table(rows: pa.Table, uri: str) -> None:
    """One Parquet file at `uri` (its folder made when the filesystem has folders)."""
    system, path = filesystem(uri)
    system.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pq.write_table(rows, path, filesystem=system, compression="zstd", row_group_size=122_880)
