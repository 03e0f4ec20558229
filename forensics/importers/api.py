"""Saved responses of the hosted Workflow API (`@workflow/world-vercel`) as events.

Two importers: `ApiV1Importer` reads saved event pages `{"data": [event…], "cursor", "hasMore"}`
in JSON (v1) or CBOR (v2/v3), where payloads are still bytes (base64 text, `Uint8Array`
markers, CBOR byte strings) or remote refs; `ApiV4Importer` streams the v4 binary frame format,
frame by frame, and reports a stream that stops before its end-of-stream marker as truncated
(whole frames kept, the partial tail quarantined with its byte offset). Both hand the events
to `normalize.event_from_dict`, so payloads decode exactly as for every other source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Final

import orjson

from forensics.decode import PAYLOAD_FIELDS, decode_cbor, to_jsonable
from forensics.decode.binary import b64decode, b64encode, binary_marker
from forensics.decode.errors import DecodeError
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.files import first_json_char, open_binary
from forensics.importers.normalize import event_from_dict
from forensics.importers.salvage import (
    Gap,
    Piece,
    is_event_like,
    is_page_like,
    salvage,
    salvage_cbor,
)
from forensics.model import Provenance, QuarantineRecord
from forensics.store import ImportSession

PAYLOAD_PREFIXES: Final = (b"devl", b"encr", b"encp", b"zstd", b"gzip")
DETECT_BYTES: Final = 1 << 20  # how much of a JSON file detection looks at
MAX_META: Final = 16 << 20  # a frame's meta is an event without its payload: never this big
READ_CHUNK: Final = 1 << 20
TAIL_KEPT: Final = 64 << 10  # bytes of a truncated tail copied into the quarantine row
_CBOR_MAP: Final = frozenset(range(0xA0, 0xC0))
_CBOR_ARRAY: Final = frozenset(range(0x80, 0xA0))
# a document may start with a tag: value sharing (28) around the page, self-described CBOR
_CBOR_START: Final = _CBOR_MAP | _CBOR_ARRAY | frozenset(range(0xC0, 0xDC))
# Bytes in JSON: a Uint8Array marker, a remote ref, or base64 text of a prefixed payload.
_BINARY_HINT: Final = re.compile(
    rb'"__type"\s*:\s*"(Uint8Array|Buffer)"|"_type"\s*:\s*"RemoteRef"'
    rb'|"(input|output|result|error|payload|metadata)"\s*:\s*"(ZGV2|ZW5j|enN0|Z3pp)'
)
_ENVELOPE_HINT: Final = re.compile(rb'"data"\s*:\s*\[')


# -- v1 JSON and v2/v3 CBOR pages ---------------------------------------------------------


class ApiV1Importer:
    """Saved hosted-API event pages: v1 JSON, v2/v3 CBOR (same envelope).

    A file holds one page, a JSON/CBOR array of pages, or (JSON only) pages written one
    after another. Pages are response sized, so a file is parsed whole. Only pages whose
    payloads are still bytes or refs are claimed: `workflow inspect` output has the same
    envelope with hydrated payloads and belongs to the inspect importer.
    """

    name: ClassVar[str] = "api-v1"
    summary: ClassVar[str] = "saved hosted-API event pages ({data, cursor, hasMore}), JSON or CBOR"
    priority: ClassVar[int] = 30

    def detect(self, path: Path, head: bytes) -> bool:
        if path.is_dir() or not head:
            return False
        if head[0] in _CBOR_START:
            return b"\x64data" in head and _cbor_envelope(path)
        if first_json_char(head) not in ("{", "["):
            return False
        with open_binary(path) as fh:
            prefix = fh.read(DETECT_BYTES)
        page = _first_json_page(prefix)
        if page is not None:
            return _page_has_bytes(page)
        return bool(_ENVELOPE_HINT.search(prefix) and _BINARY_HINT.search(prefix))

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        with open_binary(path) as fh:
            content = fh.read()
        location = str(path)
        pages: Iterable[object]
        cbor = bool(content[:1]) and content[0] in _CBOR_START
        if cbor:
            pages = _cbor_pages(content, location, session)
        else:
            pages = _json_pages(content, location, session)
        last: dict[str, Any] | None = None
        number = 0
        for item in pages:
            if isinstance(item, Gap):
                _damaged(item, location, session, cbor=cbor)
                continue
            page = item.value if isinstance(item, Piece) else item
            if isinstance(item, Piece) and not is_page_like(page):
                _import_event(page, Provenance(location, f"byte {item.offset}"), session, options)
                continue
            number += 1
            where = f"page {number}"
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                _quarantine(session, location, where, "not an API page (no data array)", page)
                continue
            last = page
            for index, event in enumerate(page["data"], start=1):
                _import_event(
                    event, Provenance(location, f"{where} event {index}"), session, options
                )
            if options.progress:
                options.progress(len(page["data"]))
        if last is not None and last.get("hasMore") is True:
            session.note(
                f"{location}: the last page says hasMore=true (next cursor "
                f"{last.get('cursor')!r}): the saved pages stop before the end of the log"
            )


def _import_event(
    event: object, provenance: Provenance, session: ImportSession, options: ImportOptions
) -> None:
    try:
        record = event_from_dict(_bytes_back(event), provenance, key=options.key)
    except (RecordError, DecodeError) as exc:
        _quarantine(session, provenance.location, provenance.position, str(exc), event)
        return
    session.add_event(record)


def _bytes_back(event: object) -> object:
    """The event with a base64-text payload turned back into bytes (other forms untouched).

    Only text that decodes to a known payload prefix counts: spec-1 payloads are JSON and
    4.x logs keep errors inline as text, which may well be valid base64 by accident.
    """
    if not isinstance(event, dict) or not isinstance(event.get("eventData"), dict):
        return event
    data: dict[str, Any] = event["eventData"]
    name = PAYLOAD_FIELDS.get(str(event.get("eventType")))
    value = data.get(name) if name else None
    if name is None or not isinstance(value, str):
        return event
    raw = _base64_payload(value)
    if raw is None:
        return event
    return {**event, "eventData": {**data, name: raw}}


def _base64_payload(text: str) -> bytes | None:
    try:
        raw = b64decode(text)
    except DecodeError:
        return None
    return raw if raw[:4] in PAYLOAD_PREFIXES else None


def _page_has_bytes(page: object) -> bool:
    """True when an event of `page` still carries its payload as bytes or a ref."""
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        return False
    for event in page["data"]:
        if not isinstance(event, dict) or not isinstance(event.get("eventData"), dict):
            continue
        name = PAYLOAD_FIELDS.get(str(event.get("eventType")))
        value = event["eventData"].get(name) if name else None
        if isinstance(value, bytes) or (isinstance(value, dict) and _is_binary_or_ref(value)):
            return True
        if isinstance(value, str) and _base64_payload(value) is not None:
            return True
    return False


def _is_binary_or_ref(value: dict[str, Any]) -> bool:
    return value.get("__type") in ("Uint8Array", "Buffer") or value.get("_type") == "RemoteRef"


def _first_json_page(prefix: bytes) -> object:
    """The first page of a JSON file when `prefix` holds all of it, else None."""
    text = prefix.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    start = 0
    if text.startswith("["):
        start = len(text) - len(text[1:].lstrip())
    try:
        page, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    return page


def _json_pages(content: bytes, location: str, session: ImportSession) -> Iterator[object]:
    """Every page of a JSON file: one document, an array of pages, or documents in a row.
    From a document that does not parse on, whole pages and events come as `Piece`s and
    the damage between them as `Gap`s."""
    # bytes that are not UTF-8 stay recognisable (lone surrogates): the event holding them
    # is quarantined by the store, never stored under an id changed by replacement
    text = content.decode("utf-8", errors="surrogateescape")
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    while position < len(text):
        try:
            document, end = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError):
            # every whole page and event from here on, and each damaged stretch between them
            yield from salvage(text, position, lambda v: is_page_like(v) or is_event_like(v))
            return
        yield from document if isinstance(document, list) else [document]
        position = len(text) - len(text[end:].lstrip(" \t\r\n"))


def _cbor_pages(content: bytes, location: str, session: ImportSession) -> Iterator[object]:
    """The pages of a CBOR file as JSON-shaped values (bytes become Uint8Array markers).
    A file that does not decode gives its whole pages and events as `Piece`s and the
    damage between them as `Gap`s (their bytes base64 in `text`)."""
    try:
        document = to_jsonable(decode_cbor(content))
    except DecodeError:
        for item in salvage_cbor(content, lambda v: is_page_like(v) or is_event_like(v)):
            if isinstance(item, Piece):
                yield Piece(item.offset, to_jsonable(item.value))
            else:
                raw = content[item.offset : item.offset + min(item.size, TAIL_KEPT)]
                yield Gap(item.offset, item.size, b64encode(raw))
        return
    yield from document if isinstance(document, list) else [document]


def _cbor_envelope(path: Path) -> bool:
    """True when the CBOR file decodes to a page (or an array of pages) with `data`."""
    with open_binary(path) as fh:
        content = fh.read(DETECT_BYTES + 1)
    if len(content) > DETECT_BYTES:
        return True  # too big to decode just to detect: the `data` key in the head will do
    try:
        document = decode_cbor(content)
    except DecodeError:
        return False
    first = document[0] if isinstance(document, list) and document else document
    return isinstance(first, dict) and "data" in first


def _damaged(gap: Gap, location: str, session: ImportSession, *, cbor: bool) -> None:
    reason = (
        f"damaged {'CBOR' if cbor else 'JSON'} at byte {gap.offset} ({gap.size} bytes):"
        " not a whole event or page;"
        " the whole events and pages before and after it were kept"
    )
    _quarantine(session, location, f"byte {gap.offset}", reason, gap.text)


def _quarantine(
    session: ImportSession, location: str, position: str | None, reason: str, raw: object
) -> None:
    text = raw if isinstance(raw, str) else _json_text(raw)
    session.quarantine(QuarantineRecord(Provenance(location, position), reason, text))


def _json_text(value: object) -> str:
    try:
        return orjson.dumps(to_jsonable(value), option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # text holding bytes that are not UTF-8 (or nested past 255 levels)
        return repr(value)[:100_000]


# -- v4 frame streams ---------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One whole frame: where it starts, its meta (decoded unless `error`) and its body."""

    offset: int
    raw_meta: bytes
    meta: object
    body: bytes
    error: str | None = None


