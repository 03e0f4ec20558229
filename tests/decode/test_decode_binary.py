"""unwrap_binary, to_jsonable and iso_ms."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import cbor2
import orjson
import pytest

from forensics.decode import UNDEFINED, DecodeError, iso_ms, to_jsonable, unwrap_binary


@pytest.mark.parametrize(
    "value",
    [
        b"devl[1]",
        bytearray(b"devl[1]"),
        memoryview(b"devl[1]"),
        {"__type": "Uint8Array", "data": "ZGV2bFsxXQ=="},
        {"__type": "Uint8Array", "data": "ZGV2bFsxXQ"},  # unpadded, as Node accepts
        {"__type": "Buffer", "data": "ZGV2bFsxXQ=="},
        {"type": "Buffer", "data": list(b"devl[1]")},
        cbor2.CBORTag(64, b"devl[1]"),
    ],
)
def test_unwrap_binary_accepts_every_dress(value: object) -> None:
    assert unwrap_binary(value) == b"devl[1]"


@pytest.mark.parametrize(
    "value", [None, "devl[1]", 5, [1, 2], {"__type": "Map"}, {"data": "eA=="}, cbor2.CBORTag(1, 0)]
)
def test_unwrap_binary_rejects_non_binary(value: object) -> None:
    assert unwrap_binary(value) is None


def test_unwrap_binary_raises_on_corrupt_marker() -> None:
    with pytest.raises(DecodeError):
        unwrap_binary({"__type": "Uint8Array", "data": "@@@"})
    with pytest.raises(DecodeError):
        unwrap_binary({"type": "Buffer", "data": [1, 999]})


def test_to_jsonable_renders_every_kind() -> None:
    moment = datetime(2026, 11, 21, 9, 5, 40, 173000, tzinfo=UTC)
    value = {
        "b": b"\x00\x01",
        "d": moment,
        "u": UNDEFINED,
        "cu": cbor2.undefined,
        "list": [UNDEFINED, math.nan, math.inf, -math.inf, 1.5],
        "tag": cbor2.CBORTag(99, {"x": b""}),
        "set": {3},
        "tuple": (1, 2),
        1: "int key",
        None: "null key",
    }
    assert to_jsonable(value) == {
        "b": {"__type": "Uint8Array", "data": "AAE="},
        "d": "2026-11-21T09:05:40.173Z",
        "list": [None, "NaN", "Infinity", "-Infinity", 1.5],
        "tag": {"__cbor_tag": 99, "value": {"x": {"__type": "Uint8Array", "data": ""}}},
        "set": {"__type": "Set", "values": [3]},
        "tuple": [1, 2],
        "1": "int key",
        "null": "null key",
    }
    orjson.dumps(to_jsonable(value))


def test_to_jsonable_handles_depth_and_cycles() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(100_000):
        child: list[object] = []
        node.append(child)
        node = child
    out = to_jsonable(deep)
    depth = 0
    while isinstance(out, list) and out:
        out, depth = out[0], depth + 1
    assert depth == 100_000
    loop: dict[str, object] = {}
    loop["self"] = loop
    assert to_jsonable(loop) == {"self": {"__ref": "cycle"}}


def test_iso_ms_matches_javascript() -> None:
    assert iso_ms(datetime(2026, 1, 2, 3, 4, 5, 416999, tzinfo=UTC)) == "2026-01-02T03:04:05.417Z"
    assert iso_ms(datetime(2026, 1, 2, 3, 4, 5, 999600)) == "2026-01-02T03:04:06.000Z"
    plus_two = timezone(timedelta(hours=2))
    assert iso_ms(datetime(2026, 1, 2, 3, 0, tzinfo=plus_two)) == "2026-01-02T01:00:00.000Z"
