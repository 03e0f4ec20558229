"""`forensics convert --engine spark`: raw exports into the fleet layout, inside Spark.

The driver lists the input files (a count of files, never of runs), picks the format
(DynamoDB export-to-S3 data files in `DYNAMODB_JSON`, JSON Lines of SDK-shaped events, or
world-postgres tables exported as CSV with a header, one file or more per table)
and the bucket count, then two Spark stages do the work in the executors
(`convert_exec`): one reads the files line by line, the other, after a shuffle by bucket,
imports whole runs with the one-machine importers and writes the fleet's Parquet. The
driver then writes the tables no row reached (one empty file each, as `export` does), the
`imports` row and the manifest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import orjson
from pyarrow import fs as pafs

from forensics.errors import InputError, UsageError
from forensics.fleet.convert_exec import (
    COUNT_SCHEMA,
    COUNTS,
    LINE_SCHEMA,
    Job,
    convert_partition,
    filesystem,
    join,
    read_files,
    write_table,
)
from forensics.fleet.layout import (
    EVENTS_PER_BUCKET,
    MANIFEST,
    MAX_BUCKETS,
    OTHER_TABLES,
    RUN_TABLES,
    Manifest,
    fleet_columns,
)
from forensics.fleet.session import cores
from forensics.store import Store

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_DYNAMODB_MANIFESTS: Final = ("manifest-summary.json", "manifest-files.json")
# Bytes of input per event, to choose a bucket count without reading the data twice:
# DynamoDB JSON and event JSON lines run about 1 KB an event, gzip shrinks them about 6x.
_BYTES_PER_EVENT: Final = {"gz": 170, "plain": 1000}


@dataclass(frozen=True)
class Converted:
    """What a conversion wrote and counted."""

    out: str
    fmt: str
    files: int
    buckets: int
    counts: dict[str, int]
    notes: tuple[str, ...]


def run_convert(
    spark: SparkSession,
    sources: list[str],
    out: str,
    *,
    fmt: str | None = None,
    buckets: int | None = None,
    overwrite: bool = False,
    job: Job | None = None,
) -> Converted:
    """Convert the files under `sources` into a fleet at `out`."""
    if buckets is not None and not 1 <= buckets <= MAX_BUCKETS:
        raise UsageError(f"--buckets must be 1 to {MAX_BUCKETS}, not {buckets}")
    sizes = _list(sources)
    files, notes = list(sizes), []
    fmt = fmt or _detect(files)
    notes += _dynamodb_notes(sources) if fmt == "dynamodb-json" else []
    if fmt == "postgres-csv":
        notes += [f"{f}: not a world-postgres table's CSV export, skipped"
                  for f in _data_files(files, "any") if _table(f) is None]  # fmt: skip
    files = _data_files(files, fmt)
    if not files:
        raise InputError(
            f"{', '.join(sources)}: no data files", hint="name export files or folders"
        )
    buckets = buckets or _buckets(files, sizes)
    job = replace(job or Job(fmt, out, buckets), fmt=fmt, out=out, buckets=buckets,
                  source=", ".join(sources))  # fmt: skip
    if fmt == "dynamodb-json" and job.preset is None:
        job = replace(job, preset=_preset(files[0]))
        notes.append(f"attribute mapping preset {job.preset!r} chosen from the items' names")
    _prepare(out, overwrite)
    paths = spark.createDataFrame([(f,) for f in files], "path STRING")
    lines = paths.repartition(len(files)).mapInArrow(
        partial(read_files, job=job), _ddl(LINE_SCHEMA)
    )
    parts = min(buckets, max(1, cores(spark)) * 64)
    counted = (
        lines.repartition(parts, "bucket")
        .sortWithinPartitions("bucket", "run", "location", "number")
        .mapInArrow(partial(convert_partition, job=job), _ddl(COUNT_SCHEMA))
        .groupBy()
        .sum(*COUNTS)
        .collect()[0]
    )
    counts = {name: int(counted[f"sum({name})"] or 0) for name in COUNTS}
    _finish(job, counts, notes)
    return Converted(out, fmt, len(files), buckets, counts, tuple(notes))


def _list(sources: list[str]) -> dict[str, int]:
    """Every file under `sources` (sorted within each source) and its size."""
    sizes: dict[str, int] = {}
    for source in sources:
        system, path = filesystem(source)
        info = system.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise InputError(f"{source}: no such file or folder", hint="check the path or URI")
        if info.type == pafs.FileType.File:
            found = [info]
        else:
            found = system.get_file_info(pafs.FileSelector(path, recursive=True))
        for entry in sorted(found, key=lambda e: e.path):
            if entry.type == pafs.FileType.File and not _hidden(entry.path):
                sizes[_uri(source, path, entry.path)] = int(entry.size or 0)
    return sizes


def _data_files(files: list[str], fmt: str) -> list[str]:
    """The files holding records: an export's manifests and checksums left out, and when a
    DynamoDB export's `data/` folder is among them, only what is in it."""
    kept = [f for f in files if f.rsplit("/", 1)[-1] not in _DYNAMODB_MANIFESTS
            and not f.endswith(".md5")]  # fmt: skip
    if fmt == "dynamodb-json" and any("/data/" in f for f in kept):
        kept = [f for f in kept if "/data/" in f]
    if fmt == "postgres-csv":
        kept = [f for f in kept if _table(f) is not None]
    return kept