@dataclass(frozen=True)
class StreamEnd:
    """Where the stream stopped: at a sentinel (`meta` set) or cut off (`reason` set)."""

    offset: int
    meta: dict[str, Any] | None = None
    reason: str | None = None
    tail: bytes = b""
    corrupt: bool = False  # a length no stream would write, rather than a cut


class ApiV4Importer:
    """Saved hosted-API v4 frame streams (`application/vnd.workflow.v4-frames`).

    `frame = u32_be(meta_len) ‖ CBOR meta ‖ u32_be(body_len) ‖ body`: meta is the event, the
    body its payload bytes. The stream ends with the sentinel `{"_end": 1, "next", "hasMore"}`;
    without it the stream was cut off. Read frame by frame: files and frames may be large.
    """

    name: ClassVar[str] = "api-v4"
    summary: ClassVar[str] = "saved hosted-API v4 binary frame streams"
    priority: ClassVar[int] = 25

    def detect(self, path: Path, head: bytes) -> bool:
        if path.is_dir() or len(head) < 5:
            return False
        meta_len = int.from_bytes(head[:4], "big")
        if not 0 < meta_len <= MAX_META or head[4] not in _CBOR_MAP:
            return False
        if 4 + meta_len > len(head):
            return True  # a plausible length and a map start are all the head shows
        try:
            meta = decode_cbor(head[4 : 4 + meta_len])
        except DecodeError:
            return False
        return isinstance(meta, dict) and bool({"eventType", "eventId", "_end"} & meta.keys())

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        location = str(path)
        with open_binary(path) as fh:
            for item in read_frames(fh):
                if isinstance(item, Frame):
                    _import_frame(item, location, session, options)
                    if options.progress:
                        options.progress(1)
                elif isinstance(item, Damage):
                    _damaged_frames(item, location, session)
                elif item.meta is not None:
                    if item.meta.get("hasMore") is True:
                        session.note(
                            f"{location}: the stream at byte {item.offset} says hasMore=true "
                            f"(next cursor {item.meta.get('next')!r}): later events are in "
                            "the next page"
                        )
                else:
                    _truncated(item, location, session)


