"""Read devalue's flat-array format (the body of ``devl`` payloads) into plain values.

devalue writes a value graph as one JSON array: slot 0 is the root, every container
member is an integer index of another slot, and negative integers are sentinels (−1
undefined, −2 hole, −3 NaN, −4 +∞, −5 −∞, −6 −0, −7 starts a sparse array). Slots that are
arrays beginning with a string are *tagged*: devalue's own (``["Date","iso"]``,
``["Map",k,v,...]``, ``["null",key,ref,...]``, typed arrays over ``ArrayBuffer``...) and
the workflow runtime's reducers (``["Error",ref]``, ``["Request",ref]``, ``["Date",ref]``,
...), whose second element is a slot index. `devalue_tags` turns each tag into a JSON-safe
shape. Large documents are walked with an explicit stack, so nesting depth is bounded
only by memory; a slot reached again while it is still being built (a cycle) becomes
``{"__ref": slot}``, and a slot reached again after it was built is shared, not rebuilt.
A document with shared slots (or a large one) is measured as it would be written out
(`budget.check_expanded`): past the budget it is a `DecodeError`, never a 2^40-leaf value.
`encode_devalue` (the writer) lives in `devalue_encode` and is re-exported here.
"""

from __future__ import annotations

import json
import math
from typing import Final

import orjson

from forensics.decode import devalue_tags
from forensics.decode.budget import check_expanded
from forensics.decode.devalue_encode import encode_devalue
from forensics.decode.errors import DecodeError
from forensics.decode.jsvalues import UNDEFINED

__all__ = ["encode_devalue", "is_devalue_document", "parse_devalue", "unflatten_devalue"]

SPARSE: Final = -7
MAX_SPARSE_LENGTH: Final = 100_000  # longer sparse arrays stay sparse instead of padding
RECURSION_SLOTS: Final = 200  # documents up to this many slots are walked recursively
_MAX_SAFE: Final = 2**53  # beyond this, a JSON integer was a double in JavaScript

_JSON_SENTINELS: Final[dict[int, object]] = {
    -1: UNDEFINED,
    -2: UNDEFINED,  # a hole reads as undefined; arrays render both as None
    -3: "NaN",
    -4: "Infinity",
    -5: "-Infinity",
    -6: -0.0,
}
_NATIVE_SENTINELS: Final[dict[int, object]] = {
    **_JSON_SENTINELS,
    -3: math.nan,
    -4: math.inf,
    -5: -math.inf,
}
_LIST, _DICT, _TAG, _SPARSE = range(4)
_CONTAINERS: Final = (list, dict)
_OPEN: Final = object()  # `_Reviver._member` result: a container slot still to be built


def parse_devalue(text: str | bytes | bytearray | memoryview, *, native: bool = False) -> object:
    """Revive devalue text (without the ``devl`` prefix) into a JSON-safe value.

    With ``native=True`` the result keeps what JSON cannot hold, so that
    `encode_devalue` can reproduce the text: ``UNDEFINED`` members stay, NaN/±∞ are
    floats, ``Date`` becomes an aware ``datetime``, ``Uint8Array`` becomes ``bytes``, and
    the runtime's other ``["tag",ref]`` slots become `Tagged` (not JSON-safe).
    Raises `DecodeError` on anything that is not valid devalue.
    """
    try:
        flat = orjson.loads(text)
    except orjson.JSONDecodeError:
        flat = _slow_json(text)  # orjson rejects lone surrogates, which JSON.parse accepts
    return unflatten_devalue(flat, native=native)


