"""The fast eventData path gives exactly what the general (record) path gives, or declines.

`decode_blob` must equal `decode_cbor` + `split_payload` + JSON for every blob: the 448
real ones and hand-made ones holding everything the fast path must not take (undefined,
floats, NaN, dates, bytes outside the payload, non-string keys, trailing bytes, …).
No server needed.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

import cbor2
import pytest
from cbor2 import CBORTag

from forensics.decode import decode_cbor, to_jsonable
from forensics.importers.base import RecordError
from forensics.importers.normalize import split_payload
from forensics.importers.postgres import decoding as events
from forensics.importers.postgres.decoding import decode_blob, decode_json
from tests.realdata import REALDATA

REALDATA_EVENTS = REALDATA / "postgres" / "pg-events.jsonl"


def reference(event_type: str, blob: bytes, spec: int | None) -> tuple[Any, ...]:
    """What the record path stores for this eventData (JSON text compared as values)."""
    data = decode_cbor(blob)
    assert isinstance(data, dict)
    meta, field, raw, decoded = split_payload(event_type, data, spec, hydrated=False, key=None)
    value = to_jsonable(decoded.value) if decoded else None
    fmt = decoded.format if decoded else "absent"
    return to_jsonable(meta), field, raw, value, fmt


def ours(event_type: str, blob: bytes, spec: int | None) -> tuple[Any, ...]:
    data, field, raw, value, fmt = decode_blob(event_type, blob, spec, None)
    return (
        json.loads(data) if data is not None else None,
        field,
        raw,
        json.loads(value) if value is not None else None,
        fmt,
    )


def real_blobs() -> list[tuple[str, bytes, int | None]]:
    rows = [json.loads(line) for line in REALDATA_EVENTS.read_text().splitlines()]
    return [
        (r["type"], base64.b64decode(r["payload_cbor_b64"]), r["spec_version"])
        for r in rows
        if r["payload_cbor_b64"]
    ]


def test_real_blobs_take_the_fast_path_and_agree() -> None:
    blobs = real_blobs()
    assert len(blobs) == 403
    fast = 0
    for event_type, blob, spec in blobs:
        assert ours(event_type, blob, spec) == reference(event_type, blob, spec)
        try:
            events._fast(event_type, blob, None)
            fast += 1
        except events._General:
            pass
    # The general path takes the waits (their resumeAt is a Date: tag 1 around a float)
    # and the inline errors of step_retrying, step_failed and run_failed (not bytes).
    assert fast == 403 - (15 + 9) - (6 + 6 + 9)


def devl(text: str) -> CBORTag:
    return CBORTag(64, b"devl" + text.encode())


WHEN = datetime(2026, 11, 21, 9, 0, 5, 250000, tzinfo=UTC)
CASES: list[tuple[str, Any, int | None]] = [
    ("step_completed", {"stepName": "s", "result": devl("[1]")}, 3),
    ("hook_created", {"token": "t", "metadata": cbor2.undefined}, 3),
    ("hook_created", {"token": "t", "metadata": None}, 3),
    ("hook_created", {"token": "t", "metadata": None}, 1),
    ("hook_received", {"token": "t", "extra": [cbor2.undefined, 1]}, 3),
    ("wait_created", {"resumeAt": WHEN}, 3),
    ("wait_created", {"resumeAt": CBORTag(1, 1795000000)}, 3),
    ("step_started", {"attempt": 1.5}, 3),
    ("step_started", {"attempt": math.nan, "x": math.inf}, 3),
    ("step_started", {1: "numeric key", "b": b"raw bytes"}, 3),
    ("step_started", {"nested": devl("[2]")}, 3),
    ("step_started", {"big": 2**70, "set": CBORTag(258, [1, 2])}, 3),
    ("step_started", {"odd": CBORTag(99999, "x")}, 3),
    ("step_failed", {"error": "plain text error", "stack": "Error: x"}, 3),
    ("step_failed", {"error": {"message": "m"}}, 3),
    ("run_completed", {"output": devl("not json")}, 3),
    ("run_completed", {"output": CBORTag(64, b"zzzzpayload")}, 3),
    ("run_completed", {"output": CBORTag(64, b"encr" + bytes(40))}, 3),
    ("run_created", {"input": [[1], "legacy"]}, None),
    ("run_started", {}, 3),
]


@pytest.mark.parametrize(("event_type", "data", "spec"), CASES)
def test_hand_made_blobs_agree(event_type: str, data: Any, spec: int | None) -> None:
    blob = cbor2.dumps(data)
    assert ours(event_type, blob, spec) == reference(event_type, blob, spec)


def test_trailing_bytes_are_not_taken_as_a_whole_item() -> None:
    blob = cbor2.dumps({"stepName": "s", "result": devl("[1]")}) + b"\x01"
    with pytest.raises(RecordError, match="trailing byte"):
        decode_blob("step_completed", blob, 3, None)


def test_a_map_is_required() -> None:
    with pytest.raises(RecordError, match="eventData is a list, not a map"):
        decode_blob("run_started", cbor2.dumps([1, 2]), 3, None)
    with pytest.raises(RecordError, match="payload_cbor: malformed CBOR"):
        decode_blob("run_started", b"\xbf\x61", 3, None)


def test_json_event_data_of_the_oldest_era() -> None:
    data, field, raw, value, fmt = decode_json("run_created", '{"input": [[1], "x"]}', None, None)
    assert (data, field, raw, value, fmt) == ("{}", "input", None, '["x"]', "legacy-json")
    with pytest.raises(RecordError, match="payload is not JSON"):
        decode_json("run_created", "{", None, None)
