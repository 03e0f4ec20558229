"""Malformed inputs for the binary and wrapped formats: DynamoDB typed JSON (export-to-S3
`{"Item": …}` lines and scan dumps), `workflow inspect` captures, API v4 frame streams and
CBOR (v2/v3) pages. Each format gets the value mutations of `generate.VALUE_MUTATIONS` (one
bad event in the middle of a run's good ones) and its own damage: truncation, invalid UTF-8,
BOMs, CBOR-only values (date tags out of range, shared-reference bombs, bignums), broken
frames and cut pages.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Iterator
from typing import Any

import cbor2

from tests.fuzz.generate import (
    VALUE_MUTATIONS,
    Case,
    Event,
    _keys,
    _value_case,
    dumps,
    events,
)
from tests.importers.wire_helpers import typed

MIDDLE = 2


def _unmarker(value: Any) -> Any:
    """Uint8Array markers (`{"__type": "Uint8Array", "data": base64}`) as bytes."""
    if isinstance(value, dict):
        if value.get("__type") == "Uint8Array" and isinstance(value.get("data"), str):
            try:
                return base64.b64decode(value["data"], validate=True)
            except ValueError:
                return value
        return {k: _unmarker(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unmarker(v) for v in value]
    return value


# -- DynamoDB typed JSON --------------------------------------------------------------------


def _cut_inside(data: bytes, piece: bytes) -> bytes:
    """`data` with the second half of `piece` (its first occurrence) gone, the rest kept."""
    at = data.index(piece)
    return data[: at + len(piece) // 2] + data[at + len(piece) :]


def _cut_off(data: bytes, piece: bytes) -> bytes:
    """`data` cut in the middle of `piece` (its first occurrence): the file ends there."""
    return data[: data.index(piece) + len(piece) // 2]


def _item(event: Event) -> dict[str, Any]:
    return {k: typed(v) for k, v in _unmarker(event).items()}


def _export(evs: list[Event]) -> bytes:
    return b"".join(dumps({"Item": _item(e)}) + b"\n" for e in evs)


def _scan(evs: list[Event]) -> bytes:
    items = [_item(e) for e in evs]
    return dumps({"Items": items, "Count": len(items), "ScannedCount": len(items)})


# Typed values only DynamoDB JSON can hold wrong: (name, change to the typed item, good?).
TYPED_MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], bool]] = [
    ("n-1e999", lambda i: {**i, "createdAt": {"N": "1e999"}}, False),
    ("n-not-a-number", lambda i: {**i, "specVersion": {"N": "three"}}, False),
    ("spec-n-2p70", lambda i: {**i, "specVersion": {"N": str(2**70)}}, False),
    ("unknown-type-tag", lambda i: {**i, "runId": {"X": "wrun_x"}}, False),
    ("two-type-tags", lambda i: {**i, "eventId": {"S": "a", "N": "1"}}, False),
    ("untyped-value", lambda i: {**i, "eventType": "step_created"}, False),
    ("b-not-base64", lambda i: {**i, "eventData": {"B": "@@@not base64@@@"}}, False),
    ("deep-m-300", lambda i: {**i, "shard": _deep_m(300)}, False),
    ("ss-of-numbers", lambda i: {**i, "tags": {"SS": [1, 2]}}, False),
    ("null-false", lambda i: {**i, "correlationId": {"NULL": False}}, False),
]


def _deep_m(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"a": value}}
    return value


# What the attribute mapping takes by design (README, DynamoDB): a number as a key or id
# attribute is its decimal text, and a payload attribute holding text or a list is the
# payload alone, put back under the event type's payload field.
DYNAMODB_GOOD = frozenset(
    {"run-id-number", "correlation-number", "event-data-string", "event-data-list"}
)


def _dynamodb_cases(start: int) -> Iterator[Case]:
    number = start
    for name, change, bad_elsewhere in VALUE_MUTATIONS:
        good = bad_elsewhere or name in DYNAMODB_GOOD
        for kind, write in (("export", _export), ("scan", _scan)):
            number += 1
            evs, _, kept, bad = _value_case(number, change, good, MIDDLE)
            if name == "run-id-number":  # stored under the number's text
                kept = {(str(e["runId"]), e["eventId"]) for e in evs}
            yield Case(
                f"ddb-{kind}-{name}", "dynamodb-json", {"d.json": write(evs)}, "d.json", kept, bad
            )
    for name, typed_change, good in TYPED_MUTATIONS:
        for kind in ("export", "scan"):
            number += 1
            evs = events(number)
            items = [_item(e) for e in evs]
            items[MIDDLE] = typed_change(items[MIDDLE])
            kept = _keys([e for i, e in enumerate(evs) if good or i != MIDDLE])
            data = (
                b"".join(dumps({"Item": i}) + b"\n" for i in items)
                if kind == "export"
                else dumps({"Items": items, "Count": len(items), "ScannedCount": len(items)})
            )
            yield Case(
                f"ddb-{kind}-{name}",
                "dynamodb-json",
                {"d.json": data},
                "d.json",
                kept,
                0 if good else 1,
            )
    # export lines: cut, invalid UTF-8 in an id, garbage, a BOM, CRLF
    for name, line_change, good in (
        ("line-cut", lambda line: line[: len(line) // 2], False),
        ("line-invalid-utf8", lambda line: line.replace(b"wrun_", b"wrun_\xff\xfe", 1), False),
        ("line-garbage", lambda line: bytes(range(14, 256)), False),
        ("line-crlf", lambda line: line + b"\r", True),
    ):
        number += 1
        evs = events(number)
        lines = [dumps({"Item": _item(e)}) for e in evs]
        lines[MIDDLE] = line_change(lines[MIDDLE])
        kept = _keys([e for i, e in enumerate(evs) if good or i != MIDDLE])
        data = b"\n".join(lines) + b"\n"
        yield Case(
            f"ddb-export-{name}",
            "dynamodb-json",
            {"d.json": data},
            "d.json",
            kept,
            0 if good else 1,
        )
    number += 1
    evs = events(number)
    bom = b"\xef\xbb\xbf" + _export(evs)
    yield Case("ddb-export-bom", "dynamodb-json", {"d.json": bom}, "d.json", _keys(evs), 0)
    number += 1
    evs = events(number)
    yield Case(
        "ddb-scan-bom",
        "dynamodb-json",
        {"d.json": b"\xef\xbb\xbf" + _scan(evs)},
        "d.json",
        _keys(evs),
        0,
    )
    # scan dumps: invalid UTF-8 in one item's id, an item cut (the rest kept), the file cut
    number += 1
    evs = events(number)
    data = _scan(evs)
    marker = dumps(_item(evs[MIDDLE])["eventId"])
    data = data.replace(marker, marker.replace(b"wevt_", b"wevt_\xff"), 1)
    kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
    yield Case("ddb-scan-invalid-utf8", "dynamodb-json", {"d.json": data}, "d.json", kept, 1)
    number += 1
    evs = events(number)
    first, second = _scan(evs[:3]), _scan(evs[3:])
    item = dumps(_item(evs[1]))
    cut = _cut_inside(first, item)
    kept = _keys([e for i, e in enumerate(evs) if i != 1])
    yield Case(
        "ddb-scan-item-cut",
        "dynamodb-json",
        {"d.json": b"[" + cut + b"," + second + b"]"},
        "d.json",
        kept,
        1,
    )
    number += 1
    evs = events(number)
    data = _scan(evs)
    item = dumps(_item(evs[-1]))
    data = _cut_off(data, item)
    kept = _keys(evs[:-1])
    yield Case("ddb-scan-file-cut", "dynamodb-json", {"d.json": data}, "d.json", kept, 1)


# -- workflow inspect -----------------------------------------------------------------------


def _hydrated(event: Event) -> Event:
    data = event.get("eventData")
    if isinstance(data, dict) and isinstance(data.get("input"), dict) and "__type" in data["input"]:
        return {**event, "eventData": {**data, "input": {"n": 7}}}
    return event


def _inspect_doc(evs: list[Event]) -> bytes:
    return dumps({"data": [_hydrated(e) for e in evs], "cursor": None, "hasMore": False})


def _inspect_cases(start: int) -> Iterator[Case]:
    number = start
    for name, change, good in VALUE_MUTATIONS:
        if name.startswith("payload-"):
            continue  # inspect output holds payloads hydrated: no bytes to break
        number += 1
        evs, _, kept, bad = _value_case(number, change, good, MIDDLE)
        yield Case(f"inspect-{name}", "inspect", {"i.json": _inspect_doc(evs)}, "i.json", kept, bad)
        number += 1
        evs, _, kept, bad = _value_case(number, change, good, MIDDLE)
        array = dumps([_hydrated(e) for e in evs])
        yield Case(f"inspect-array-{name}", "inspect", {"i.json": array}, "i.json", kept, bad)
    number += 1
    evs = events(number)
    yield Case(
        "inspect-bom",
        "inspect",
        {"i.json": b"\xef\xbb\xbf" + _inspect_doc(evs)},
        "i.json",
        _keys(evs),
        0,
    )
    number += 1
    evs = events(number)
    data = dumps([_hydrated(e) for e in evs])
    event = dumps(_hydrated(evs[MIDDLE]))
    data = _cut_inside(data, event)
    kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
    yield Case("inspect-array-event-cut", "inspect", {"i.json": data}, "i.json", kept, 1)
    number += 1
    evs = events(number)
    data = _inspect_doc(evs)
    event = dumps(_hydrated(evs[-1]))
    data = _cut_off(data, event)
    yield Case("inspect-file-cut", "inspect", {"i.json": data}, "i.json", _keys(evs[:-1]), 1)
    number += 1
    evs = events(number)
    data = _inspect_doc(evs)
    marker = evs[MIDDLE]["eventId"].encode()
    data = data.replace(marker, marker[:-3] + b"\xff\xfe\xfd", 1)
    kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
    yield Case("inspect-invalid-utf8", "inspect", {"i.json": data}, "i.json", kept, 1)


# -- CBOR pages (v2/v3) and v4 frames ---------------------------------------------------------


def _cbor_value(value: Any) -> Any:
    """Payload bytes as tag 64, as cbor-x writes a Uint8Array."""
    value = _unmarker(value)
    if isinstance(value, dict):
        return {k: _cbor_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cbor_value(v) for v in value]
    if isinstance(value, bytes):
        return cbor2.CBORTag(64, value)
    return value


def _cbor_page(evs: list[Any]) -> bytes:
    return cbor2.dumps(
        {"data": [_cbor_value(e) for e in evs], "cursor": None, "hasMore": False},
        value_sharing=False,
    )


def _frame(event: Any) -> bytes:
    event = _unmarker(event)
    body = b""
    if isinstance(event, dict) and isinstance(event.get("eventData"), dict):
        data = dict(event["eventData"])
        if isinstance(data.get("input"), bytes):
            body = data.pop("input")
        event = {**event, "eventData": data}
    meta = cbor2.dumps(event)
    return struct.pack(">I", len(meta)) + meta + struct.pack(">I", len(body)) + body


def _end() -> bytes:
    meta = cbor2.dumps({"_end": 1, "next": None, "hasMore": False})
    return struct.pack(">I", len(meta)) + meta


def _frames(evs: list[Any]) -> bytes:
    return b"".join(_frame(e) for e in evs) + _end()


def _shared_bomb() -> Any:
    value: Any = "leaf"
    for _ in range(40):
        value = [value, value]
    return value


# Values CBOR can carry and JSON cannot: (name, change, good?).
CBOR_MUTATIONS: list[tuple[str, Callable[[Event], Any], bool]] = [
    ("created-date-tag-1e20", lambda e: {**e, "createdAt": cbor2.CBORTag(1, 1e20)}, False),
    ("created-date-tag-nan", lambda e: {**e, "createdAt": cbor2.CBORTag(1, float("nan"))}, False),
    ("created-date-tag-text", lambda e: {**e, "createdAt": cbor2.CBORTag(1, "soon")}, False),
    ("spec-bignum-2p100", lambda e: {**e, "specVersion": 2**100}, False),
    ("run-id-bytes", lambda e: {**e, "runId": e["runId"].encode()}, False),
    ("event-type-undefined", lambda e: {**e, "eventType": cbor2.undefined}, False),
    (
        "unknown-tag-in-data",
        lambda e: {**e, "eventData": {**e["eventData"], "x": cbor2.CBORTag(999, 1)}},
        True,
    ),
    ("int-keys", lambda e: {**e, "eventData": {1: "a", 2: [3]}}, True),
]


def _cbor_bomb_page(evs: list[Event]) -> bytes:
    """A page whose middle event's eventData shares one value 2^40 times."""
    pages = [_cbor_value(e) for e in evs]
    pages[MIDDLE] = {**pages[MIDDLE], "eventData": {"stepName": "charge", "bomb": _shared_bomb()}}
    return cbor2.dumps({"data": pages, "cursor": None, "hasMore": False}, value_sharing=True)


