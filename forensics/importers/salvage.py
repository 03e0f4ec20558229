"""Whole records out of a damaged JSON document (a page cut or broken in the middle).

When a document does not parse, `salvage` walks its text from the document's start and
yields every whole JSON object that `accept` takes (an event, a page) with its byte offset,
skipping past it, and every stretch between two such objects that holds more than the
containers' own punctuation and envelope keys as a `Gap`, also with its byte offset. So the
records before the damage are kept, the damaged part is reported, and reading goes on at the
next whole record or page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from forensics.decode import decode_cbor_at
from forensics.decode.errors import DecodeError

GAP_KEPT: Final = 64 << 10  # characters of a damaged stretch kept for the quarantine row
# What may sit between whole records without being damage: brackets, commas, and the
# envelopes' own keys with a scalar (`"cursor": "…"`, `"hasMore": false`, `"data": [`).
_GLUE: Final = re.compile(
    r'(?:\s|[\[\]{},]|"(?:data|pages|items|Items|cursor|next|nextCursor|hasMore|Count|'
    r'ScannedCount)"\s*:\s*(?:null|true|false|-?\d+(?:\.\d+)?|"[^"\\]*")?)*'
)
_OPEN: Final = re.compile(r"\{")


@dataclass(frozen=True)
class Piece:
    """A whole object at byte `offset`."""

    offset: int
    value: object


@dataclass(frozen=True)
class Gap:
    """Damaged text from byte `offset` (`size` bytes; `text` is its start)."""

    offset: int
    size: int
    text: str


class _Bytes:
    """Byte offsets of character positions met in increasing order (UTF-8, and bytes that
    are not UTF-8 kept as lone surrogates, as the importers decode them)."""

    def __init__(self, text: str) -> None:
        self.text, self.char, self.byte = text, 0, 0

    def at(self, char: int) -> int:
        if char < self.char:  # not expected; count from the start
            self.char = self.byte = 0
        self.byte += len(self.text[self.char : char].encode("utf-8", "surrogateescape"))
        self.char = char
        return self.byte


def salvage(text: str, start: int, accept: Callable[[object], bool]) -> Iterator[Piece | Gap]:
    """Whole accepted objects and damaged gaps of `text` from character `start` on."""
    decoder = json.JSONDecoder()
    offsets = _Bytes(text)
    done = start  # end of the last whole object (or where the walk began)
    at = start
    while True:
        match = _OPEN.search(text, at)
        if match is None:
            break
        candidate = match.start()
        try:
            value, end = decoder.raw_decode(text, candidate)
        except (json.JSONDecodeError, RecursionError):
            at = candidate + 1
            continue
        if not accept(value):
            at = candidate + 1
            continue
        gap = _gap(text, done, candidate, offsets)
        if gap is not None:
            yield gap
        yield Piece(offsets.at(candidate), value)
        done = at = end
    gap = _gap(text, done, len(text), offsets)
    if gap is not None:
        yield gap


def _gap(text: str, start: int, end: int, offsets: _Bytes) -> Gap | None:
    if _GLUE.fullmatch(text, start, end):
        return None
    # leave the glue before the damage out of it
    lead = _GLUE.match(text, start, end)
    begin = lead.end() if lead else start
    back = begin
    while back > start and text[back - 1] in " \t\r\n":
        back -= 1
    if back > start and text[back - 1] == "{":  # the damaged object's own brace
        begin = back - 1
    first = offsets.at(begin)
    size = offsets.at(end) - first
    return Gap(first, size, text[begin : min(end, begin + GAP_KEPT)])


def is_event_like(value: object) -> bool:
    """An object that is meant as an event (it names its event id, or its run and type)."""
    return isinstance(value, dict) and (
        "eventId" in value or ("runId" in value and "eventType" in value)
    )


def is_page_like(value: object) -> bool:
    """An API page or `workflow inspect` envelope: an object with a `data` array."""
    return isinstance(value, dict) and isinstance(value.get("data"), list)


# -- CBOR ----------------------------------------------------------------------------------

_CBOR_MAP_START: Final = re.compile(rb"[\xa0-\xbb\xbf]")
_ENVELOPE_KEYS: Final = frozenset({b"data", b"cursor", b"next", b"nextCursor", b"hasMore"})
_ARGUMENT_BYTES: Final = {24: 1, 25: 2, 26: 4, 27: 8}
_GLUE_TAGS: Final = frozenset({28, 55799})  # value sharing around a container, self-described


def salvage_cbor(data: bytes, accept: Callable[[object], bool]) -> Iterator[Piece | Gap]:
    """As `salvage`, for a CBOR document: every whole map `accept` takes, and the damage."""
    done = at = 0
    while True:
        match = _CBOR_MAP_START.search(data, at)
        if match is None:
            break
        candidate = match.start()
        try:
            value, end = decode_cbor_at(data, candidate)
        except DecodeError:
            at = candidate + 1
            continue
        if not accept(value):
            at = candidate + 1
            continue
        if not _cbor_glue(data, done, candidate):
            yield Gap(done, candidate - done, "")
        yield Piece(candidate, value)
        done = at = end
    if not _cbor_glue(data, done, len(data)):
        yield Gap(done, len(data) - done, "")


def _head(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """(major type, argument, offset after the head) of the CBOR item head at `pos`."""
    first = data[pos]
    major, info = first >> 5, first & 31
    if info < 24 or info == 31:
        return major, info, pos + 1
    size = _ARGUMENT_BYTES.get(info)
    if size is None or pos + 1 + size > len(data):
        return None
    return major, int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _cbor_glue(data: bytes, start: int, end: int) -> bool:
    """Whether `data[start:end]` is only the envelope around records: array and map heads
    (with a value-sharing or self-describing tag), breaks, and the page's own keys with a
    scalar (or, for `data`, an array head)."""
    pos = start
    while pos < end:
        if data[pos] == 0xFF:  # the break ending an indefinite container
            pos += 1
            continue
        head = _head(data, pos)
        if head is None:
            return False
        major, argument, after = head
        if major in (4, 5) or (major == 6 and argument in _GLUE_TAGS):
            pos = after
            continue
        if major != 3 or data[after : after + argument] not in _ENVELOPE_KEYS:
            return False
        pos = after + argument
        value = _head(data, pos) if pos < end else None
        while value is not None and value[0] == 6 and value[1] in _GLUE_TAGS:
            pos = value[2]
            value = _head(data, pos) if pos < end else None
        if value is None:
            return False
        major, argument, after = value
        if data[pos] in (0xF4, 0xF5, 0xF6, 0xF7) or major in (0, 1, 4):
            pos = after
        elif major == 3 and data[pos] != 0x7F:
            pos = after + argument
        else:
            return False
    return pos == end
