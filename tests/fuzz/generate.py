"""A corpus of malformed inputs over every file format, each mixed with good records.

Every case is a few good events of a run of its own with one bad (or odd) record at the
start, the middle or the end. A case knows which events must be stored (exactly once)
and how many records must land in quarantine; values that are odd but storable (a payload
past its budget, brackets in ids, a BOM) count as good. Run it as a module to write the
corpus to a folder: `python -m tests.fuzz.generate OUT`.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GOOD_EVENTS = 5
POSITIONS = {"early": 0, "middle": 2, "late": GOOD_EVENTS}
Event = dict[str, Any]


@dataclass
class Case:
    """One input: files to write under a folder, the path to import, what must happen."""

    name: str
    fmt: str
    files: dict[str, bytes]
    target: str
    good: set[tuple[str, str]] = field(default_factory=set)
    bad: int = 0
    bulk: bool = False  # import with the bulk JSON Lines path forced on


def _ulid(n: int, width: int = 26) -> str:
    out = []
    for _ in range(width):
        n, digit = divmod(n, 32)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out))


def _payload(raw: bytes) -> dict[str, str]:
    return {"__type": "Uint8Array", "data": base64.b64encode(raw).decode()}


def events(case_no: int) -> list[Event]:
    """The good events of case `case_no`'s run (a run id and event ids of its own)."""
    run = "wrun_01M7" + _ulid(case_no, 22)
    out = []
    for i in range(GOOD_EVENTS + 1):
        out.append(
            {
                "runId": run,
                "eventId": "wevt_01M7" + _ulid(case_no * 100 + i, 22),
                "eventType": "step_created",
                "correlationId": "step_01M7YNNAT4A8ZR6Y5KQ6X2B9QH",
                "createdAt": f"2026-11-20T10:00:0{i}.000Z",
                "specVersion": 2,
                "eventData": {"stepName": "charge", "input": _payload(b'devl[{"n":1},7]')},
            }
        )
    return out


