"""Rendering story events in each source's own container.

Event data holds payloads as `bytes`, dates as `Instant` and JavaScript `undefined` as
`UNDEFINED`; each source spells them its own way: world-local JSON and JSON Lines dumps
wrap bytes as `{"__type":"Uint8Array","data":b64}`, hosted API v1 pages send base64 text,
and DynamoDB items hold `eventData` as cbor-x CBOR (maps with a 16-bit length header,
`Uint8Array` as tag 64, `Date` as tag 1 over a float64, `undefined` as simple value 23).
JSON is written the way `JSON.stringify` writes it (no ASCII escaping).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

from forensics.decode import UNDEFINED
from forensics.samples._kit import SPEC_VERSION, Data, Event, iso


@dataclass(frozen=True)
class Instant:
    """A JavaScript `Date` inside event data (epoch milliseconds)."""

    ms: int


Binary = Callable[[bytes], object]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def uint8array(raw: bytes) -> object:
    """How world-local (and decoded dumps) write bytes in JSON."""
    return {"__type": "Uint8Array", "data": b64(raw)}


def jsonable(value: object, binary: Binary) -> object:
    """`value` as JSON would hold it: `undefined` members dropped, dates as ISO text."""
    if isinstance(value, bytes):
        return binary(value)
    if isinstance(value, Instant):
        return iso(value.ms)
    if isinstance(value, dict):
        return {k: jsonable(v, binary) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [jsonable(v, binary) for v in value]
    return value


def event_object(run_id: str, event: Event, binary: Binary) -> dict[str, object]:
    """The SDK's event object, in world-local's field order."""
    obj: dict[str, object] = {"eventType": event.event_type, "specVersion": SPEC_VERSION}
    if event.correlation_id:
        obj["correlationId"] = event.correlation_id
    if event.data is not None:
        obj["eventData"] = jsonable(event.data, binary)
    obj["runId"] = run_id
    obj["eventId"] = event.event_id
    obj["createdAt"] = iso(event.created)
    return obj


def pretty(value: object) -> bytes:
    """`JSON.stringify(value, null, 2)`: what world-local writes (no trailing newline)."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode()


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def gzip_bytes(raw: bytes) -> bytes:
    """gzip without a file name or time stamp, so the output is reproducible."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as fh:
        fh.write(raw)
    return out.getvalue()


# -- cbor-x --------------------------------------------------------------------------------


def _head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if length < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, length)
    raise ValueError(f"length {length} is too large for CBOR")


def cbor_x(value: object) -> bytes:
    """CBOR as the cbor-x library writes a JavaScript value."""
    if value is UNDEFINED:
        return b"\xf7"
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, bytes):
        return b"\xd8\x40" + _head(2, len(value)) + value
    if isinstance(value, Instant):
        return b"\xc1\xfb" + struct.pack(">d", value.ms / 1000)
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor_x(v) for v in value)
    if isinstance(value, dict):
        body = b"".join(cbor_x(k) + cbor_x(v) for k, v in value.items())
        return b"\xb9" + struct.pack(">H", len(value)) + body
    raise TypeError(f"cbor-x sample encoder cannot write {type(value).__name__}")


def event_data_cbor(data: Data) -> bytes:
    return cbor_x(data)
