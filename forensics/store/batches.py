"""Arrow batches of staging, run and entity rows: how importers hand rows to the store in bulk.

Kept apart from `ingest` so that reading the store never loads pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pyarrow as pa

from forensics.model import EntityRow, EventRecord, RunRow, json_text

# The largest event the store takes (its payload bytes and JSON columns together): DuckDB's
# own JSON reader stops at the same size, so the bulk path and the record path agree.
MAX_RECORD_BYTES = 16 * 2**20
_INT32 = (-(2**31), 2**31 - 1)
Rejected = tuple[EventRecord, str]  # a record the store cannot hold, and why

_TS = pa.timestamp("us", tz="UTC")

# The columns an importer supplies; everything else is derived here.
STAGING_SCHEMA = pa.schema(
    [
        ("source_location", pa.string()),
        ("source_position", pa.string()),
        ("source_tag", pa.string()),
        ("run_id", pa.string()),
        ("event_id", pa.string()),
        ("event_type", pa.string()),
        ("correlation_id", pa.string()),
        ("created_at", _TS),
        ("occurred_at", _TS),
        ("write_time", _TS),
        ("spec_version", pa.int32()),
        ("resume_id", pa.string()),
        ("fence_last_event_id", pa.string()),
        ("fence_state_updated_at", _TS),
        ("event_data", pa.string()),
        ("payload_field", pa.string()),
        ("payload_raw", pa.binary()),
        ("payload_decoded", pa.string()),
        ("payload_format", pa.string()),
        ("staged", pa.bool_()),
        ("extra", pa.string()),
    ]
)


def _texts(r: EventRecord) -> tuple[str | None, str | None, str | None, str | None]:
    """The JSON columns of a record (event data, decoded payload, extra, payload format),
    or a `ValueError` saying why the record cannot be stored."""
    for name in ("run_id", "event_id", "event_type", "correlation_id", "resume_id"):
        value = getattr(r, name)
        if value is not None and not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                raise ValueError(f"{name} holds bytes that are not UTF-8") from None
    if r.spec_version is not None and not _INT32[0] <= r.spec_version <= _INT32[1]:
        raise ValueError(f"specVersion {r.spec_version:.6g} is outside {_INT32[0]}..{_INT32[1]}")
    try:
        event_data, extra = json_text(r.event_data), json_text(r.extra)
    except ValueError as exc:
        raise ValueError(f"eventData or extra fields: {exc}") from None
    fmt = r.payload_format
    try:
        decoded = json_text(r.payload_decoded)
        if decoded is None and r.payload_raw is not None:
            decoded = "null"  # decoded to null (devalue `undefined`): done, not pending
    except ValueError as exc:  # the raw bytes are kept; the value is marked as not decoded
        decoded, fmt = orjson.dumps({"__invalid": str(exc)}).decode(), "invalid"
    size = sum(len(t) for t in (event_data, extra, decoded) if t) + len(r.payload_raw or b"")
    if size > MAX_RECORD_BYTES:
        raise ValueError(
            f"the event is {size / 2**20:.1f} MiB, over the {MAX_RECORD_BYTES // 2**20} MiB"
            " limit per event"
        )
    return event_data, decoded, extra, fmt


def events_to_arrow(records: Sequence[EventRecord]) -> pa.Table:
    """Columnar staging rows for a batch of records; a `ValueError` for one it cannot hold
    (callers that must keep going use `staging_rows`)."""
    table, rejected = staging_rows(records)
    if rejected:
        raise ValueError(rejected[0][1])
    return table


def staging_rows(records: Sequence[EventRecord]) -> tuple[pa.Table, list[Rejected]]:
    """Columnar staging rows for the records the store can hold, and the others with the
    reason (nesting past 255 levels, a number past its column, an event past the size
    limit): one bad record never takes its batch with it."""
    cols: dict[str, list[Any]] = {name: [] for name in STAGING_SCHEMA.names}
    rejected: list[Rejected] = []
    for r in records:
        try:
            event_data, decoded, extra, fmt = _texts(r)
        except ValueError as exc:
            rejected.append((r, str(exc)))
            continue
        p = r.provenance
        cols["source_location"].append(p.location)
        cols["source_position"].append(p.position)
        cols["source_tag"].append(p.tag)
        cols["run_id"].append(r.run_id)
        cols["event_id"].append(r.event_id)
        cols["event_type"].append(r.event_type)
        cols["correlation_id"].append(r.correlation_id)
        cols["created_at"].append(r.created_at)
        cols["occurred_at"].append(r.occurred_at)
        cols["write_time"].append(r.write_time)
        cols["spec_version"].append(r.spec_version)
        cols["resume_id"].append(r.resume_id)
        cols["fence_last_event_id"].append(r.fence_last_event_id)
        cols["fence_state_updated_at"].append(r.fence_state_updated_at)
        cols["event_data"].append(event_data)
        cols["payload_field"].append(r.payload_field)
        cols["payload_raw"].append(r.payload_raw)
        cols["payload_decoded"].append(decoded)
        cols["payload_format"].append(fmt)
        cols["staged"].append(r.staged)
        cols["extra"].append(extra)
    return pa.Table.from_pydict(cols, schema=STAGING_SCHEMA), rejected


_RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("import_id", pa.int32()),
        ("source_location", pa.string()),
        ("workflow_name", pa.string()),
        ("status", pa.string()),
        ("deployment_id", pa.string()),
        ("spec_version", pa.int32()),
        ("created_at", _TS),
        ("started_at", _TS),
        ("completed_at", _TS),
        ("error_code", pa.string()),
        ("error", pa.string()),
        ("extra", pa.string()),
    ]
)
_ENTITY_SCHEMA = pa.schema(
    [
        ("import_id", pa.int32()),
        ("source_location", pa.string()),
        ("run_id", pa.string()),
        ("entity_id", pa.string()),
        ("kind", pa.string()),
        ("name", pa.string()),
        ("token", pa.string()),
        ("status", pa.string()),
        ("attempt", pa.int32()),
        ("created_at", _TS),
        ("started_at", _TS),
        ("completed_at", _TS),
        ("resume_at", _TS),
        ("spec_version", pa.int32()),
        ("extra", pa.string()),
    ]
)


def _batch(rows: Sequence[tuple[Any, ...]], schema: pa.Schema, import_id: int) -> pa.Table:
    """Rows of one import (every column of `schema` but the import id, in order) as an
    Arrow table: one insert per batch, where executemany would be a statement per row."""
    fields = [f for f in schema if f.name != "import_id"]
    # one pass per column: transposing with zip(*rows) unpacks every row as an argument
    arrays = [pa.array([row[i] for row in rows], f.type) for i, f in enumerate(fields)]
    arrays.insert(
        schema.get_field_index("import_id"), pa.array([import_id] * len(rows), pa.int32())
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def runs_table(rows: Sequence[RunRow], import_id: int) -> pa.Table:
    """Run rows of one import as an Arrow table in `run_records` column order."""
    return _batch(rows, _RUN_SCHEMA, import_id)


def entities_table(rows: Sequence[EntityRow], import_id: int) -> pa.Table:
    """Entity rows of one import as an Arrow table in `entities` column order."""
    return _batch(rows, _ENTITY_SCHEMA, import_id)
