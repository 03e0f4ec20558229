"""Decode cbor-x encoded bytes (world-postgres ``payload_cbor`` columns) with `cbor2`.

world-postgres stores each event's ``eventData`` as CBOR written by the JavaScript
``cbor-x`` library: maps become dicts, ``Uint8Array`` leaves are tag 64 around a byte
string, ``Date`` is tag 1 (epoch seconds) and ``undefined`` is simple value 23. This module
maps those onto plain Python: tag 64 → ``bytes``, tag 1 → an aware UTC ``datetime``,
``undefined`` → dropped from maps (as JSON drops it) and ``None`` in arrays, any other tag
cbor2 does not understand → ``{"__cbor_tag": n, "value": ...}``. Malformed input, including
trailing bytes after the first item, raises `DecodeError`. Works with cbor2 5.x and 6.x
(their tag-hook signatures differ).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from cbor2 import CBORDecoder, CBORError, CBORTag
from cbor2 import undefined as cbor_undefined

from forensics.decode.budget import check_expanded
from forensics.decode.errors import DecodeError

MAX_DEPTH: Final = 400  # nesting limit handed to cbor2; eventData is a handful of levels


def decode_cbor(data: bytes | bytearray | memoryview) -> object:
    """Decode one CBOR item that must span all of `data`; see the module docstring."""
    value, end = decode_cbor_at(data, 0)
    if end != len(data):
        raise DecodeError(f"{len(data) - end} trailing byte(s) after the CBOR item", context="cbor")
    return value


def decode_cbor_at(data: bytes | bytearray | memoryview, start: int) -> tuple[object, int]:
    """Decode the one CBOR item that starts at `start`: (its value, the offset after it)."""
    stream = io.BytesIO(data)
    stream.seek(start)
    try:
        value = _decoder(stream).decode()
    except (CBORError, ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise DecodeError(_reason(exc), context="cbor") from None
    end = stream.tell()
    value = _replace_undefined(value)
    check_expanded(value, "cbor")  # value-sharing (tags 28/29) written out, nesting
    return value, end


def _decoder(stream: io.BytesIO) -> CBORDecoder:
    """cbor2 6 lets tag 1 be decoded here, so a date out of range is one marked value;
    cbor2 5 decodes it itself (and a date out of range fails the whole item)."""
    try:
        return CBORDecoder(
            stream, tag_hook=_tag_hook, max_depth=MAX_DEPTH, semantic_decoders={1: _epoch_date}
        )
    except TypeError:  # cbor2 5
        return CBORDecoder(stream, tag_hook=_tag_hook, max_depth=MAX_DEPTH)


def _epoch_date(value: Any, *_: Any) -> object:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"tag 1 (epoch date) holds a {type(value).__name__}, not a number")
    return _tag_hook(CBORTag(1, value))


def _tag_hook(*args: Any) -> object:
    """cbor2 5 calls ``hook(decoder, tag)``, cbor2 6 ``hook(tag, immutable)``."""
    tag = next(a for a in args if isinstance(a, CBORTag))
    number, value = tag.tag, tag.value
    if number == 64 and isinstance(value, bytes | bytearray):
        return bytes(value)
    if number == 1 and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):  # kept as it is, said so: not the page
            return {"__cbor_tag": 1, "value": value, "__invalid": "date outside years 1-9999"}
    return {"__cbor_tag": number, "value": _thaw(value)}


def _thaw(value: object) -> object:
    """cbor2 6 decodes tag contents immutably (tuples, frozendicts): make them plain.

    Recursion is bounded by `MAX_DEPTH`, which cbor2 enforces while decoding.
    """
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _replace_undefined(value: object) -> object:
    """Drop ``undefined`` object members and turn ``undefined`` list items into ``None``.

    That is what ``JSON.stringify`` does, so an event decoded from CBOR (world-postgres,
    DynamoDB) equals the same event read from JSON (world-local, API pages). In place,
    without recursion; `seen` guards against the cycles that CBOR shared references
    (tags 28/29) can build.
    """
    if value is cbor_undefined:
        return None
    stack, seen = [value], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            for key in [k for k, child in node.items() if child is cbor_undefined]:
                del node[key]
            stack.extend(child for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                if child is cbor_undefined:
                    node[index] = None
                elif isinstance(child, dict | list):
                    stack.append(child)
    return value


def _reason(exc: BaseException) -> str:
    """The innermost useful message: cbor2 wraps hook and decoder errors in its own."""
    cause = exc.__cause__
    detail = f" ({cause})" if cause is not None and str(cause) not in str(exc) else ""
    return f"malformed CBOR: {exc}{detail}"