def _table(path: str) -> str | None:
    from forensics.importers.postgres.csv_tables import table_of

    return table_of(path)


def _hidden(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith((".", "_")) and name != MANIFEST


def _uri(source: str, root: str, found: str) -> str:
    """`found` (a path of `source`'s filesystem) spelled like `source` was given."""
    if "://" not in source and not source.startswith("file:"):
        return found
    return source.rstrip("/") + found[len(root.rstrip("/")) :] if found != root else source


def _detect(files: list[str]) -> str:
    """DynamoDB export data (`{"Item": …}` lines), world-postgres tables' CSV exports (named
    after their tables) or JSON Lines events, from the files' names and the first file."""
    from forensics.importers.dynamodb_json import is_export_lines
    from forensics.importers.jsonl import line_run

    if any(_table(f) is not None for f in files):
        return "postgres-csv"
    data = _data_files(files, "dynamodb-json")
    head = _head(data[0]) if data else b""
    if is_export_lines(head):
        return "dynamodb-json"
    if line_run(head.split(b"\n", 1)[0]) is not None:
        return "jsonl"
    raise InputError(
        f"{data[0] if data else 'the input'}: neither DynamoDB export lines nor JSON Lines events",
        hint="convert reads DynamoDB exports (DYNAMODB_JSON), JSON Lines and world-postgres"
        " tables as CSV (workflow_events.csv, …); --format chooses",
    )


def _head(location: str, size: int = 65536) -> bytes:
    system, path = filesystem(location)
    compression = "gzip" if location.endswith(".gz") else None
    with system.open_input_stream(path, compression=compression) as fh:
        return bytes(fh.read(size))


def _preset(first: str) -> str:
    from forensics.importers.dynamodb_json import attribute_names
    from forensics.importers.mapping import infer_preset

    return infer_preset(attribute_names(_head(first)))


def _dynamodb_notes(sources: list[str]) -> list[str]:
    """The export's manifest, when there is one: its format must be DYNAMODB_JSON, and its
    item count is noted for comparing with what was read."""
    notes = []
    for source in sources:
        system, path = filesystem(source)
        if system.get_file_info(path).type != pafs.FileType.Directory:
            continue
        for entry in system.get_file_info(pafs.FileSelector(path, recursive=True)):
            if not entry.path.endswith("/manifest-summary.json"):
                continue
            with system.open_input_stream(entry.path) as fh:
                summary: dict[str, Any] = orjson.loads(fh.read())
            kind = summary.get("outputFormat", "DYNAMODB_JSON")
            if kind != "DYNAMODB_JSON":
                raise InputError(
                    f"{entry.path}: the export's format is {kind}, not DYNAMODB_JSON",
                    hint="export the table again with --export-format DYNAMODB_JSON",
                )
            notes.append(f"{entry.path}: export {summary.get('exportArn', '?')},"
                         f" {summary.get('itemCount', '?')} items")  # fmt: skip
    return notes


def _buckets(files: list[str], sizes: dict[str, int]) -> int:
    """The power of two giving about `EVENTS_PER_BUCKET` events a bucket, the events
    estimated from the files' bytes."""
    events = sum(sizes[f] // _BYTES_PER_EVENT["gz" if f.endswith(".gz") else "plain"]
                 for f in files)  # fmt: skip
    want = max(1, math.ceil(events / EVENTS_PER_BUCKET))
    return min(MAX_BUCKETS, 1 << (want - 1).bit_length())


def _prepare(out: str, overwrite: bool) -> None:
    """An empty folder at `out`; an existing fleet is replaced only with `overwrite`."""
    system, path = filesystem(out)
    info = system.get_file_info(path)
    if info.type == pafs.FileType.File:
        raise UsageError(f"{out} is a file, not a folder", hint="name a folder for the fleet")
    if info.type == pafs.FileType.Directory:
        inside = system.get_file_info(pafs.FileSelector(path))
        if inside and not overwrite:
            raise UsageError(f"{out} is not empty", hint="name an empty or new folder, or pass"
                             " --overwrite to replace a fleet there")  # fmt: skip
        if inside:
            if system.get_file_info(f"{path}/{MANIFEST}").type != pafs.FileType.File:
                raise UsageError(f"{out} holds files but no {MANIFEST}: --overwrite replaces"
                                 " fleets only", hint="name an empty or new folder")  # fmt: skip
            system.delete_dir_contents(path)
    system.create_dir(path, recursive=True)


def _finish(job: Job, counts: dict[str, int], notes: list[str]) -> None:
    """The tables no chunk wrote (one empty file each), the `imports` row, the manifest."""
    system, path = filesystem(job.out)
    tables = {"events": counts["stored"], "quarantine": counts["quarantined"], "imports": 1}
    with Store(":memory:") as store:
        _imports_row(store, job, counts, notes)
        for table in (*RUN_TABLES, *OTHER_TABLES):
            tables.setdefault(table, 0)
            found = system.get_file_info(pafs.FileSelector(f"{path}/{table}", recursive=True,
                                                           allow_not_found=True))  # fmt: skip
            if table != "imports" and any(e.type == pafs.FileType.File for e in found):
                continue
            rows = store.con.sql(
                f"SELECT {fleet_columns(store, table)} FROM {table} r"
            ).to_arrow_table()
            where = table if table in OTHER_TABLES else f"{table}/bucket=0"
            write_table(rows, join(job.out, where, "part-0.parquet"))
    manifest = Manifest(job.buckets, tables, job.source, datetime.now(UTC).isoformat())
    with system.open_output_stream(f"{path}/{MANIFEST}") as fh:
        fh.write(manifest.to_json())


def _imports_row(store: Store, job: Job, counts: dict[str, int], notes: list[str]) -> None:
    store.con.execute(
        "INSERT INTO imports (import_id, source_kind, location, options, started_at,"
        " finished_at, read_count, stored_count, duplicate_count, quarantined_count,"
        " conflict_count, status, notes) VALUES (1, ?, ?, ?, now(), now(), ?, ?, ?, ?, ?, ?, ?)",
        [job.fmt, job.source, orjson.dumps({"engine": "spark", "preset": job.preset}).decode(),
         counts["read"], counts["stored"], counts["duplicates"], counts["quarantined"],
         counts["conflicts"], "partial" if counts["quarantined"] else "ok",
         "\n".join(notes) or None],
    )  # fmt: skip


def _ddl(schema: Any) -> str:
    import pyarrow as pa

    kinds = {pa.string(): "STRING", pa.int32(): "INT", pa.int64(): "BIGINT",
             pa.binary(): "BINARY"}  # fmt: skip
    return ", ".join(f"`{f.name}` {kinds[f.type]}" for f in schema)
