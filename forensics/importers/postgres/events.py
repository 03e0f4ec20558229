"""Turning batches of event rows into the store's staging columns, decoding eventData.

A row carries eventData as CBOR (`payload_cbor`, cbor-x encoded) or, in the oldest era, as
JSON (`payload`). Each becomes `event_data` without its payload field plus the payload raw
and decoded, exactly as the record path (`decode_cbor`, `split_payload`) would store it.
The common shape takes a fast path: `cbor2` without hooks, one whole item, the payload a
tag-64 byte string, nothing else exotic (no `undefined`, float, non-string key, date or
other tag), so orjson can write the rest as it is; anything else takes the general path.
Identical eventData bytes decode once per cache window (step_started and its like repeat
a lot); JSON is kept as `str`, because orjson's `bytes` keep a large spare capacity that
adds up in a cache. Columns go to Arrow without an `EventRecord` per row. Rows whose
eventData cannot be decoded are quarantined with their run and event id.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import cbor2
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from cbor2 import CBORDecoder, CBORTag

from forensics.decode import PAYLOAD_FIELDS, DecodeError, decode_cbor, decode_payload, to_jsonable
from forensics.importers.base import RecordError
from forensics.importers.normalize import split_payload
from forensics.model import Provenance, QuarantineRecord
from forensics.store.batches import STAGING_SCHEMA

Decoded = tuple[str | None, str | None, bytes | None, str | None, str]
# What decoding a batch needs: event types, payload_cbor blobs, payload texts, spec versions.
Work = tuple[tuple[str, ...], tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Pending:
    """A batch split into columns, waiting for its decoded eventData."""

    rows: list[tuple[Any, ...]]
    columns: tuple[tuple[Any, ...], ...]
    created_at: pa.Array
    work: Work


CACHE_LIMIT: Final = 100_000
WORKER_CACHE_LIMIT: Final = 50_000  # a worker's share of the memory budget is smaller
EPOCH_2000_US: Final = 946_684_800_000_000  # PostgreSQL's binary times count from 2000-01-01
_PG_INFINITY: Final = (2**63 - 1, -(2**63))
_TS: Final = pa.timestamp("us", tz="UTC")
_ABSENT: Final[Decoded] = (None, None, None, None, "absent")
_MISSING: Final = object()
# Bytes that open a CBOR float (half, single, double). They never occur in UTF-8 text, so a
# blob without them has no float anywhere (NaN and ±Infinity would need JSON-unsafe care).
_FLOAT_MARKERS: Final = (b"\xf9", b"\xfa", b"\xfb")
_PASSTHROUGH: Final = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


class _General(Exception):
    """The fast path declines: decode this blob the general way."""


def decode_blob(event_type: str, blob: bytes, spec: int | None, key: bytes | None) -> Decoded:
    """(event_data JSON, payload field, raw payload, decoded JSON, format) of `payload_cbor`."""
    try:
        return _fast(event_type, blob, key)
    except _General:
        pass
    try:
        data = decode_cbor(blob)
    except DecodeError as exc:
        raise RecordError(f"payload_cbor: {exc.reason}") from None
    return _split(event_type, data, spec, key)


def decode_json(event_type: str, text: str, spec: int | None, key: bytes | None) -> Decoded:
    """The same for the oldest era's `payload` jsonb column (spec 1 eventData)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"payload is not JSON: {exc}") from None
    return _split(event_type, data, spec, key)


def _fast(event_type: str, blob: bytes, key: bytes | None) -> Decoded:
    if _FLOAT_MARKERS[0] in blob or _FLOAT_MARKERS[1] in blob or _FLOAT_MARKERS[2] in blob:
        raise _General
    stream = io.BytesIO(blob)
    try:
        data = CBORDecoder(stream).decode()
    except Exception:  # any decoder complaint: the general path names it
        raise _General from None
    if type(data) is not dict or stream.tell() != len(blob):  # trailing bytes: general path
        raise _General
    name = PAYLOAD_FIELDS.get(event_type)
    value = data.pop(name, _MISSING) if name is not None else _MISSING
    try:
        meta = orjson.dumps(data, option=_PASSTHROUGH).decode()
    except TypeError:
        raise _General from None
    if value is _MISSING or value is cbor2.undefined:  # undefined members are dropped
        return meta, None, None, None, "absent"
    if type(value) is CBORTag and value.tag == 64 and type(value.value) is bytes:
        decoded = decode_payload(value.value, key)
        text = orjson.dumps(decoded.value, option=orjson.OPT_NON_STR_KEYS).decode()
        return meta, name, value.value, text, decoded.format
    raise _General


def _split(event_type: str, data: object, spec: int | None, key: bytes | None) -> Decoded:
    if not isinstance(data, dict):
        raise RecordError(f"eventData is a {type(data).__name__}, not a map")
    meta, name, raw, decoded = split_payload(event_type, data, spec, hydrated=False, key=key)
    event_data = _dumps(to_jsonable(meta))
    if decoded is None:
        return event_data, None, None, None, "absent"
    return event_data, name, raw, _dumps(to_jsonable(decoded.value)), decoded.format


def _dumps(value: object) -> str:
    """JSON text; integers beyond 64 bits (CBOR bignums) are written out in full."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_columns(
    work: Work, key: bytes | None, cache: dict[tuple[str, int | None, bytes], Decoded]
) -> tuple[list[Decoded], list[tuple[int, str]]]:
    """Decoded eventData per row, and (row index, reason) of the rows to quarantine."""
    types, blobs, texts, specs = work
    out: list[Decoded] = []
    rejects: list[tuple[int, str]] = []
    for index, (event_type, blob, text, spec) in enumerate(
        zip(types, blobs, texts, specs, strict=True)
    ):
        try:
            if blob is not None:
                found = cache.get((event_type, spec, blob))
                if found is None:
                    found = decode_blob(event_type, blob, spec, key)
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    cache[event_type, spec, blob] = found
                out.append(found)
            elif text is not None:
                out.append(decode_json(event_type, text, spec, key))
            else:
                out.append(_ABSENT)
        except RecordError as exc:
            rejects.append((index, str(exc)))
            out.append(_ABSENT)
    return out, rejects


_WORKER_CACHE: dict[tuple[str, int | None, bytes], Decoded] = {}


def decode_job(work: Work, key: bytes | None) -> tuple[list[Decoded], list[tuple[int, str]]]:
    """`decode_columns` with this process's cache (a worker's, or ours until `clear_cache`)."""
    if len(_WORKER_CACHE) >= WORKER_CACHE_LIMIT:
        _WORKER_CACHE.clear()
    return decode_columns(work, key, _WORKER_CACHE)


def clear_cache() -> None:
    _WORKER_CACHE.clear()


def pg_times(values: Sequence[int | None]) -> pa.Array:
    """PostgreSQL binary times (µs since 2000-01-01 UTC) as Arrow UTC timestamps.

    ±infinity (the int64 extremes) becomes NULL.
    """
    micros = pa.array(values, pa.int64())
    infinite = pc.or_(pc.equal(micros, _PG_INFINITY[0]), pc.equal(micros, _PG_INFINITY[1]))
    finite = pc.if_else(infinite, pa.scalar(None, pa.int64()), micros)
    return pc.add(finite, EPOCH_2000_US).cast(_TS)


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
        grouped = pa.table({"r": runs, "i": ids}).group_by("r").aggregate([("i", "max")])
        last, previous = self.last_event, self.previous
        for run, top in zip(
            grouped.column(0).to_pylist(), grouped.column(1).to_pylist(), strict=True
        ):
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