def _deep(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def _bomb() -> bytes:
    """686-ish bytes of devalue that name 2^40 leaves through shared slots."""
    flat: list[object] = [[i + 1, i + 1] for i in range(40)]
    flat.append("x")
    return b"devl" + orjson.dumps(flat)


def _set(name: str, value: object) -> Callable[[Event], Event]:
    return lambda e: {**e, name: value}


def _drop(name: str) -> Callable[[Event], Event]:
    return lambda e: {k: v for k, v in e.items() if k != name}


def _data(**changes: object) -> Callable[[Event], Event]:
    return lambda e: {**e, "eventData": {**e["eventData"], **changes}}


# (name, change, good?) for values inside an event object, in every JSON format.
VALUE_MUTATIONS: list[tuple[str, Callable[[Event], Event], bool]] = [
    ("created-1e20", _set("createdAt", 1e20), False),
    ("created-year-33658", _set("createdAt", 1_000_000_000_000_000), False),
    ("created-not-a-time", _set("createdAt", "yesterday-ish"), False),
    ("created-bool", _set("createdAt", True), False),
    ("spec-2p40", _set("specVersion", 2**40), False),
    ("spec-2p5", _set("specVersion", 2.5), False),
    ("spec-text", _set("specVersion", "three"), False),
    ("spec-bool", _set("specVersion", True), False),
    ("spec-negative-2p63", _set("specVersion", -(2**63)), False),
    ("run-id-number", _set("runId", 12345), False),
    ("event-id-missing", _drop("eventId"), False),
    ("event-type-empty", _set("eventType", ""), False),
    ("event-type-missing", _drop("eventType"), False),
    ("event-data-string", _set("eventData", "x"), False),
    ("event-data-list", _set("eventData", [1, 2]), False),
    ("correlation-number", _set("correlationId", 7), False),
    ("deep-300", _data(nested=_deep(300)), False),
    ("payload-bomb", _data(input=_payload(_bomb())), True),
    (
        "payload-deep-5000",
        _data(input=_payload(b"devl" + orjson.dumps([[i + 1] for i in range(5000)] + [1]))),
        True,
    ),
    ("payload-bad-base64", _data(input={"__type": "Uint8Array", "data": "@@not base64@@"}), True),
    ("payload-garbage", _data(input=_payload(b"devl[[[[")), True),
    ("payload-zstd-garbage", _data(input=_payload(b"zstd" + b"\x00" * 40)), True),
    (
        "ids-with-markup",
        _set("correlationId", "step_[/bold][link=https://x.invalid]x[/link]"),
        True,
    ),
    ("ids-unicode", _set("correlationId", "step_🚀_ünïcødé"), True),
    ("unknown-field", _set("shardKey", {"a": [1, 2, {"b": None}]}), True),
    ("event-data-null", _set("eventData", None), True),
    ("created-epoch-ms", _set("createdAt", 1_763_700_000_123), True),
    ("created-naive", _set("createdAt", "2026-11-20T10:00:00"), True),
    ("spec-digits", _set("specVersion", "3"), True),
    ("empty-object", lambda e: {}, False),
]

# (name, the line instead of the event's, good?) for JSON Lines only.
LINE_MUTATIONS: list[tuple[str, Callable[[bytes], bytes], bool]] = [
    ("line-cut", lambda line: line[: len(line) // 2], False),
    ("line-invalid-utf8", lambda line: line.replace(b"charge", b"ch\xff\xfege"), False),
    ("line-nul", lambda line: line.replace(b"charge", b"ch\x00ge"), False),
    ("line-garbage", lambda line: bytes(range(14, 256)), False),
    ("line-nan", lambda line: line.replace(b'"specVersion":2', b'"specVersion":NaN'), False),
    (
        "line-big-int",
        lambda line: line.replace(b'"specVersion":2', b'"specVersion":' + b"9" * 40),
        False,
    ),
    (
        "line-deep-1100",
        lambda line: line[:-1] + b',"deep":' + b"[" * 1100 + b"]" * 1100 + b"}",
        False,
    ),
    ("line-lone-surrogate", lambda line: line.replace(b"charge", b"ch\\ud800ge"), False),
    ("line-duplicate-key", lambda line: line[:-1] + b',"correlationId":"step_dup"}', True),
    ("line-crlf", lambda line: line + b"\r", True),
    ("line-array", lambda line: b"[" + line + b"]", False),
    ("line-number", lambda line: b"42", False),
]


# Lines whose trouble sits in a top-level key the bulk reader is not asked for: DuckDB's
# reader drops such keys unseen, so these stay with the record path (a known limit).
BULK_BLIND = frozenset({"line-deep-1100", "line-duplicate-key"})


def dumps(value: object) -> bytes:
    """JSON text; stdlib json for what orjson will not write (nesting past 255 levels)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _jsonl(evs: list[Event], raw: dict[int, bytes] | None = None) -> bytes:
    lines = [dumps(e) for e in evs]
    for index, line in (raw or {}).items():
        lines[index] = line
    return b"\n".join(lines) + b"\n"


def _world_local(evs: list[Event], originals: list[Event]) -> dict[str, bytes]:
    files = {}
    for event, original in zip(evs, originals, strict=True):
        name = f"{original['runId']}-{original['eventId']}.json"
        files[f".workflow-data/events/{name}"] = dumps(event)
    return files


def _api_page(evs: list[Event]) -> bytes:
    return dumps({"data": evs, "cursor": None, "hasMore": False})


def _keys(evs: list[Event]) -> set[tuple[str, str]]:
    return {(e["runId"], e["eventId"]) for e in evs}


def _value_case(
    number: int, change: Callable[[Event], Event], good: bool, index: int
) -> tuple[list[Event], list[Event], set[tuple[str, str]], int]:
    """A run's events with event `index` changed: (events, originals, kept keys, bad)."""
    evs = events(number)
    originals = list(evs)
    evs[index] = change(evs[index])
    kept = _keys([e for i, e in enumerate(originals) if good or i != index])
    return evs, originals, kept, 0 if good else 1


def _value_cases(start: int) -> Iterator[Case]:
    number = start
    for name, change, good in VALUE_MUTATIONS:
        for where, index in POSITIONS.items():
            number += 10
            tag = f"{name}-{where}"
            evs, _, kept, bad = _value_case(number, change, good, index)
            yield Case(f"jsonl-{tag}", "jsonl", {"e.jsonl": _jsonl(evs)}, "e.jsonl", kept, bad)
            evs, _, kept, bad = _value_case(number + 1, change, good, index)
            yield Case(
                f"bulk-{tag}", "jsonl", {"e.jsonl": _jsonl(evs)}, "e.jsonl", kept, bad, bulk=True
            )
            if where != "middle":
                continue
            evs, _, kept, bad = _value_case(number + 2, change, good, index)
            yield Case(f"array-{tag}", "jsonl", {"a.json": dumps(evs)}, "a.json", kept, bad)
            evs, originals, kept, bad = _value_case(number + 3, change, good, index)
            yield Case(
                f"world-local-{tag}",
                "world-local",
                _world_local(evs, originals),
                ".workflow-data",
                kept,
                bad,
            )
            evs, _, kept, bad = _value_case(number + 4, change, good, index)
            yield Case(f"api-v1-{tag}", "api-v1", {"p.json": _api_page(evs)}, "p.json", kept, bad)


def _line_cases(start: int) -> Iterator[Case]:
    number = start
    for name, change, good in LINE_MUTATIONS:
        for where, index in POSITIONS.items():
            for bulk in (False, True):
                if bulk and name in BULK_BLIND:
                    continue
                number += 1
                evs = events(number)
                line = change(dumps(evs[index]))
                kept = _keys([e for i, e in enumerate(evs) if good or i != index])
                data = _jsonl(evs, {index: line})
                prefix = "bulk" if bulk else "jsonl"
                yield Case(
                    f"{prefix}-{name}-{where}",
                    "jsonl",
                    {"e.jsonl": data},
                    "e.jsonl",
                    kept,
                    0 if good else 1,
                    bulk=bulk,
                )


def _container_cases(start: int) -> Iterator[Case]:
    """BOMs, gzip cut at several points, a bad CRC, a JSON array cut short."""
    number = start
    number += 1
    evs = events(number)
    data = b"\xef\xbb\xbf" + _jsonl(evs)
    yield Case("jsonl-bom", "jsonl", {"e.jsonl": data}, "e.jsonl", _keys(evs), 0)
    number += 1
    evs = events(number)
    yield Case(
        "array-bom",
        "jsonl",
        {"a.json": b"\xef\xbb\xbf" + orjson.dumps(evs)},
        "a.json",
        _keys(evs),
        0,
    )
    number += 1
    evs = events(number)
    page = b"\xef\xbb\xbf" + _api_page(evs)
    yield Case("api-v1-bom", "api-v1", {"p.json": page}, "p.json", _keys(evs), 0)
    for cut in (0.3, 0.5, 0.7, 0.9):
        number += 1
        evs = events(number) * 1
        text = _jsonl(evs)
        packed = gzip.compress(text * 1)
        part = packed[: int(len(packed) * cut)]
        readable = zlib.decompressobj(wbits=31).decompress(part)
        whole = readable.count(b"\n")
        lines = text.split(b"\n")
        kept = _keys(evs[:whole])
        cut_line = 1 if readable and not readable.endswith(b"\n") else 0
        yield Case(
            f"gzip-cut-{int(cut * 100)}",
            "jsonl",
            {"e.jsonl.gz": part},
            "e.jsonl.gz",
            kept,
            1 + cut_line,
        )
        del lines
    number += 1
    evs = events(number)
    packed = bytearray(gzip.compress(_jsonl(evs)))
    packed[-6] ^= 0xFF
    yield Case("gzip-bad-crc", "jsonl", {"e.jsonl.gz": bytes(packed)}, "e.jsonl.gz", _keys(evs), 0)
    number += 1
    evs = events(number)
    yield Case(
        "jsonl-gz-good",
        "jsonl",
        {"e.jsonl.gz": gzip.compress(_jsonl(evs))},
        "e.jsonl.gz",
        _keys(evs),
        0,
    )
    number += 1
    evs = events(number)
    bad_id = {**evs[1], "runId": "wrun_BADUTF8"}
    no_type = {k: v for k, v in {**evs[3], "runId": "wrun_BADUTF8"}.items() if k != "eventType"}
    page = _api_page([evs[0], bad_id, evs[2], no_type, evs[4], evs[5]])
    page = page.replace(b"wrun_BADUTF8", b"wrun_\xff\xfe")
    kept = _keys([evs[0], evs[2], evs[4], evs[5]])
    yield Case("api-v1-invalid-utf8", "api-v1", {"p.json": page}, "p.json", kept, 2)
    number += 1
    evs = events(number)
    crlf = _jsonl(evs).replace(b"\n", b"\r\n")
    yield Case("jsonl-crlf-file", "jsonl", {"e.jsonl": crlf}, "e.jsonl", _keys(evs), 0)


def _huge_cases(start: int) -> Iterator[Case]:
    """One event of 17 MiB among good ones: past the per-event limit, quarantined."""
    blob = _data(blob="x" * (17 * 2**20))
    evs, _, kept, bad = _value_case(start + 1, blob, False, 2)
    yield Case("jsonl-huge-event", "jsonl", {"e.jsonl": _jsonl(evs)}, "e.jsonl", kept, bad)
    evs, originals, kept, bad = _value_case(start + 2, blob, False, 2)
    yield Case(
        "world-local-huge-event",
        "world-local",
        _world_local(evs, originals),
        ".workflow-data",
        kept,
        bad,
    )


def _trace_lines(number: int) -> list[dict[str, Any]]:
    run = "wrun_01M7" + _ulid(number, 22)
    events = [
        {"i": "wevt_01M7" + _ulid(number * 100 + i, 22), "t": "step_created"} for i in range(3)
    ]
    return [
        {"k": "replay_start", "runId": run, "inv": 1, "pid": 7, "eventCount": 3, "events": events},
        {
            "k": "step_subscribe",
            "runId": run,
            "inv": 1,
            "seq": 1,
            "correlationId": "step_01M7YNNAT4A8ZR6Y5KQ6X2B9QH",
            "stepName": "charge",
        },
        {
            "k": "step_mismatch",
            "runId": run,
            "inv": 1,
            "correlationId": "step_01M7YNNAT4A8ZR6Y5K",
            "expectedStepName": "charge",
            "eventStepName": "refund",
            "eventIndex": 1,
        },
        {"k": "replay_end", "runId": run, "inv": 1, "outcome": "suspended"},
    ]


# (name, line index, change) for WF_TRACE records; every one of them is a bad line.
TRACE_MUTATIONS: list[tuple[str, int, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("seq-2p40", 1, lambda r: {**r, "seq": 2**40}),
    ("inv-2p70", 1, lambda r: {**r, "inv": 2**70}),
    ("inv-text", 1, lambda r: {**r, "inv": "one"}),
    ("event-index-2p40", 2, lambda r: {**r, "eventIndex": 2**40}),
    ("event-count-2p40", 0, lambda r: {**r, "eventCount": 2**40}),
    ("pid-2p70", 0, lambda r: {**r, "pid": 2**70}),
    ("unknown-kind", 3, lambda r: {**r, "k": "replay_middle"}),
    ("no-run-id", 3, lambda r: {k: v for k, v in r.items() if k != "runId"}),
    ("events-not-a-list", 0, lambda r: {**r, "events": "3 events"}),
    ("event-without-id", 0, lambda r: {**r, "events": [{"t": "step_created"}]}),
]


def _trace_cases(start: int) -> Iterator[Case]:
    number = start
    prefix = b"2026-11-20T10:00:00.000Z\tabc\tINFO\tWF_TRACE "
    for name, index, change in TRACE_MUTATIONS:
        number += 1
        records = _trace_lines(number)
        records[index] = change(records[index])
        text = b"".join(prefix + dumps(r) + b"\n" for r in records)
        yield Case(f"trace-{name}", "trace", {"t.log": text}, "t.log", set(), 1)
    for name, cut in (("cut-start", 0), ("cut-end", 3)):
        number += 1
        lines = [prefix + dumps(r) for r in _trace_lines(number)]
        lines[cut] = lines[cut][: len(lines[cut]) - 10]
        yield Case(
            f"trace-{name}", "trace", {"t.log": b"\n".join(lines) + b"\n"}, "t.log", set(), 1
        )


def all_cases() -> list[Case]:
    cases = [*_value_cases(0), *_line_cases(5000), *_container_cases(6000), *_huge_cases(7000)]
    cases += _trace_cases(8000)
    from tests.fuzz.formats import format_cases  # it builds on this module's pieces

    cases += format_cases(9000)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


def write_case(case: Case, folder: Path) -> Path:
    for rel, data in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder / case.target


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for case in all_cases():
        write_case(case, out / case.name)
    print(json.dumps({"cases": len(all_cases())}))
