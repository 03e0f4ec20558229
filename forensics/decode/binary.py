"""Binary leaves and JSON-safe rendering of decoded values.

Payload bytes reach us in several dresses: world-local writes them as
``{"__type":"Uint8Array","data":"<base64>"}``, Node's ``Buffer.toJSON`` gives
``{"type":"Buffer","data":[...]}``, CBOR gives ``bytes`` (or a raw ``CBORTag(64, ...)`` when
decoded without our tag hook). `unwrap_binary` undresses all of them. `to_jsonable` turns
whatever a decoder produced (bytes, datetimes, CBOR tags, sets, ``undefined``, nested
containers of any depth) into values that `orjson`/`json` can write, using the same
``Uint8Array`` form for bytes so that both worlds render binary leaves identically.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from cbor2 import CBORSimpleValue, CBORTag
from cbor2 import undefined as cbor_undefined

from forensics.decode.errors import DecodeError
from forensics.decode.jsvalues import UNDEFINED, Tagged

BINARY_TYPES: Final = frozenset({"Uint8Array", "Buffer"})
_CONTAINER: Final = object()  # marker returned by _leaf for values that need a frame
_UTC: Final = UTC


def b64encode(data: bytes | bytearray | memoryview) -> str:
    """Standard base64 with padding, as Node's ``Buffer.toString("base64")`` writes it."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode base64 as leniently as Node does (url-safe alphabet, missing padding)."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"invalid base64 ({exc})", context="binary") from None


def unwrap_binary(value: object) -> bytes | None:
    """Return the bytes a binary leaf stands for, or None when `value` is not binary.

    Accepts ``bytes``/``bytearray``/``memoryview``, ``CBORTag(64, bytes)``, and the JSON
    forms ``{"__type":"Uint8Array"|"Buffer","data":<base64 | [int, ...]>}`` and
    ``{"type":"Buffer","data":[int, ...]}``. A binary marker whose data cannot be decoded
    raises `DecodeError`: it is a corrupt payload, not a non-binary value.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict):
        kind = value.get("__type", value.get("type"))
        if kind not in BINARY_TYPES or "data" not in value:
            return None
        return _marker_bytes(value["data"])
    if isinstance(value, CBORTag) and value.tag == 64 and isinstance(value.value, bytes):
        return value.value
    return None


def _marker_bytes(data: object) -> bytes:
    if isinstance(data, str):
        return b64decode(data)
    if isinstance(data, list):
        try:
            return bytes(data)
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"invalid byte list ({exc})", context="binary") from None
    raise DecodeError(f"binary marker data is a {type(data).__name__}", context="binary")


def binary_marker(data: bytes | bytearray | memoryview) -> dict[str, object]:
    """The JSON-safe form of bytes: ``{"__type":"Uint8Array","data":<base64>}``."""
    return {"__type": "Uint8Array", "data": b64encode(data)}


def iso_ms(moment: datetime) -> str:
    """Render like JavaScript's ``Date.toISOString``: UTC, milliseconds, ``Z``.

    Naive datetimes are taken as UTC (Postgres ``timestamp`` columns hold UTC).
    Microseconds are rounded to the nearest millisecond, because CBOR tag-1 floats
    decode to values like ``.416999`` that JavaScript wrote as ``.417``.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    moment = moment.astimezone(_UTC)
    millis = (moment.microsecond + 500) // 1000
    if millis == 1000:
        moment, millis = moment + timedelta(seconds=1), 0
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{millis:03d}Z"
    )


def to_jsonable(value: object) -> object:
    """Return a JSON-safe copy of `value` (iterative, so any nesting depth is fine).

    bytes → ``Uint8Array`` marker; datetime → ISO-8601 with ms and ``Z``; NaN/±∞ → the
    strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (devalue's sentinels, rendered the
    way `parse_devalue` renders them); ``undefined`` → dropped from objects, ``None``
    elsewhere; ``CBORTag`` → ``{"__cbor_tag": n, "value": ...}``; `Tagged` →
    ``{"__type": tag, "value": ...}``; set → ``{"__type":"Set",
    "values": [...]}``; tuples → lists; non-string keys → ``str(key)``; a container met
    again on its own path (a cycle) → ``{"__ref": "cycle"}``; anything else → its ``str``.
    """
    leaf = _leaf(value)
    if leaf is not _CONTAINER:
        return None if leaf is UNDEFINED else leaf
    root, items = _open(value)
    stack: list[tuple[Iterator[tuple[object, object]], object, int]] = [
        (items, _target(root), id(value))
    ]
    path = {id(value)}
    while stack:
        items, out, oid = stack[-1]
        for key, child in items:
            leaf = _leaf(child)
            if leaf is not _CONTAINER:
                _put(out, key, leaf)
            elif id(child) in path:
                _put(out, key, {"__ref": "cycle"})
            else:
                made, child_items = _open(child)
                _put(out, key, made)
                stack.append((child_items, _target(made), id(child)))
                path.add(id(child))
                break
        else:
            stack.pop()
            path.discard(oid)
    return root


def _leaf(value: object) -> object:
    """The JSON-safe form of a scalar, or `_CONTAINER` when `value` needs a frame."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict | list | tuple | set | frozenset | CBORTag | Tagged):
        return _CONTAINER
    if value is UNDEFINED or value is cbor_undefined:
        return UNDEFINED
    if isinstance(value, bytes | bytearray | memoryview):
        return binary_marker(value)
    if isinstance(value, datetime):
        return iso_ms(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, CBORSimpleValue):
        return {"__cbor_simple": int(value.value)}
    return str(value)


def _open(value: object) -> tuple[object, Iterator[tuple[object, object]]]:
    """Make the empty JSON container for `value` and an iterator over its members."""
    if isinstance(value, dict):
        return {}, iter(value.items())
    if isinstance(value, CBORTag):
        return {"__cbor_tag": value.tag}, iter((("value", value.value),))
    if isinstance(value, Tagged):
        return {"__type": value.tag}, iter((("value", value.value),))
    if isinstance(value, set | frozenset):
        return {"__type": "Set", "values": []}, ((None, v) for v in value)
    assert isinstance(value, list | tuple)
    return [], ((None, v) for v in value)


def _target(made: object) -> object:
    """Where members go: the container itself, or a Set wrapper's ``values`` list."""
    if isinstance(made, dict) and made.get("__type") == "Set" and "values" in made:
        return made["values"]
    return made


def _put(out: object, key: object, value: object) -> None:
    if isinstance(out, list):
        out.append(None if value is UNDEFINED else value)
        return
    assert isinstance(out, dict)
    if value is UNDEFINED:
        return
    out[key if isinstance(key, str) else _key(key)] = value


def _key(key: object) -> str:
    """A JSON object key for a non-string CBOR map key, spelled as JavaScript would."""
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    if isinstance(key, bytes):
        return b64encode(key)
    leaf = _leaf(key)
    return str(leaf) if leaf is not _CONTAINER else repr(key)
