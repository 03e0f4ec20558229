"""Turning batches of event rows into the store's staging columns.

Each batch is split into columns here; its eventData is decoded by `decoding` (in worker
processes for large imports), and the results go to Arrow without an `EventRecord` per row.
Rows whose eventData cannot be decoded are quarantined with their run and event id.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from forensics.importers.postgres.decoding import Decoded, Work, decode_columns
from forensics.model import Provenance, QuarantineRecord
from forensics.store.batches import STAGING_SCHEMA


@dataclass(frozen=True, slots=True)
class Pending:
    """A batch split into columns, waiting for its decoded eventData."""

    rows: list[tuple[Any, ...]]
    columns: tuple[tuple[Any, ...], ...]
    created_at: pa.Array
    work: Work


EPOCH_2000_US: Final = 946_684_800_000_000  # PostgreSQL's binary times count from 2000-01-01
_PG_INFINITY: Final = (2**63 - 1, -(2**63))
_TS: Final = pa.timestamp("us", tz="UTC")


def pg_times(values: Sequence[int | None]) -> pa.Array:
    """PostgreSQL binary times (µs since 2000-01-01 UTC) as Arrow UTC timestamps.

    ±infinity (the int64 extremes) becomes NULL.
    """
    micros = pa.array(values, pa.int64())
    if _PG_INFINITY[0] in values or _PG_INFINITY[1] in values:  # rare: mask them out
        infinite = pc.or_(pc.equal(micros, _PG_INFINITY[0]), pc.equal(micros, _PG_INFINITY[1]))
        micros = pc.if_else(infinite, pa.scalar(None, pa.int64()), micros)
    return pc.add(micros, EPOCH_2000_US).cast(_TS)


def _json_array(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


class EventBatches:
    """Builds staging tables from event row batches (columns in `selects.EVENT_PLAN` order)."""

    def __init__(
        self,
        location: str,
        key: bytes | None,
        quarantine: Callable[[QuarantineRecord], None],
        previous: dict[str, str],
    ) -> None:
        self.location = location
        self.key = key
        self.quarantine = quarantine
        self.previous = previous  # run id -> highest event id of earlier imports
        self.cache: dict[tuple[str, int | None, bytes], Decoded] = {}
        self.last_event: dict[str, str] = {}  # run id -> highest event id read
        self.read: dict[str, int] = {}  # run id -> rows read
        self.above: set[str] = set()  # runs with events above their earlier mark (or new)
        self.below: list[tuple[str, str]] = []  # (run, event id) read again by the window
        self.both_payloads = 0  # rows with JSON and CBOR eventData (CBOR wins)

    def table(self, rows: list[tuple[Any, ...]]) -> pa.Table | None:
        """The staging table of `rows`, decoded here (None when all went to quarantine)."""
        pending = self.split(rows)
        decoded, rejects = decode_columns(pending.work, self.key, self.cache)
        return self.build(pending, decoded, rejects)

    def split(self, rows: list[tuple[Any, ...]]) -> Pending:
        """Columns of `rows`, marks advanced; `work` is what decoding needs (picklable)."""
        columns = tuple(zip(*rows, strict=True))
        ids, types, runs, payloads, blobs, specs = (columns[i] for i in (0, 1, 4, 5, 6, 7))
        created_at = pg_times(columns[3])
        self._marks(runs, ids)
        return Pending(rows, columns, created_at, (types, blobs, payloads, specs))

    def build(
        self, pending: Pending, decoded: list[Decoded], rejects: list[tuple[int, str]]
    ) -> pa.Table | None:
        """The staging table of a split batch and its decoded eventData."""
        ids, types, cids, _, runs, payloads, blobs, specs, occurred, resumes, extras = (
            pending.columns
        )
        if payloads.count(None) != len(payloads) and blobs.count(None) != len(blobs):
            extras = self._keep_json(payloads, blobs, extras)
        event_data, fields, raws, values, formats = zip(*decoded, strict=True)
        n = len(pending.rows)
        table = pa.Table.from_arrays(
            [
                pa.array([self.location] * n, pa.string()),
                pa.nulls(n, pa.string()),
                pa.nulls(n, pa.string()),
                pa.array(runs, pa.string()),
                pa.array(ids, pa.string()),
                pa.array(types, pa.string()),
                pa.array(cids, pa.string()),
                pending.created_at,
                pg_times(occurred),
                pa.nulls(n, _TS),
                pa.array(specs, pa.int32()),
                pa.array(resumes, pa.string()),
                pa.nulls(n, pa.string()),
                pa.nulls(n, _TS),
                _json_array(event_data),
                pa.array(fields, pa.string()),
                pa.array(raws, pa.binary()),
                _json_array(values),
                pa.array(formats, pa.string()),
                pa.repeat(pa.scalar(False), n),
                pa.array(extras, pa.string()),
            ],
            schema=STAGING_SCHEMA,
        )
        if not rejects:
            return table
        keep = [True] * n
        for index, reason in rejects:
            keep[index] = False
            self._quarantine(pending.rows[index], reason)
        return table.filter(pa.array(keep)) if any(keep) else None

    def _marks(self, runs: tuple[str, ...], ids: tuple[str, ...]) -> None:
        """Advance the per-run high-water marks; note rows at or below the earlier ones."""
        grouped = (
            pa.table({"r": runs, "i": ids}).group_by("r").aggregate([("i", "max"), ("i", "count")])
        )
        last, previous, read = self.last_event, self.previous, self.read
        for run, top, n in zip(*(grouped.column(c).to_pylist() for c in range(3)), strict=True):
            read[run] = read.get(run, 0) + n
            if top > last.get(run, ""):
                last[run] = top
            if top > previous.get(run, ""):
                self.above.add(run)
        if previous:
            self.below += [
                (run, event_id)
                for run, event_id in zip(runs, ids, strict=True)
                if event_id <= previous.get(run, "")
            ]

    def _keep_json(
        self,
        payloads: tuple[str | None, ...],
        blobs: tuple[bytes | None, ...],
        extras: tuple[str | None, ...],
    ) -> tuple[str | None, ...]:
        """Rows with both JSON and CBOR eventData keep the JSON copy in `extra.payload`."""
        out = list(extras)
        for index, (text, blob) in enumerate(zip(payloads, blobs, strict=True)):
            if text is not None and blob is not None:
                self.both_payloads += 1
                current = out[index]
                extra = orjson.loads(current) if current else {}
                extra["payload"] = orjson.loads(text)
                out[index] = orjson.dumps(extra).decode()
        return tuple(out)

    def _quarantine(self, row: tuple[Any, ...], reason: str) -> None:
        event_id, event_type, run_id, blob = row[0], row[1], row[4], row[6]
        raw = {
            "id": event_id,
            "type": event_type,
            "run_id": run_id,
            "payload": row[5],
            "payload_cbor_b64": base64.b64encode(blob).decode() if blob is not None else None,
        }
        self.quarantine(
            QuarantineRecord(
                Provenance(self.location, f"run {run_id} event {event_id}"),
                f"event {event_id} ({event_type}) of run {run_id}: {reason}",
                orjson.dumps(raw).decode(),
            )
        )