def _binary_cases(start: int) -> Iterator[Case]:
    number = start
    mutations: list[tuple[str, Callable[[Event], Any], bool]] = [*VALUE_MUTATIONS, *CBOR_MUTATIONS]
    for name, change, good in mutations:
        for kind, write, fmt, ext in (
            ("cbor", _cbor_page, "api-v1", "cbor"),
            ("v4", _frames, "api-v4", "v4"),
        ):
            number += 1
            evs, _, kept, bad = _value_case(number, change, good, MIDDLE)
            yield Case(f"{kind}-{name}", fmt, {f"p.{ext}": write(evs)}, f"p.{ext}", kept, bad)
    number += 1
    evs = events(number)
    kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
    yield Case(
        "cbor-shared-ref-bomb", "api-v1", {"p.cbor": _cbor_bomb_page(evs)}, "p.cbor", kept, 1
    )
    number += 1
    evs = events(number)
    frames = [_frame(e) for e in evs]
    meta = cbor2.dumps(
        {**_unmarker(evs[MIDDLE]), "eventData": {"bomb": _shared_bomb()}}, value_sharing=True
    )
    frames[MIDDLE] = struct.pack(">I", len(meta)) + meta + struct.pack(">I", 0)
    kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
    yield Case("v4-shared-ref-bomb", "api-v4", {"p.v4": b"".join(frames) + _end()}, "p.v4", kept, 1)
    # invalid UTF-8 in a text string: the event is quarantined, never stored under a changed id
    for kind, write, fmt, ext in (
        ("cbor", _cbor_page, "api-v1", "cbor"),
        ("v4", _frames, "api-v4", "v4"),
    ):
        number += 1
        evs = events(number)
        data = write(evs)
        marker = evs[MIDDLE]["eventId"].encode()
        data = data.replace(marker, marker[:-2] + b"\xff\xfe", 1)
        kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
        yield Case(f"{kind}-invalid-utf8", fmt, {f"p.{ext}": data}, f"p.{ext}", kept, 1)
    # damage: cuts and broken frames; whole records before and after are kept
    number += 1
    evs = events(number)
    data = _cbor_page(evs)
    event = cbor2.dumps(_cbor_value(evs[-1]))
    data = _cut_off(data, event)
    yield Case("cbor-file-cut", "api-v1", {"p.cbor": data}, "p.cbor", _keys(evs[:-1]), 1)
    number += 1
    evs = events(number)
    data = _cbor_page(evs)
    event = cbor2.dumps(_cbor_value(evs[MIDDLE]))
    data = _cut_inside(data, event)
    kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
    yield Case("cbor-event-cut", "api-v1", {"p.cbor": data}, "p.cbor", kept, 1)
    for name, damage in (
        ("meta-length", lambda f: b"\xff\xff\xff\xff" + f[4:]),
        ("body-length", lambda f: f[: -4 - len(_body(f))] + b"\x7f\xff\xff\xff" + _body(f)),
        ("meta-garbage", lambda f: f[:6] + b"\xff" * 8 + f[14:]),
        ("frame-cut", lambda f: f[: len(f) // 2]),
    ):
        number += 1
        evs = events(number)
        frames = [_frame(e) for e in evs]
        frames[MIDDLE] = damage(frames[MIDDLE])
        kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
        yield Case(f"v4-{name}", "api-v4", {"p.v4": b"".join(frames) + _end()}, "p.v4", kept, 1)
    number += 1
    evs = events(number)
    data = _frames(evs)
    yield Case(
        "v4-stream-cut",
        "api-v4",
        {"p.v4": data[: len(data) - len(_end()) - 7]},
        "p.v4",
        _keys(evs[:-1]),
        1,
    )


def _body(frame: bytes) -> bytes:
    meta_len = int.from_bytes(frame[:4], "big")
    return frame[8 + meta_len :]


def _array_cases(start: int) -> Iterator[Case]:
    """JSON arrays of events (compact and pretty-printed) cut or broken mid-array: every
    whole event before and after the damage is kept, the damage quarantined once."""
    number = start
    for style, write in (
        ("compact", dumps),
        ("pretty", lambda evs: json.dumps(evs, indent=2).encode()),
    ):
        indent = 2 if style == "pretty" else None
        number += 1
        evs = events(number)
        data = write(evs)
        event = json.dumps(evs[MIDDLE], indent=indent).replace("\n", "\n  ").encode()
        event = event if style == "pretty" else dumps(evs[MIDDLE])
        data = _cut_inside(data, event)
        kept = _keys([e for i, e in enumerate(evs) if i != MIDDLE])
        yield Case(f"array-{style}-event-cut", "jsonl", {"a.json": data}, "a.json", kept, 1)
        number += 1
        evs = events(number)
        data = write(evs)
        event = json.dumps(evs[-1], indent=indent).replace("\n", "\n  ").encode()
        event = event if style == "pretty" else dumps(evs[-1])
        data = _cut_off(data, event)
        yield Case(
            f"array-{style}-file-cut", "jsonl", {"a.json": data}, "a.json", _keys(evs[:-1]), 1
        )


def format_cases(start: int) -> list[Case]:
    return [
        *_array_cases(start + 3000),
        *_dynamodb_cases(start),
        *_inspect_cases(start + 1000),
        *_binary_cases(start + 2000),
    ]
