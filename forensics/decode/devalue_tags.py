"""Turn devalue's tagged slots into JSON-safe shapes (used by `devalue`).

A tagged slot is ``[tag, ...]``. devalue's built-in tags carry literals or spread refs
(``["Date","iso"]``, ``["Map",k,v,...]``, ``["Set",v,...]``, ``["null",key,ref,...]``,
``["Uint8Array",bufferRef,offset?,length?]``); the workflow runtime's reducers always
carry exactly one ref to a reduced value (``["Map",ref]`` → list of pairs, ``["Error",ref]``
→ ``{name,message,stack}``). `child_refs` says which members to resolve and `finish`
builds the result from them. Shapes: Date → ISO string; URL → href string; Map/Set/
Headers/BigInt/RegExp/URLSearchParams/typed arrays → ``{"__type": tag, ...}``; errors →
plain ``{"name","message","stack",...}``; Request, Response, streams, step functions and
class instances → ``{"__type": tag, **fields}``; any other tag → ``{"__type": tag,
"value": ...}``.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Final

from forensics.decode.binary import b64decode, b64encode
from forensics.decode.errors import DecodeError
from forensics.decode.jsvalues import UNDEFINED, Tagged

Slot = list[object]
_Handler = Callable[[str, Slot, object, Slot, bool], object]

ELEMENT_SIZES: Final = {
    "Int8Array": 1,
    "Uint8Array": 1,
    "Uint8ClampedArray": 1,
    "Int16Array": 2,
    "Uint16Array": 2,
    "Float16Array": 2,
    "Int32Array": 4,
    "Uint32Array": 4,
    "Float32Array": 4,
    "Float64Array": 8,
    "BigInt64Array": 8,
    "BigUint64Array": 8,
    "DataView": 1,
}
# Tags that native mode turns into Python values (datetime, bytes) instead of `Tagged`.
NATIVE_TAGS: Final = frozenset({"Date", "Uint8Array"})
# Workflow reducers whose reduced value is an object of named fields: flattened.
FLAT_TAGS: Final = frozenset(
    {
        "Request",
        "Response",
        "ReadableStream",
        "WritableStream",
        "TransformStream",
        "StepFunction",
        "WorkflowFunction",
        "Class",
        "Instance",
    }
)


def child_refs(node: list[object]) -> list[object]:
    """The members of tagged slot `node` that are slot refs to resolve, in order."""
    tag = node[0]
    if tag in ("Map", "Set"):
        if len(node) == 2 and type(node[1]) is int:
            return [node[1]]  # the runtime's form: one ref to a list (or a 1-element Set)
        return node[1:]
    if tag == "null":
        return node[2::2]
    if len(node) >= 2 and type(node[1]) is int:
        return [node[1]]
    return []


def finish(node: list[object], out: list[object], native: bool) -> object:
    """Build the value of tagged slot `node` from its resolved refs `out`."""
    tag = node[0]
    assert isinstance(tag, str)
    payload = out[0] if out else (node[1] if len(node) > 1 else UNDEFINED)
    if native and tag not in NATIVE_TAGS and len(node) == 2 and type(node[1]) is int:
        return Tagged(tag, payload)  # a runtime reducer's form, kept for re-encoding
    handler = _HANDLERS.get(tag)
    if handler is None:
        if tag in ELEMENT_SIZES:
            handler = _typed_array
        elif tag in FLAT_TAGS:
            handler = _flat
        elif tag.endswith("Error") or tag == "DOMException":
            handler = _error
        else:
            handler = _generic
    return handler(tag, node, payload, out, native)


def _generic(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    return {"__type": tag, "value": _plain(payload, native)}


def _plain(value: object, native: bool) -> object:
    return None if value is UNDEFINED and not native else value


def _date(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if not isinstance(payload, str):
        return _generic(tag, node, payload, out, native)
    if payload in ("", "."):  # devalue / the runtime write these for an invalid Date
        return None
    if native:
        try:
            return datetime.fromisoformat(payload)
        except ValueError:
            return payload
    return payload


def _bigint(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if native and isinstance(payload, str):
        try:
            return int(payload)
        except ValueError:
            pass
    return {"__type": "BigInt", "value": str(_plain(payload, False))}


def _url(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    return payload if isinstance(payload, str) else _generic(tag, node, payload, out, native)


def _search_params(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    text = "" if payload == "." else payload
    return {"__type": tag, "value": _plain(text, native)}


def _regexp(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if isinstance(payload, dict):
        source, flags = payload.get("source", ""), payload.get("flags", "")
    else:
        source, flags = payload, node[2] if len(node) > 2 else ""
    return {"__type": "RegExp", "source": source, "flags": flags}


def _buffer_bytes(payload: object) -> bytes:
    """The bytes behind a base64 string ('.' = empty) or an already revived buffer."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("data"), str):
        return b64decode(payload["data"])
    if isinstance(payload, str):
        return b"" if payload == "." else b64decode(payload)
    raise DecodeError(f"expected base64 buffer data, got {type(payload).__name__}", "devalue")


