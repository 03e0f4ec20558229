"""Turning an event object as the SDK shapes it (camelCase fields) into an `EventRecord`.

World-local files, saved API pages, JSON Lines dumps and `workflow inspect` output all carry
the same event object; they differ only in how the payload field is represented (bytes
wrapped as `{"__type":"Uint8Array"}`, a remote ref, an already hydrated value, or spec-1
plain JSON). This module separates the payload from the metadata and decodes it once.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from forensics.decode import (
    PAYLOAD_FIELDS,
    DecodedPayload,
    DecodeError,
    decode_field,
    decode_hydrated,
    decode_payload,
    unwrap_binary,
)
from forensics.importers.base import RecordError
from forensics.model import EventRecord, Provenance

# The fields of an SDK event object that have columns; anything else goes to `extra`.
EVENT_FIELDS = frozenset(
    {
        "runId",
        "eventId",
        "eventType",
        "correlationId",
        "createdAt",
        "occurredAt",
        "specVersion",
        "resumeId",
        "eventData",
    }
)
HYDRATED_MARKERS = ("🔒 Encrypted", "<data expired>")


INT32 = (-(2**31), 2**31 - 1)  # the range of the store's INTEGER columns


def parse_time(value: Any, field: str) -> datetime | None:
    """ISO-8601 text (naive = UTC) or epoch seconds/milliseconds to an aware UTC datetime.

    A time outside years 1-9999 (`1e20`, epoch milliseconds of year 33658, infinity) is a
    `RecordError` naming the field, never an overflow that escapes."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise RecordError(f"{field} is a boolean, expected a time")
    if isinstance(value, int | float):
        try:
            seconds = value / 1000 if abs(value) >= 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordError(
                f"{field} {value!r:.40} is outside the times forensics can store (years 1-9999)"
            ) from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise RecordError(f"{field} {value!r} is not an ISO-8601 time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise RecordError(f"{field} has type {type(value).__name__}, expected a time")


def _text(d: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = d.get(name)
    if value is None:
        if required:
            raise RecordError(f"missing {name}")
        return None
    if not isinstance(value, str) or (required and not value):
        raise RecordError(f"{name} must be a non-empty string, got {value!r:.60}")
    return value


def int_field(value: Any, field: str, bounds: tuple[int, int] = INT32) -> int | None:
    """A whole number (an int, an integral float, or digits as text) within `bounds`;
    anything else (2.5, "three", true, 2**40) is a `RecordError`, never a silent coercion."""
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    if number is None:
        raise RecordError(f"{field} {value!r:.40} is not an integer")
    if not bounds[0] <= number <= bounds[1]:
        raise RecordError(f"{field} {number:.6g} is outside {bounds[0]}..{bounds[1]}")
    return number


def _spec(value: Any) -> int | None:
    return int_field(value, "specVersion")


def split_payload(
    event_type: str,
    data: dict[str, Any],
    spec_version: int | None,
    *,
    hydrated: bool,
    key: bytes | None,
) -> tuple[dict[str, Any], str | None, bytes | None, DecodedPayload | None]:
    """eventData without its payload field, the field name, raw bytes and decoded value."""
    name = PAYLOAD_FIELDS.get(event_type)
    if name is None or name not in data:
        return data, None, None, None
    meta = {k: v for k, v in data.items() if k != name}
    value = data[name]
    if value is None and not hydrated and (spec_version or 1) >= 2:
        # CBOR `undefined` (decoded as None): JSON sources omit the key, so do the same.
        return meta, None, None, None
    if isinstance(value, dict) and value.get("_type") == "RemoteRef":
        return meta, name, *_remote_ref(value, key)
    if hydrated or (isinstance(value, str) and value in HYDRATED_MARKERS):
        return meta, name, None, decode_hydrated(value)
    try:
        raw = unwrap_binary(value)
    except DecodeError:
        raw = None  # a broken wrapper: decode_field reports it as format `invalid`
    if raw is not None:  # the usual case: bytes, unwrapped once
        return meta, name, raw, decode_payload(raw, key)
    return meta, name, None, decode_field(value, key)


def _remote_ref(value: dict[str, Any], key: bytes | None) -> tuple[bytes | None, DecodedPayload]:
    ref = str(value.get("_ref", ""))
    inline = value.get("_data")
    if ref.startswith("dbrf:") and isinstance(inline, str):
        raw = base64.b64decode(inline)
        inner = decode_payload(raw, key)
        return raw, DecodedPayload(inner.format, inner.value, inner.size, f"inline ref {ref}")
    shown = {"__ref": ref, "contentType": value.get("_ct")}
    return None, DecodedPayload("ref", shown, 0, "remote ref: not resolvable offline")


def event_from_dict(
    d: Any,
    provenance: Provenance,
    *,
    hydrated: bool = False,
    staged: bool = False,
    key: bytes | None = None,
    run_id: str | None = None,
) -> EventRecord:
    """One SDK-shaped event object to a record; raises `RecordError` with the reason."""
    if not isinstance(d, dict):
        raise RecordError(f"expected an event object, got {type(d).__name__}")
    event_type = _text(d, "eventType", required=True)
    assert event_type is not None
    spec = _spec(d.get("specVersion"))
    data = d.get("eventData")
    if data is not None and not isinstance(data, dict):
        raise RecordError(f"eventData must be an object, got {type(data).__name__}")
    meta, field, raw, decoded = split_payload(
        event_type, data or {}, spec, hydrated=hydrated, key=key
    )
    extra = {k: v for k, v in d.items() if k not in EVENT_FIELDS} or None
    return EventRecord(
        run_id=_text(d, "runId", required=run_id is None) or str(run_id),
        event_id=str(_text(d, "eventId", required=True)),
        event_type=event_type,
        provenance=provenance,
        correlation_id=_text(d, "correlationId", required=False),
        created_at=parse_time(d.get("createdAt"), "createdAt"),
        occurred_at=parse_time(d.get("occurredAt"), "occurredAt"),
        spec_version=spec,
        resume_id=_text(d, "resumeId", required=False),
        event_data=meta if data is not None else None,
        payload_field=field,
        payload_raw=raw,
        payload_decoded=decoded.value if decoded else None,
        payload_format=decoded.format if decoded else "absent",
        staged=staged,
        extra=extra,
    )
