"""Reading one log line that may hold a `WF_TRACE` record (replay.md §4).

Lines come as raw text (`… WF_TRACE {json}`, optionally after a timestamp and, in Lambda's
format, a request id) or as JSON log exports with the text in a field such as `message` and
the export's own timestamp, stream/instance and request id beside it. A line is turned into a
`TraceLine` (the record without its event list, plus the loaded events as digest lines), a
problem to quarantine, or nothing when it is not a trace line. A truncated `replay_start`
keeps the header fields that survived, so the replay still counts and groups by its digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

import orjson

from forensics.importers.base import RecordError
from forensics.importers.normalize import parse_time
from forensics.store.traces import digest_lines

MARKER: Final = b"WF_TRACE"
KINDS: Final = (
    "replay_start",
    "step_subscribe",
    "hook_subscribe",
    "sleep_subscribe",
    "step_mismatch",
    "replay_end",
)
MESSAGE_FIELDS: Final = ("message", "msg", "log", "text", "line", "@message", "textPayload")
TIME_FIELDS: Final = ("timestamp", "@timestamp", "time", "ts", "date", "eventTime")
STREAM_FIELDS: Final = (
    "logStream",
    "logStreamName",
    "stream",
    "instanceId",
    "instance",
    "instance_id",
)
REQUEST_FIELDS: Final = ("requestId", "request_id", "awsRequestId", "reqId")
RAW_LIMIT: Final = 100_000

_LEADING_TIME = re.compile(
    rb"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
)
_REQUEST_ID = re.compile(
    rb"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_HEADER_FIELD = re.compile(r'"(runId|workflowName|startedAt|digest|k)":"([^"\\]*)"')
_HEADER_NUMBER = re.compile(r'"(inv|pid|eventCount)":(\d+)')


@dataclass(frozen=True, slots=True)
class LineMeta:
    """Where a trace line was and what its log export said about it."""

    location: str
    number: int
    logged_at: datetime | None
    stream: str
    request_id: str | None

    @property
    def position(self) -> str:
        return f"line {self.number}"


@dataclass(frozen=True, slots=True)
class TraceLine:
    """One parsed `WF_TRACE` record; a replay_start's loaded events are either parsed
    (`lines`, `i|t|c|n`) or still the raw JSON array (`events_raw`, see `EventLists`)."""

    kind: str
    run_id: str
    inv: int
    fields: dict[str, Any]
    meta: LineMeta
    lines: list[str] | None = None
    events_raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """A trace line that could not be (fully) read: why, and its raw text."""

    reason: str
    raw: str


Parsed = tuple[TraceLine | None, Problem | None]


def read_line(raw: bytes, location: str, number: int, file_stream: str) -> Parsed:
    """Parse one log line; `file_stream` is the stream raw text lines belong to."""
    at = raw.find(MARKER)
    if at < 0:
        return None, None
    if raw[:1] == b"{":
        return _export_line(raw, location, number)
    logged_at, request = _prefix(raw[:at])
    text = raw[at + len(MARKER) :].lstrip()
    return _record(text, LineMeta(location, number, logged_at, file_stream, request), raw)


@lru_cache(maxsize=4096)
def _prefix(head: bytes) -> tuple[datetime | None, str | None]:
    """The time and (Lambda format) request id before the marker; lines of one invocation
    share them, hence the cache."""
    found = _LEADING_TIME.match(head)
    logged_at = _time(found.group(1).decode().replace(",", ".")) if found else None
    parts = head.split(b"\t", 3)
    request = parts[1].decode() if len(parts) == 4 and _REQUEST_ID.match(parts[1]) else None
    return logged_at, request


def _export_line(raw: bytes, location: str, number: int) -> Parsed:
    meta = LineMeta(location, number, None, "", None)
    try:
        outer = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, Problem(f"a JSON log line holding WF_TRACE is broken: {exc}", _raw(raw))
    if not isinstance(outer, dict):
        return None, Problem("a JSON log line holding WF_TRACE is not an object", _raw(raw))
    meta = LineMeta(
        location,
        number,
        _export_time(outer),
        _first(outer, STREAM_FIELDS) or "",
        _first(outer, REQUEST_FIELDS),
    )
    if outer.get("k") in KINDS:
        return _fields(outer, meta, raw)
    message = _message(outer)
    if message is None:
        return None, Problem("no text field of this JSON log line holds WF_TRACE", _raw(raw))
    data = message.encode()
    text = data[data.index(MARKER) + len(MARKER) :].strip()
    return _record(text, meta, raw)


def _message(outer: dict[str, Any]) -> str | None:
    for name in MESSAGE_FIELDS:
        value = outer.get(name)
        if isinstance(value, str) and "WF_TRACE" in value:
            return value
    for value in outer.values():
        if isinstance(value, str) and "WF_TRACE" in value:
            return value
    return None


def _first(outer: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = outer.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            return str(value)
    return None


def _export_time(outer: dict[str, Any]) -> datetime | None:
    for name in TIME_FIELDS:
        if name in outer:
            return _time(outer[name])
    return None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value, "timestamp")
    except RecordError:
        return None


def _raw(raw: bytes) -> str:
    return raw[:RAW_LIMIT].decode(errors="replace")


_START: Final = b'{"k":"replay_start"'
_EVENTS: Final = b',"events":['


def _record(text: bytes, meta: LineMeta, raw: bytes) -> Parsed:
    if text.startswith(_START) and text.endswith(b"]}"):
        # The event list is the last field: parse the header alone and keep the list raw.
        cut = text.find(_EVENTS)
        try:
            head = orjson.loads(text[:cut] + b"}") if cut > 0 else None
        except orjson.JSONDecodeError:
            head = None
        if isinstance(head, dict) and "events" not in head:
            head["events"] = _RawList(text[cut + len(_EVENTS) - 1 : -1])
            return _fields(head, meta, raw)
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return _broken(text, meta, raw, exc)
    if not isinstance(obj, dict):
        return None, Problem("the WF_TRACE payload is not a JSON object", _raw(raw))
    return _fields(obj, meta, raw)


def _broken(text: bytes, meta: LineMeta, raw: bytes, exc: orjson.JSONDecodeError) -> Parsed:
    """A payload that is not JSON: salvage a truncated replay_start's header when possible."""
    truncated = exc.pos >= len(text.rstrip()) - 1 or not text.rstrip().endswith(b"}")
    what = "truncated" if truncated else "not valid JSON"
    problem = Problem(f"WF_TRACE payload {what} ({exc.msg} at character {exc.pos})", _raw(raw))
    if not truncated:
        return None, problem
    head = text[:4096].decode(errors="replace")
    fields: dict[str, Any] = dict(_HEADER_FIELD.findall(head.split('"events"', 1)[0]))
    fields |= {k: int(v) for k, v in _HEADER_NUMBER.findall(head.split('"events"', 1)[0])}
    if fields.get("k") != "replay_start" or "runId" not in fields or "inv" not in fields:
        return None, problem
    if _out_of_range(fields) is not None:
        return None, problem
    line = TraceLine("replay_start", fields["runId"], fields["inv"], fields, meta, None)
    return line, Problem(problem.reason + "; kept its header, its event list is lost", problem.raw)


