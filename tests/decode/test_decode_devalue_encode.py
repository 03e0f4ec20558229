"""encode_devalue: byte-for-byte what devalue 5.9 writes with the runtime's reducers.

The expected strings were produced by devalue 5.9.1's own ``stringify`` with the
runtime's ``Date`` and ``Uint8Array`` reducers, for the equivalent JavaScript values.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from forensics.decode import UNDEFINED, Tagged, encode_devalue, parse_devalue, to_jsonable
from forensics.decode.devalue_encode import js_number, js_string

BIG = [2**53, 2**53 + 2, 0.1, 12345678901234567890]
SHARED = {"x": 1}
CYCLE: list[object] = []
CYCLE.append(CYCLE)

CASES: list[tuple[str, object, str]] = [
    (
        "order",
        {"orderId": "ord-1", "amount": 250, "currency": "EUR"},
        '[{"orderId":1,"amount":2,"currency":3},"ord-1",250,"EUR"]',
    ),
    (
        "preorder",
        {"a": {"b": "c"}, "d": "e", "f": ["c", "e"]},
        '[{"a":1,"d":3,"f":4},{"b":2},"c","e",[2,3]]',
    ),
    (
        "dedupe",
        [1, 1.0, True, "x", "x", None, None, False, 0],
        '[[1,1,2,3,3,4,4,5,6],1,true,"x",null,false,0]',
    ),
    ("sentinels", [UNDEFINED, math.nan, math.inf, -math.inf, -0.0], "[[-1,-3,-4,-5,-6]]"),
    (
        "keys",
        {"b": 1, "2": 2, "1": 3, "a": 4, "01": 5, "4294967295": 6, "4294967294": 7},
        '[{"1":1,"2":2,"4294967294":3,"b":4,"a":5,"01":6,"4294967295":7},3,2,7,1,4,5,6]',
    ),
    (
        "escapes",
        'a"b\\c<d\ne\u2028\u2029\x01\x7f\t\b\f\ré😀',
        '["a\\"b\\\\c\\u003Cd\\ne\\u2028\\u2029\\u0001\x7f\\t\\b\\f\\ré😀"]',
    ),
    (
        "numbers",
        [1e21, 1e20, 1e-7, 1e-6, 123.456, -1.5e-10, 5e-324, 1.7976931348623157e308, *BIG],
        "[[1,2,3,4,5,6,7,8,9,10,11,12],1e+21,100000000000000000000,1e-7,0.000001,123.456,"
        "-1.5e-10,5e-324,1.7976931348623157e+308,9007199254740992,9007199254740994,0.1,"
        "12345678901234567000]",
    ),
    (
        "date",
        datetime(2026, 11, 21, 9, 5, 40, 353000, tzinfo=UTC),
        '[["Date",1],"2026-11-21T09:05:40.353Z"]',
    ),
    ("bytes", [b"\x00\x01", b""], '[[1,3],["Uint8Array",2],"AAE=",["Uint8Array",4],"."]'),
    ("shared", [SHARED, SHARED], '[[1,1],{"x":2},1]'),
    ("cycle", CYCLE, "[[0]]"),
    (
        "step",
        {"args": ["x"], "closureVars": UNDEFINED, "thisVal": UNDEFINED},
        '[{"args":1,"closureVars":-1,"thisVal":-1},[2],"x"]',
    ),
    ("str", "x", '["x"]'),
    ("null", None, "[null]"),
    ("undefined", UNDEFINED, "-1"),
    ("nan", math.nan, "-3"),
    ("empty object", {}, "[{}]"),
    ("empty array", [], "[[]]"),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_devalue(value: object, expected: str) -> None:
    assert encode_devalue(value) == expected


# cycles come back as {"__ref"} markers, shared objects as shared copies, and integers
# beyond 2**53 as the doubles JavaScript would have held
ROUND_TRIP = [c for c in CASES if c[0] not in ("cycle", "shared", "numbers")]


@pytest.mark.parametrize("value", [c[1] for c in ROUND_TRIP], ids=[c[0] for c in ROUND_TRIP])
def test_parse_inverts_encode(value: object) -> None:
    assert parse_devalue(encode_devalue(value)) == to_jsonable(value)
    text = encode_devalue(value)
    assert encode_devalue(parse_devalue(text, native=True)) == text


def test_tagged_values_write_the_reducer_form() -> None:
    shared = Tagged("Headers", [["a", "b"]])
    value = {"h": shared, "again": shared, "e": Tagged("Error", {"message": "m"})}
    expected = (
        '[{"h":1,"again":1,"e":6},["Headers",2],[3],[4,5],"a","b",["Error",7],{"message":8},"m"]'
    )
    assert encode_devalue(value) == expected


def test_tuples_are_arrays() -> None:
    assert encode_devalue(("a", ("a",))) == '[[1,2],"a",[1]]'


@pytest.mark.parametrize("value", [{1, 2}, object(), {1: "x"}, [complex(1, 2)]])
def test_unsupported_values_raise_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        encode_devalue(value)


def test_depth_100000_round_trips() -> None:
    deep: dict[str, object] = {"leaf": True}
    for _ in range(100_000):
        deep = {"k": deep}
    text = encode_devalue(deep)
    assert text.startswith('[{"k":1},{"k":2},')
    back = parse_devalue(text)
    for _ in range(100_000):  # walk down: `==` on such depth would recurse
        assert isinstance(back, dict) and list(back) == ["k"]
        back = back["k"]
    assert back == {"leaf": True}


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "0"), (-0.0, "0"), (2.0, "2"), (1e16, "10000000000000000"), (1.5e300, "1.5e+300")],
)
def test_js_number(number: float, text: str) -> None:
    assert js_number(number) == text


def test_js_string_fast_path_returns_plain_quotes() -> None:
    assert js_string("plain") == '"plain"'