def _is_base64(text: str) -> bool:
    try:
        binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _array_buffer(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    data = _buffer_bytes(payload)
    return data if native else {"__type": "ArrayBuffer", "data": b64encode(data)}


def _typed_array(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if isinstance(payload, str) and len(node) == 2 and not native and _is_base64(payload):
        return {"__type": tag, "data": payload}  # the runtime's form: already base64
    data = _buffer_bytes(payload)
    if len(node) >= 4 and type(node[2]) is int and type(node[3]) is int:
        start = node[2]
        data = data[start : start + node[3] * ELEMENT_SIZES[tag]]  # a view on part of a buffer
    if native and tag == "Uint8Array":
        return data
    return {"__type": tag, "data": b64encode(data)}


def _map(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if len(node) == 2 and out and isinstance(out[0], list):
        pairs = out[0]
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise DecodeError("Map entries are not [key, value] pairs", context="devalue")
        entries = [list(p) for p in pairs]
    elif len(out) % 2 == 0:
        flat = [_plain(v, native) for v in out]
        entries = [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]
    else:
        raise DecodeError("Map has a key without a value", context="devalue")
    return {"__type": "Map", "entries": entries}


def _set(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if len(node) == 2 and out and isinstance(out[0], list):
        values = list(out[0])
    else:
        values = [_plain(v, native) for v in out]
    return {"__type": "Set", "values": values}


def _null_proto(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    keys = node[1::2]
    if len(keys) != len(out) or not all(isinstance(k, str) for k in keys):
        raise DecodeError("malformed null-prototype object", context="devalue")
    pairs = zip(keys, out, strict=True)
    return {k: v for k, v in pairs if native or v is not UNDEFINED}


def _boxed(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    return _plain(payload, native)  # new String("x") and friends: the primitive inside


def _headers(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if not isinstance(payload, list):
        return _generic(tag, node, payload, out, native)
    return {"__type": "Headers", "entries": payload}


def _error(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if not isinstance(payload, dict):
        return _generic(tag, node, payload, out, native)
    result: dict[str, object] = {"name": payload.get("name", tag)}
    result.update((k, v) for k, v in payload.items() if k != "name")
    if tag == "FatalError" and not native:
        # The SDK revives it as its FatalError class, whose instances say `fatal: true`
        # (the CLI prints it); the serialized form leaves the class field out.
        result.setdefault("fatal", True)
    return result


def _flat(tag: str, node: Slot, payload: object, out: Slot, native: bool) -> object:
    if not isinstance(payload, dict) or "__type" in payload:
        return _generic(tag, node, payload, out, native)
    return {"__type": tag, **payload}


_HANDLERS: Final[dict[str, _Handler]] = {
    "Date": _date,
    "BigInt": _bigint,
    "URL": _url,
    "URLSearchParams": _search_params,
    "RegExp": _regexp,
    "ArrayBuffer": _array_buffer,
    "Map": _map,
    "Set": _set,
    "null": _null_proto,
    "Object": _boxed,
    "Headers": _headers,
}