def _slow_json(text: str | bytes | bytearray | memoryview) -> object:
    try:
        return json.loads(bytes(text) if isinstance(text, memoryview) else text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not JSON: {exc}", context="devalue") from None


def unflatten_devalue(flat: object, *, native: bool = False) -> object:
    """Revive an already JSON-parsed devalue array (spec-1 logs store it that way)."""
    sentinels = _NATIVE_SENTINELS if native else _JSON_SENTINELS
    if type(flat) is int:  # devalue writes a bare sentinel for e.g. a root `undefined`
        if flat in sentinels:
            value = sentinels[flat]
            return None if value is UNDEFINED and not native else value
        raise DecodeError(f"a bare number {flat} is not a devalue document", context="devalue")
    if not isinstance(flat, list) or not flat:
        raise DecodeError("expected a non-empty JSON array", context="devalue")
    reviver = _Reviver(flat, sentinels, native)
    value = reviver.run()
    if reviver.shared:  # a graph: what it would be written out as a tree
        check_expanded(value, "devalue", max_depth=None)
    return None if value is UNDEFINED and not native else value


def is_devalue_document(flat: object) -> bool:
    """True when `flat` looks like devalue output rather than a plain JSON array.

    devalue creates a slot only when something refers to it, so besides holding only
    valid refs in its container slots, a real document leaves no slot but the root
    unreferenced; a plain array like ``[1, 2, 3]`` fails that test.
    """
    if not isinstance(flat, list) or not flat:
        return False
    size = len(flat)
    referenced = bytearray(size)
    for node in flat:
        if isinstance(node, dict):
            refs: list[object] = list(node.values())
        elif isinstance(node, list) and node:
            if type(node[0]) is str:
                refs = devalue_tags.child_refs(node)
            else:
                refs = node[3::2] if node[0] == SPARSE and type(node[0]) is int else node
        else:
            continue
        for ref in refs:
            if type(ref) is not int or not SPARSE < ref < size:
                return False
            if ref >= 0:
                referenced[ref] = 1
    return all(referenced[1:])


class _Frame:
    """One container slot being built: its members' refs and the values resolved so far."""

    __slots__ = ("kind", "node", "out", "pos", "refs", "slot")

    def __init__(self, slot: int, node: list[object] | dict[str, object]) -> None:
        self.slot = slot
        self.node = node
        self.kind, self.refs = _plan(node)
        self.pos = 0
        self.out: list[object] = []


def _plan(node: list[object] | dict[str, object]) -> tuple[int, list[object]]:
    """The kind of container slot `node` is, and the refs of its members."""
    if isinstance(node, dict):
        return _DICT, list(node.values())
    if node:
        head = node[0]
        if type(head) is str:
            return _TAG, devalue_tags.child_refs(node)
        if head == SPARSE and type(head) is int:
            return _SPARSE, node[3::2]
    return _LIST, node


class _Reviver:
    """Walks the slot graph depth first.

    Small documents (the usual payload) are walked recursively, which is fastest; their
    depth is bounded by their slot count. Larger ones use an explicit stack of `_Frame`s,
    so no document can exhaust the interpreter's recursion limit.
    """

    def __init__(self, values: list[object], sentinels: dict[int, object], native: bool) -> None:
        self.values = values
        self.sentinels = sentinels
        self.native = native
        # built slots, and for slots being built a {"__ref": slot} marker: a ref back to
        # a slot still on the current path (a cycle) resolves to that marker
        self.memo: dict[int, object] = {}
        self.shared = False  # a slot referred to again: the value is a graph, not a tree

    def run(self) -> object:
        root = self.values[0]
        if not isinstance(root, list | dict):
            return _js_number(root) if type(root) is int else root
        if len(self.values) <= RECURSION_SLOTS:
            return self._build(0, root)
        self.memo[0] = {"__ref": 0}
        stack = [_Frame(0, root)]
        while True:
            frame = stack[-1]
            child = self._advance(frame)
            if child is not None:
                stack.append(child)
                continue
            value = _finish(frame.slot, frame.kind, frame.node, frame.out, self.native)
            stack.pop()
            self.memo[frame.slot] = value
            if not stack:
                return value
            stack[-1].out.append(value)

    def _build(self, slot: int, node: list[object] | dict[str, object]) -> object:
        """Recursive walk for small documents (see the class docstring).

        The common member cases are inlined: this loop is the decoder's hot path.
        """
        values, memo = self.values, self.memo
        memo[slot] = {"__ref": slot}  # what a cycle back to this slot resolves to
        kind, refs = _plan(node)
        out: list[object] = []
        for ref in refs:
            if type(ref) is int and 0 <= ref < len(values):
                if ref in memo:
                    out.append(memo[ref])
                    self.shared = True
                    continue
                child = values[ref]
                if isinstance(child, _CONTAINERS):
                    out.append(self._build(ref, child))
                elif type(child) is int and not -_MAX_SAFE <= child <= _MAX_SAFE:
                    out.append(float(child))
                else:
                    out.append(child)
            else:
                out.append(self._member(slot, ref))  # sentinels, and errors
        value = memo[slot] = _finish(slot, kind, node, out, self.native)
        return value

    def _advance(self, frame: _Frame) -> _Frame | None:
        """Resolve members until one needs its own frame (returned) or all are done."""
        refs, out, slot = frame.refs, frame.out, frame.slot
        pos, end = frame.pos, len(refs)
        while pos < end:
            ref = refs[pos]
            pos += 1
            value = self._member(slot, ref)
            if value is _OPEN:
                assert type(ref) is int
                frame.pos = pos
                self.memo[ref] = {"__ref": ref}  # what a cycle back to it resolves to
                return _Frame(ref, self.values[ref])  # type: ignore[arg-type]
            out.append(value)
        frame.pos = pos
        return None

    def _member(self, slot: int, ref: object) -> object:
        """The value of member `ref` of `slot`, or `_OPEN` if it is a container to build.

        Slots already built or being built come from `memo` (see `__init__`).
        """
        if type(ref) is not int:
            raise DecodeError(f"slot {slot}: member {ref!r} is not an index", context="devalue")
        if ref < 0:
            if ref not in self.sentinels:
                raise DecodeError(f"slot {slot}: bad sentinel {ref}", context="devalue")
            return self.sentinels[ref]
        if ref in self.memo:
            self.shared = True
            return self.memo[ref]
        if ref >= len(self.values):
            raise DecodeError(f"slot {slot}: index {ref} out of range", context="devalue")
        node = self.values[ref]
        if not isinstance(node, list | dict):
            return _js_number(node) if type(node) is int else node
        return _OPEN


def _finish(
    slot: int, kind: int, node: list[object] | dict[str, object], out: list[object], native: bool
) -> object:
    """Build a container slot's value from its resolved members."""
    if kind == _LIST:
        if native or UNDEFINED not in out:
            return out
        return [None if v is UNDEFINED else v for v in out]
    if isinstance(node, dict):
        keys = node.keys()
        if native:
            return dict(zip(keys, out, strict=True))
        return {k: v for k, v in zip(keys, out, strict=True) if v is not UNDEFINED}
    if kind == _TAG:
        return devalue_tags.finish(node, out, native)
    return _sparse(slot, node, out, native)


def _js_number(number: int) -> int | float:
    """An integer as JavaScript held it: beyond 2**53 it was a double all along."""
    return number if -_MAX_SAFE <= number <= _MAX_SAFE else float(number)


def _sparse(slot: int, node: list[object], out: list[object], native: bool) -> object:
    """``[-7, length, index, ref, index, ref, ...]`` → a padded list, or a sparse marker."""
    length, indexes = node[1] if len(node) > 1 else None, node[2::2]
    if type(length) is not int or length < 0 or len(indexes) != len(out):
        raise DecodeError(f"slot {slot}: malformed sparse array", context="devalue")
    if any(type(i) is not int or not 0 <= i < length for i in indexes):
        raise DecodeError(f"slot {slot}: sparse index out of range", context="devalue")
    values = [v if native or v is not UNDEFINED else None for v in out]
    if length > MAX_SPARSE_LENGTH:
        entries = [[i, v] for i, v in zip(indexes, values, strict=True)]
        return {"__type": "SparseArray", "length": length, "entries": entries}
    padded: list[object] = [UNDEFINED if native else None] * length
    for index, value in zip(indexes, values, strict=True):
        assert type(index) is int
        padded[index] = value
    return padded
