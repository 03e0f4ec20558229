"""Python stand-ins for JavaScript values that have no JSON or Python equivalent.

`UNDEFINED` is JavaScript's ``undefined``: JSON has none, but devalue and CBOR do, and
the difference matters when a payload must be re-encoded byte for byte (devalue writes
``"key":-1`` for an ``undefined`` property). `Tagged` is a value one of the workflow
runtime's devalue reducers wrote as ``["tag", ref]`` (a Request, Headers, an Error...),
kept with its reduced value. The JSON-safe decoders never return either: they drop
``undefined`` object members as ``JSON.stringify`` does (``None`` elsewhere) and render
tags as JSON shapes. Only ``parse_devalue(..., native=True)`` returns them, and
`encode_devalue` accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, final


@final
class UndefinedType:
    """The type of the single `UNDEFINED` value; falsy, and printed as ``undefined``."""

    _instance: UndefinedType | None = None

    def __new__(cls) -> UndefinedType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = UndefinedType()


@dataclass(frozen=True, slots=True, eq=False)
class Tagged:
    """A value that one of the runtime's reducers wrote as ``["tag", ref]``.

    Holds the reduced value (e.g. a Request's ``{method, url, headers, body, duplex}``).
    Compared by identity, like the JavaScript object it stands for.
    """

    tag: str
    value: object