def read_frames(fh: IO[bytes]) -> Iterator[Frame | StreamEnd | Damage]:
    """The frames of a stream, each sentinel as a `StreamEnd`, then a `StreamEnd` with a
    reason if the stream stops without one. Streams written one after another are read in
    turn (bytes after a sentinel start the next page). Bytes that do not make a frame (a
    length no stream would write, a meta that is not CBOR where the lengths do not add up,
    a body running past the end while whole frames follow) come as one `Damage`, and
    reading goes on at the next byte where a whole frame starts; with none left, the
    stream ends there as cut off."""
    r, ended = _Buffered(fh), False
    while True:
        r.mark()
        offset = r.offset
        header = r.read(4)
        if not header and ended:
            return
        if len(header) < 4:
            yield StreamEnd(offset, reason="partial frame header" if header else None, tail=header)
            return
        meta_len = int.from_bytes(header, "big")
        damage: tuple[str, bool] | None = None  # (reason, corrupt) when the frame is not whole
        meta: object = None
        error: str | None = None
        raw_meta = body = b""
        if meta_len > MAX_META:
            damage = (f"implausible meta length {meta_len}", True)
        else:
            raw_meta = r.read(meta_len)
            if len(raw_meta) < meta_len:
                damage = (f"meta of {meta_len} bytes, only {len(raw_meta)} present", False)
        if damage is None:
            meta, error = _decode_meta(raw_meta)
            if isinstance(meta, dict) and meta.get("_end") and "eventType" not in meta:
                yield StreamEnd(offset, meta=meta)
                ended = True
                continue
            size = r.read(4)
            body_len = int.from_bytes(size, "big") if len(size) == 4 else -1
            body = r.read(body_len) if body_len > 0 else b""
            if len(body) < body_len or body_len < 0:
                what = (
                    f"body of {body_len} bytes, only {len(body)}"
                    if body_len >= 0
                    else (f"body length of 4 bytes, only {len(size)}")
                )
                damage = (f"{what} present{_naming(meta)}", False)
            elif error is not None and not (r.at_end() or _frame_at(r, r.offset)):
                damage = (f"frame meta: {error}", True)  # the lengths cannot be trusted
        if damage is None:
            ended = False
            yield Frame(offset, raw_meta, meta, body, error)
            continue
        reason, corrupt = damage
        tail = r.since(offset)
        resume = _next_frame(r, offset)
        if resume is None:
            yield StreamEnd(offset, reason=reason, tail=tail, corrupt=corrupt)
            return
        yield Damage(offset, resume, reason, r.between(offset, resume))
        r.seek(resume)
        ended = False