_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "replay_start": ("events",),
    "step_subscribe": ("seq", "correlationId"),
    "hook_subscribe": ("seq", "correlationId"),
    "sleep_subscribe": ("seq", "correlationId"),
    "step_mismatch": ("correlationId",),
    "replay_end": ("outcome",),
}


def _fields(obj: dict[str, Any], meta: LineMeta, raw: bytes) -> Parsed:
    kind, run_id, inv = obj.get("k"), obj.get("runId"), obj.get("inv")
    if kind not in _REQUIRED:
        return None, Problem(f"unknown WF_TRACE record kind {kind!r}", _raw(raw))
    if not isinstance(run_id, str) or not run_id:
        return None, Problem(f"WF_TRACE {kind} without a runId", _raw(raw))
    if not isinstance(inv, int) or isinstance(inv, bool):
        return None, Problem(f"WF_TRACE {kind} without an integer inv", _raw(raw))
    missing = [name for name in _REQUIRED[kind] if obj.get(name) is None]
    if missing:
        return None, Problem(f"WF_TRACE {kind} without {', '.join(missing)}", _raw(raw))
    if (wrong := _out_of_range(obj)) is not None:
        return None, Problem(f"WF_TRACE {kind}: {wrong}", _raw(raw))
    lines, events_raw = None, None
    if kind == "replay_start":
        events = obj.pop("events")
        try:
            if isinstance(events, _RawList):
                events_raw = events.text
            else:
                lines = event_lines(events)
        except RecordError as exc:
            return None, Problem(f"WF_TRACE replay_start: {exc}", _raw(raw))
    return TraceLine(str(kind), run_id, inv, obj, meta, lines, events_raw), None


