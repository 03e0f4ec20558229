"""Test-only builders of the wire formats the API and DynamoDB importers read.

Everything is built from the real events of the real `tests/data/realdata` set:
v1 pages (JSON), v2/v3 pages (CBOR), v4 frame streams, and DynamoDB typed items for scan
output and S3 exports.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import cbor2

from forensics.decode import PAYLOAD_FIELDS
from forensics.model import ImportSummary
from tests.realdata import REALDATA

# The `run_import` fixture of conftest.py: (importer, path, options=None) -> summary.
ImportRunner = Callable[..., ImportSummary]

LOCAL_EVENTS = REALDATA / "local" / "local-events.jsonl"
PG_EVENTS = REALDATA / "postgres" / "pg-events.jsonl"
PG_DECODED = REALDATA / "postgres" / "pg-events.decoded.jsonl"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def local_events() -> list[dict[str, Any]]:
    """world-local's events as the SDK shapes them (payloads as Uint8Array markers)."""
    events = _jsonl(LOCAL_EVENTS)
    for event in events:
        event.pop("_file", None)
    return events


def pg_rows() -> list[dict[str, Any]]:
    """world-postgres rows: `payload_cbor_b64` is the cbor-x encoded eventData."""
    return _jsonl(PG_EVENTS)


def pg_decoded_rows() -> list[dict[str, Any]]:
    return _jsonl(PG_DECODED)


def runs_of(events: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The events of the first `count` runs (in file order)."""
    keep: list[str] = []
    for event in events:
        if event["runId"] not in keep:
            keep.append(event["runId"])
    chosen = set(keep[:count])
    return [e for e in events if e["runId"] in chosen]


def payload_bytes(event: dict[str, Any]) -> bytes | None:
    """The payload bytes of an SDK-shaped event (None when it has none)."""
    name = PAYLOAD_FIELDS.get(event["eventType"])
    value = (event.get("eventData") or {}).get(name) if name else None
    if isinstance(value, dict) and value.get("__type") == "Uint8Array":
        return base64.b64decode(value["data"])
    return None


def with_payload(event: dict[str, Any], value: Any) -> dict[str, Any]:
    """A copy of `event` whose payload field holds `value`."""
    out = copy.deepcopy(event)
    out["eventData"][PAYLOAD_FIELDS[event["eventType"]]] = value
    return out


def base64_payloads(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with bytes as plain base64 text, as a v1 JSON response may carry them."""
    out = []
    for event in events:
        raw = payload_bytes(event)
        out.append(with_payload(event, base64.b64encode(raw).decode()) if raw else event)
    return out


def page(
    events: list[dict[str, Any]], cursor: str | None = None, more: bool = False
) -> dict[str, Any]:
    return {"data": events, "cursor": cursor, "hasMore": more}


def cbor_page(events: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    """A page for CBOR: payloads as tag-64 byte strings, as cbor-x writes Uint8Array."""
    out = []
    for event in events:
        raw = payload_bytes(event)
        out.append(with_payload(event, cbor2.CBORTag(64, raw)) if raw else event)
    return page(out, **kw)


# -- v4 frames ------------------------------------------------------------------------------


def frame(meta: dict[str, Any], body: bytes = b"") -> bytes:
    meta_bytes = cbor2.dumps(meta)
    return struct.pack(">I", len(meta_bytes)) + meta_bytes + struct.pack(">I", len(body)) + body


def end_marker(next_cursor: str | None = None, more: bool = False) -> bytes:
    meta = cbor2.dumps({"_end": 1, "next": next_cursor, "hasMore": more})
    return struct.pack(">I", len(meta)) + meta


def event_frame(event: dict[str, Any], ref: str | None = None) -> bytes:
    """One event as a frame: the payload moves to the body (its field keeps `ref` if given)."""
    raw = payload_bytes(event)
    if raw is None:
        return frame(event)
    meta = copy.deepcopy(event)
    name = PAYLOAD_FIELDS[event["eventType"]]
    if ref is None:
        del meta["eventData"][name]
    else:
        meta["eventData"][name] = {"_type": "RemoteRef", "_ref": ref}
    return frame(meta, raw)


def frame_stream(events: Iterable[dict[str, Any]], *, end: bool = True, **kw: Any) -> bytes:
    body = b"".join(event_frame(e) for e in events)
    return body + end_marker(**kw) if end else body


def frame_offsets(events: Iterable[dict[str, Any]]) -> list[int]:
    """The byte offset of every event's frame in `frame_stream(events)`."""
    offsets, at = [], 0
    for event in events:
        offsets.append(at)
        at += len(event_frame(event))
    return offsets


# -- DynamoDB typed JSON --------------------------------------------------------------------


def typed(value: Any) -> dict[str, Any]:
    """A plain value as DynamoDB typed JSON (what `aws dynamodb scan` prints)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode()}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [typed(v) for v in value]}
    raise TypeError(type(value))


def pg_row_to_item(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A world-postgres row as a plain item of the PR #1371 layout (eventData = cbor-x)."""
    item: dict[str, Any] = {
        "runId": row["run_id"],
        "eventId": row["id"],
        "eventType": row["type"],
        "specVersion": row["spec_version"],
        "createdAt": row["created_at"],
    }
    if row["payload_cbor_b64"] is not None:  # run_started/run_cancelled carry no eventData
        item["eventData"] = base64.b64decode(row["payload_cbor_b64"])
    if row["correlation_id"] is not None:
        item["correlationId"] = row["correlation_id"]
    item.update(extra)
    return item


def typed_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: typed(v) for k, v in item.items()}


def scan_output(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    typed_items = [typed_item(i) for i in items]
    return {"Items": typed_items, "Count": len(items), "ScannedCount": len(items), **extra}


def export_lines(items: list[dict[str, Any]]) -> Iterator[str]:
    for item in items:
        yield json.dumps({"Item": typed_item(item)})


def write_export(path: Path, items: list[dict[str, Any]], *, gz: bool = True) -> Path:
    text = "\n".join(export_lines(items)) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path