@dataclass(frozen=True)
class Damage:
    """Bytes from `offset` to `resume` that are no whole frame; reading went on at `resume`."""

    offset: int
    resume: int
    reason: str
    raw: bytes


# a frame starts with a meta length below MAX_META (16 MiB: first byte 0 or 1), then a map
_FRAME_START: Final = re.compile(rb"(?=[\x00\x01][\x00-\xff]{3}[\xa0-\xbf])", re.DOTALL)


class _Buffered:
    """A stream read through a buffer that keeps every byte since the current frame's
    start (`mark`), so a damaged frame can be scanned again from its next byte."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.buf, self.pos, self.base, self.eof = fh, bytearray(), 0, 0, False

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def mark(self) -> None:
        """Forget the bytes before the current position (now and then: it copies)."""
        if self.pos > READ_CHUNK:
            del self.buf[: self.pos]
            self.base += self.pos
            self.pos = 0

    def fill(self, end: int) -> None:
        """Read until the buffer holds the bytes up to file offset `end` (or the end)."""
        while self.base + len(self.buf) < end and not self.eof:
            want = end - self.base - len(self.buf)
            chunk = self.fh.read(min(max(want, READ_CHUNK), 64 * READ_CHUNK))
            if not chunk:
                self.eof = True
                break
            self.buf += chunk

    def read(self, size: int) -> bytes:
        self.fill(self.offset + size)
        out = bytes(self.buf[self.pos : self.pos + size])
        self.pos += len(out)
        return out

    def at_end(self) -> bool:
        self.fill(self.offset + 1)
        return self.pos >= len(self.buf)

    def seek(self, offset: int) -> None:
        self.pos = offset - self.base

    def since(self, offset: int) -> bytes:
        return bytes(self.buf[offset - self.base : self.pos])

    def between(self, start: int, end: int) -> bytes:
        return bytes(self.buf[start - self.base : end - self.base])

    def window(self, start: int) -> tuple[int, bytes]:
        """From file offset `start`, at least a chunk more read: (its end, the bytes)."""
        self.fill(start + READ_CHUNK)
        end = self.base + len(self.buf)
        return end, bytes(self.buf[start - self.base :])


def _frame_at(r: _Buffered, at: int) -> bool:
    """Whether a whole event frame or end marker's meta starts at file offset `at`."""
    r.fill(at + 5)
    head = r.between(at, at + 5)
    if len(head) < 5 or head[4] not in _CBOR_MAP:
        return False
    meta_len = int.from_bytes(head[:4], "big")
    if not 0 < meta_len <= MAX_META:
        return False
    r.fill(at + 4 + meta_len)
    raw = r.between(at + 4, at + 4 + meta_len)
    if len(raw) < meta_len:
        return False
    meta, error = _decode_meta(raw)
    if error is not None or not isinstance(meta, dict):
        return False
    return ("eventType" in meta and "eventId" in meta) or bool(
        meta.get("_end") and "eventType" not in meta
    )