# The numbers of a trace record and the range of the column each is stored in.
_NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "inv": (-(2**63), 2**63 - 1),
    "pid": (-(2**63), 2**63 - 1),
    "seq": (-(2**31), 2**31 - 1),
    "eventIndex": (-(2**31), 2**31 - 1),
    "eventCount": (-(2**31), 2**31 - 1),
}


def _out_of_range(obj: dict[str, Any]) -> str | None:
    """Why a number of the record cannot be stored (not whole, or past its column's
    range), or None."""
    for name, (low, high) in _NUMBER_RANGES.items():
        value = obj.get(name)
        if isinstance(value, float):  # JSON reads integers past 64 bits as floats
            return f"{name} {value:.6g} is not an integer within {low}..{high}"
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            return f"{name} {value:.6g} is outside {low}..{high}"
    return None


def event_lines(events: Any) -> list[str]:
    """`i|t|c|n` of each loaded event; a `RecordError` names the first unusable item."""
    if not isinstance(events, list):
        raise RecordError("events is not a list")
    try:
        return [f"{e['i']}|{e['t']}|{e.get('c') or ''}|{e.get('n') or ''}" for e in events]
    except (KeyError, TypeError, AttributeError):
        pass
    for index, e in enumerate(events):
        if not isinstance(e, dict) or not isinstance(e.get("i"), str):
            raise RecordError(f"event {index} has no eventId (i)") from None
        if not isinstance(e.get("t"), str):
            raise RecordError(f"event {index} ({e['i']}) has no eventType (t)") from None
    raise RecordError("unreadable events list")


@dataclass(frozen=True, slots=True)
class _RawList:
    """A replay_start's `events` array, not parsed yet."""

    text: bytes


_BOUNDARY: Final = b'},{"i":'


class EventLists:
    """Turns raw `events` arrays into digest lines, reusing the previous list of the run.

    Replays of one run load mostly the same events, so the raw array shares a long prefix
    with the previous one: only the items after the last item boundary inside the shared
    bytes are parsed. Items are split at `},{"i":` (the eventId comes first in every item);
    when the result's digest disagrees with the logged one, the whole array is parsed again,
    so a boundary look-alike inside a string can never make a false mismatch.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[bytes, list[str]]] = {}

    def lines(self, run_id: str, raw: bytes, logged: str | None) -> tuple[list[str], str]:
        """The array's digest lines and their digest; a `RecordError` for a bad array."""
        last = self._last.get(run_id)
        lines = self._reuse(last, raw) if last else None
        digest = digest_lines(lines) if lines is not None else None
        if lines is None or (logged is not None and digest != logged):
            try:
                lines = event_lines(orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                raise RecordError(f"events is not a JSON array ({exc.msg})") from None
            digest = digest_lines(lines)
        self._last[run_id] = (raw, lines)
        assert digest is not None
        return lines, digest

    @staticmethod
    def _reuse(last: tuple[bytes, list[str]], raw: bytes) -> list[str] | None:
        before, before_lines = last
        shared = _common_prefix(before, raw)
        cut = raw.rfind(_BOUNDARY, 0, shared + len(_BOUNDARY) - 1)
        if cut < 0:
            return None
        kept = raw.count(_BOUNDARY, 0, cut) + 1
        if kept > len(before_lines):
            return None
        try:
            tail = event_lines(orjson.loads(b"[" + raw[cut + 2 :]))
        except (orjson.JSONDecodeError, RecordError):
            return None
        return before_lines[:kept] + tail


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix of two byte strings: 64 KiB blocks compared
    (memcmp) until one differs, then a binary search inside that block."""
    n, step, start = min(len(a), len(b)), 1 << 16, 0
    while start < n and a[start : start + step] == b[start : start + step]:
        start += step
    if start >= n:
        return n
    lo, hi = start, min(start + step, n)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[start:mid] == b[start:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
