"""Write Python values as devalue text, exactly as the workflow runtime would.

Used to build realistic sample logs and to check the reader. It follows devalue 5.x with
the runtime's reducers: slots are numbered in depth-first pre-order (a container takes
its index before its members), equal primitives share one slot, the same dict, list or
`Tagged` object met twice shares one slot (so cycles are fine; bytes, datetimes and
tuples are values and get a slot per occurrence), object keys come in JavaScript's order
(array-index keys ascending first), strings are escaped like devalue (``<`` as
``\\u003C``), numbers are spelled like JavaScript's ``String(n)`` (integers beyond 2**53
become doubles, as they would in JavaScript), and ``datetime`` and
``bytes`` go through the runtime's reducers (``["Date",ref]`` to an ISO string,
``["Uint8Array",ref]`` to base64, ``"."`` when empty); a `Tagged` writes any other
reducer's ``["tag",ref]``. Accepts dict (string keys), list, tuple, str, int, float, bool,
None, `UNDEFINED`, datetime, bytes and `Tagged`; anything else is a `TypeError`. The walk
uses an explicit stack, so depth is not limited by recursion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Final

from forensics.decode.binary import b64encode, iso_ms
from forensics.decode.jsvalues import UNDEFINED, Tagged

_ESCAPE: Final = re.compile('["\\\\<\\x00-\\x1f\\u2028\\u2029]')
_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "<": "\\u003C",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_INDEX_KEY: Final = re.compile(r"0|[1-9][0-9]{0,9}")
_MAX_INDEX: Final = 2**32 - 2
_MAX_SAFE: Final = 2**53


def encode_devalue(value: object) -> str:
    """Return the devalue text (without the ``devl`` prefix) for `value`."""
    sentinel = _sentinel(value)
    if sentinel is not None:
        return str(sentinel)
    return "[" + ",".join(_Writer().write(value)) + "]"


def js_string(text: str) -> str:
    """A JSON string literal escaped the way devalue escapes it."""
    if _ESCAPE.search(text) is None:
        return f'"{text}"'
    return '"' + _ESCAPE.sub(_escape_char, text) + '"'


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def js_number(number: int | float) -> str:
    """Spell a number like JavaScript's ``String(n)`` (shortest round-trip digits)."""
    if abs(number) <= _MAX_SAFE and (isinstance(number, int) or number.is_integer()):
        return str(int(number))
    number = float(number)  # JavaScript holds every number as a double
    sign = "-" if number < 0 else ""
    mantissa, _, exp_text = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exp_text or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    if len(digits) <= point <= 21:
        return sign + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    mark = "+" if exponent >= 0 else "-"
    body = digits if len(digits) == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{body}e{mark}{abs(exponent)}"


def _sentinel(value: object) -> int | None:
    """devalue's negative index for values that never get a slot, else None."""
    if value is UNDEFINED:
        return -1
    if isinstance(value, float):
        if math.isnan(value):
            return -3
        if math.isinf(value):
            return -4 if value > 0 else -5
        if value == 0 and math.copysign(1.0, value) < 0:
            return -6
    return None


def _js_keys(obj: dict[object, object]) -> list[str]:
    """Object.keys order: array-index keys ascending, then the rest as inserted."""
    keys = [k for k in obj if isinstance(k, str)]
    if len(keys) != len(obj):
        raise TypeError("devalue objects need string keys")
    index_keys = [k for k in keys if _INDEX_KEY.fullmatch(k) and int(k) <= _MAX_INDEX]
    if not index_keys:
        return keys
    index_set = set(index_keys)
    rest = [k for k in keys if k not in index_set]
    return sorted(index_keys, key=int) + rest


class _Writer:
    """Assigns slots in depth-first pre-order and renders each slot's text."""

    def __init__(self) -> None:
        self.slots: list[str] = []
        self.primitives: dict[tuple[str, object], int] = {}
        self.objects: dict[int, int] = {}
        # one frame per open container: (slot, opener, closer, members, rendered parts)
        self.stack: list[tuple[int, str, str, Iterator[tuple[str | None, object]], list[str]]]
        self.stack = []

    def write(self, root: object) -> list[str]:
        self._ref(root)
        while self.stack:
            slot, opener, closer, members, parts = self.stack[-1]
            for key, member in members:
                depth = len(self.stack)
                ref = self._ref(member)
                parts.append(str(ref) if key is None else f"{js_string(key)}:{ref}")
                if len(self.stack) > depth:
                    break  # `member` opened a frame: finish it first (pre-order)
            else:
                self.slots[slot] = opener + ",".join(parts) + closer
                self.stack.pop()
        return self.slots

    def _ref(self, value: object) -> int:
        """The slot (or sentinel) for `value`, creating it if needed."""
        sentinel = _sentinel(value)
        if sentinel is not None:
            return sentinel
        key = _primitive_key(value)
        if key is not None:
            if key not in self.primitives:
                self.primitives[key] = self._new(_primitive_text(value))
            return self.primitives[key]
        if not isinstance(value, dict | list | Tagged):  # bytes, datetime, tuples: values
            slot = self._new("")
        elif id(value) in self.objects:
            return self.objects[id(value)]
        else:
            slot = self.objects[id(value)] = self._new("")
        self._fill(slot, value)
        return slot

    def _new(self, text: str) -> int:
        self.slots.append(text)
        return len(self.slots) - 1

    def _fill(self, slot: int, value: object) -> None:
        if isinstance(value, bytes | bytearray):
            text = b64encode(value) if value else "."
            self.slots[slot] = f'["Uint8Array",{self._ref(text)}]'
        elif isinstance(value, datetime):
            self.slots[slot] = f'["Date",{self._ref(iso_ms(value))}]'
        elif isinstance(value, Tagged):
            self.slots[slot] = f"[{js_string(value.tag)},{self._ref(value.value)}]"
        elif isinstance(value, dict):
            members = ((k, value[k]) for k in _js_keys(value))
            self.stack.append((slot, "{", "}", members, []))
        elif isinstance(value, list | tuple):
            self.stack.append((slot, "[", "]", ((None, v) for v in value), []))
        else:
            raise TypeError(f"devalue cannot encode a {type(value).__name__}")


def _primitive_key(value: object) -> tuple[str, object] | None:
    """Dedup key: JavaScript equality for primitives (1 and 1.0 are one number)."""
    if value is None:
        return ("null", None)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int) and abs(value) > _MAX_SAFE:
        return ("number", float(value))
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    return None


def _primitive_text(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return js_string(value)
    assert isinstance(value, int | float)
    return js_number(value)