def _next_frame(r: _Buffered, damaged: int) -> int | None:
    """The first offset after `damaged` where a whole frame starts, or None."""
    start = damaged + 1
    while True:
        end, window = r.window(start)
        for match in list(_FRAME_START.finditer(window)):
            if _frame_at(r, start + match.start()):
                return start + match.start()
        if r.eof and end >= r.base + len(r.buf):
            return None
        start = max(start, end - 4)  # a start may straddle the chunk's end


def _decode_meta(raw: bytes) -> tuple[object, str | None]:
    try:
        return decode_cbor(raw), None
    except DecodeError as exc:
        return None, str(exc)


def _naming(meta: object) -> str:
    """` (event <id> <type>)` when the meta of a partial frame is whole."""
    if isinstance(meta, dict):
        return f" (event {meta.get('eventId')} {meta.get('eventType')})"
    return ""


def _import_frame(
    frame: Frame, location: str, session: ImportSession, options: ImportOptions
) -> None:
    provenance = Provenance(location, f"byte {frame.offset}")
    if not isinstance(frame.meta, dict):
        reason = frame.error or f"a {type(frame.meta).__name__}, not an event map"
        raw = b64encode(frame.raw_meta)
        _quarantine(session, location, provenance.position, f"frame meta: {reason}", raw)
        return
    event = to_jsonable(frame.meta)
    assert isinstance(event, dict)
    try:
        record = event_from_dict(_with_body(event, frame.body), provenance, key=options.key)
    except (RecordError, DecodeError) as exc:
        _quarantine(session, location, provenance.position, str(exc), event)
        return
    session.add_event(record)


def _with_body(event: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The event with the frame body back in `eventData[payloadField]`.

    A ref the body replaces is kept as `payloadRef`; a body for an event type without a
    payload field is kept as `frameBody`: both land in the record's `extra`.
    """
    if not body:
        return event
    data = event.get("eventData")
    data = dict(data) if isinstance(data, dict) else {}
    name = PAYLOAD_FIELDS.get(str(event.get("eventType")))
    if name is None:
        refs = [k for k, v in data.items() if isinstance(v, dict) and v.get("_type") == "RemoteRef"]
        name = refs[0] if refs else None
    if name is None:
        return {**event, "frameBody": binary_marker(body)}
    out = dict(event)
    previous = data.get(name)
    if isinstance(previous, dict) and previous.get("_type") == "RemoteRef":
        out["payloadRef"] = previous
    data[name] = body
    out["eventData"] = data
    return out


def _damaged_frames(damage: Damage, location: str, session: ImportSession) -> None:
    """Note and quarantine bytes that are no whole frame; the frames after them were read."""
    skipped = damage.resume - damage.offset
    what = (
        f"damaged frame at byte {damage.offset}: {damage.reason}; {skipped} bytes skipped,"
        f" reading went on at byte {damage.resume}"
    )
    session.note(f"{location}: {what}")
    kept = f", first {TAIL_KEPT} kept" if len(damage.raw) > TAIL_KEPT else ""
    session.quarantine(
        QuarantineRecord(
            Provenance(location, f"byte {damage.offset}"),
            what + kept,
            b64encode(damage.raw[:TAIL_KEPT]),
        )
    )


def _truncated(end: StreamEnd, location: str, session: ImportSession) -> None:
    """Note and quarantine the partial tail (even an empty one: the import is partial)."""
    if end.corrupt:
        what = f"corrupt frame at byte {end.offset}: {end.reason}; nothing after it is readable"
    else:
        what = f"truncated at byte {end.offset}: no end-of-stream marker; re-fetch the page"
    session.note(f"{location}: {what}")
    reason = what
    if end.tail:
        kept = f", first {TAIL_KEPT} kept" if len(end.tail) > TAIL_KEPT else ""
        reason += f" ({end.reason}; {len(end.tail)} bytes of partial frame{kept})"
    raw = b64encode(end.tail[:TAIL_KEPT]) if end.tail else None
    session.quarantine(QuarantineRecord(Provenance(location, f"byte {end.offset}"), reason, raw))
