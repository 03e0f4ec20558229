"""Decoding eventData of PostgreSQL event rows: the part of an import that runs in workers.

A row carries eventData as CBOR (`payload_cbor`, cbor-x encoded) or, in the oldest era, as
JSON (`payload`). Each becomes `event_data` without its payload field plus the payload raw
and decoded, exactly as the record path (`decode_cbor`, `split_payload`) would store it.
The common shape takes a fast path: `cbor2` without hooks, one whole item, the payload a
tag-64 byte string, nothing else exotic (no `undefined`, float, non-string key, date or
other tag), so orjson can write the rest as it is; anything else takes the general path.
Identical eventData bytes decode once per cache window (step_started and its like repeat
a lot); JSON is kept as `str`, because orjson's `bytes` keep a large spare capacity that
adds up in a cache. This module loads neither Arrow nor the store, so a decoding worker
stays small; `events` turns its results into staging columns.
"""

from __future__ import annotations

import io
import json
from typing import Any, Final

import cbor2
import orjson
from cbor2 import CBORDecoder, CBORTag

from forensics.decode import PAYLOAD_FIELDS, DecodeError, decode_cbor, decode_payload, to_jsonable
from forensics.importers.base import RecordError
from forensics.importers.normalize import split_payload

Decoded = tuple[str | None, str | None, bytes | None, str | None, str]
# What decoding a batch needs: event types, payload_cbor blobs, payload texts, spec versions.
Work = tuple[tuple[str, ...], tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]


CACHE_LIMIT: Final = 100_000
WORKER_CACHE_LIMIT: Final = 50_000  # a worker's share of the memory budget is smaller
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


def plain_json(blob: bytes, value: object) -> bool:
    """Whether `value`, decoded from `blob` by cbor2 without hooks, is JSON data as it is:
    no float (NaN and ±Infinity need care), no `undefined`, bytes, date, tag, bignum or
    non-string key anywhere in it, and no cycle."""
    if _has_float(blob):
        return False
    try:
        orjson.dumps(value, option=_PASSTHROUGH)
    except TypeError:
        return False
    return True


def _has_float(blob: bytes) -> bool:
    return _FLOAT_MARKERS[0] in blob or _FLOAT_MARKERS[1] in blob or _FLOAT_MARKERS[2] in blob


def _fast(event_type: str, blob: bytes, key: bytes | None) -> Decoded:
    if _has_float(blob):
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
