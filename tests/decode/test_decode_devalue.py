"""parse_devalue: sentinels, every tag (devalue's own and the runtime's), refs, depth."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from forensics.decode import (
    UNDEFINED,
    DecodeError,
    Tagged,
    cli_view,
    encode_devalue,
    is_devalue_document,
    parse_devalue,
    to_jsonable,
)


def test_array_sentinels() -> None:
    value = parse_devalue("[[-1,-2,-3,-4,-5,-6]]")
    assert value == [None, None, "NaN", "Infinity", "-Infinity", 0.0]
    assert isinstance(value, list) and math.copysign(1.0, value[5]) < 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-1", None), ("-3", "NaN"), ("-4", "Infinity"), ("-5", "-Infinity"), ("-6", 0.0)],
)
def test_bare_root_sentinels(text: str, expected: object) -> None:
    assert parse_devalue(text) == expected


def test_undefined_members_are_dropped_from_objects() -> None:
    text = '[{"args":1,"closureVars":-1,"thisVal":-1},[2],"validating"]'
    assert parse_devalue(text) == {"args": ["validating"]}


def test_native_mode_keeps_what_json_cannot_hold() -> None:
    value = parse_devalue(
        '[{"a":-1,"n":-3,"i":-4,"d":1,"b":3},["Date",2],'
        '"2026-11-21T09:05:40.353Z",["Uint8Array",4],"AAE="]',
        native=True,
    )
    assert isinstance(value, dict)
    assert value["a"] is UNDEFINED and math.isnan(value["n"]) and value["i"] == math.inf
    assert value["d"] == datetime(2026, 11, 21, 9, 5, 40, 353000, tzinfo=UTC)
    assert value["b"] == b"\x00\x01"
    assert parse_devalue("-1", native=True) is UNDEFINED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Date: devalue's literal form, the runtime's ref form, invalid dates
        ('[["Date","2026-11-21T09:05:40.353Z"]]', "2026-11-21T09:05:40.353Z"),
        ('[["Date",1],"2026-11-21T09:05:40.353Z"]', "2026-11-21T09:05:40.353Z"),
        ('[["Date",""]]', None),
        ('[["Date",1],"."]', None),
        # Map and Set, both forms
        ('[["Map",1,2],"k",3]', {"__type": "Map", "entries": [["k", 3]]}),
        ('[["Map",1],[2],[3,4],"k",5]', {"__type": "Map", "entries": [["k", 5]]}),
        ('[["Map"]]', {"__type": "Map", "entries": []}),
        ('[["Set",1,2],"a","b"]', {"__type": "Set", "values": ["a", "b"]}),
        ('[["Set",1],[2,3],"a","b"]', {"__type": "Set", "values": ["a", "b"]}),
        ('[["Set"]]', {"__type": "Set", "values": []}),
        # BigInt, RegExp, URL, URLSearchParams
        ('[["BigInt","123"]]', {"__type": "BigInt", "value": "123"}),
        ('[["BigInt",1],"-9007199254740993"]', {"__type": "BigInt", "value": "-9007199254740993"}),
        ('[["RegExp","a+","gi"]]', {"__type": "RegExp", "source": "a+", "flags": "gi"}),
        ('[["RegExp","a+"]]', {"__type": "RegExp", "source": "a+", "flags": ""}),
        (
            '[["RegExp",1],{"source":2,"flags":3},"a+","g"]',
            {"__type": "RegExp", "source": "a+", "flags": "g"},
        ),
        ('[["URL","https://x.test/a"]]', "https://x.test/a"),
        ('[["URL",1],"https://x.test/a"]', "https://x.test/a"),
        ('[["URLSearchParams",1],"a=1&b=2"]', {"__type": "URLSearchParams", "value": "a=1&b=2"}),
        ('[["URLSearchParams",1],"."]', {"__type": "URLSearchParams", "value": ""}),
        # null-prototype objects and boxed primitives
        ('[["null","a",1,"b",-1],"x"]', {"a": "x"}),
        ('[["Object",1],"boxed"]', "boxed"),
        # typed arrays and buffers, both forms, including a view on part of a buffer
        ('[["Uint8Array",1],"AAE="]', {"__type": "Uint8Array", "data": "AAE="}),
        ('[["Uint8Array",1],"."]', {"__type": "Uint8Array", "data": ""}),
        (
            '[["Uint8Array",1],["ArrayBuffer","AAECAw=="]]',
            {"__type": "Uint8Array", "data": "AAECAw=="},
        ),
        (
            '[["Uint16Array",1,2,1],["ArrayBuffer","AAECAw=="]]',
            {"__type": "Uint16Array", "data": "AgM="},
        ),
        ('[["Float64Array",1],"AAAAAAAA8D8="]', {"__type": "Float64Array", "data": "AAAAAAAA8D8="}),
        ('[["ArrayBuffer",1],"AAE="]', {"__type": "ArrayBuffer", "data": "AAE="}),
        ('[["ArrayBuffer","."]]', {"__type": "ArrayBuffer", "data": ""}),
        # sparse arrays
        ('[[-7,5,1,1,3,2],"a","b"]', [None, "a", None, "b", None]),
        # unknown tags, literal and ref forms
        (
            '[["Temporal.Instant","2020-01-01T00:00:00Z"]]',
            {"__type": "Temporal.Instant", "value": "2020-01-01T00:00:00Z"},
        ),
        ('[["Custom",1],{"a":2},3]', {"__type": "Custom", "value": {"a": 3}}),
        ('[["Custom"]]', {"__type": "Custom", "value": None}),
    ],
)
def test_tags(text: str, expected: object) -> None:
    assert parse_devalue(text) == expected


def test_huge_sparse_array_stays_sparse() -> None:
    assert parse_devalue('[[-7,4294967295,7,1],"x"]') == {
        "__type": "SparseArray",
        "length": 4294967295,
        "entries": [[7, "x"]],
    }


def test_errors_become_name_message_stack() -> None:
    text = '[["Error",1],{"name":2,"message":3,"stack":4},"TypeError","boom","TypeError: boom"]'
    assert parse_devalue(text) == {
        "name": "TypeError",
        "message": "boom",
        "stack": "TypeError: boom",
    }
    text = (
        '[["FatalError",1],{"message":2,"stack":-1,"cause":3},"bad",["Error",4],{"message":5},"c"]'
    )
    assert parse_devalue(text) == {
        "name": "FatalError",
        "message": "bad",
        "fatal": True,  # the SDK's FatalError instances carry it; the payload does not
        "cause": {"name": "Error", "message": "c"},
    }


REAL_WEBHOOK_REQUEST = (
    '[["Request",1],{"method":2,"url":3,"headers":4,"body":11,"duplex":16},"POST",'
    '"http://localhost:3210/.well-known/workflow/v1/webhook/T",["Headers",5],[6,9],[7,8],'
    '"accept","*/*",[10,8],"host",["ReadableStream",12],{"name":13,"type":14,"framing":15},'
    '"strm_01M7YNNB8MJVPXHVYKX47KKR5Z","bytes","framed-v1","half"]'
)


def test_request_headers_and_streams() -> None:
    value = parse_devalue(REAL_WEBHOOK_REQUEST)
    assert value == {
        "__type": "Request",
        "method": "POST",
        "url": "http://localhost:3210/.well-known/workflow/v1/webhook/T",
        "headers": {"__type": "Headers", "entries": [["accept", "*/*"], ["host", "*/*"]]},
        "body": {
            "__type": "ReadableStream",
            "name": "strm_01M7YNNB8MJVPXHVYKX47KKR5Z",
            "type": "bytes",
            "framing": "framed-v1",
        },
        "duplex": "half",
    }
    assert cli_view(value) == {
        "method": "POST",
        "url": "http://localhost:3210/.well-known/workflow/v1/webhook/T",
        "headers": {},
        "body": {
            "__type": "__workflow_stream_ref__",
            "streamId": "strm_01M7YNNB8MJVPXHVYKX47KKR5Z",
        },
        "duplex": "half",
    }


def test_native_mode_keeps_runtime_tags_for_reencoding() -> None:
    value = parse_devalue(REAL_WEBHOOK_REQUEST, native=True)
    assert isinstance(value, Tagged) and value.tag == "Request"
    assert isinstance(value.value, dict)
    headers = value.value["headers"]
    assert isinstance(headers, Tagged) and headers.tag == "Headers"
    assert headers.value == [["accept", "*/*"], ["host", "*/*"]]
    assert encode_devalue(value) == REAL_WEBHOOK_REQUEST
    error = '[["Error",1],{"name":2,"message":3,"stack":-1},"TypeError","boom"]'
    assert encode_devalue(parse_devalue(error, native=True)) == error
    assert to_jsonable(Tagged("Custom", b"x")) == {
        "__type": "Custom",
        "value": {"__type": "Uint8Array", "data": "eA=="},
    }


def test_functions_classes_and_instances() -> None:
    step = parse_devalue('[["StepFunction",1],{"stepId":2},"step//./w//s"]')
    assert step == {"__type": "StepFunction", "stepId": "step//./w//s"}
    assert cli_view(step) == "<step:step//./w//s>"
    cls = parse_devalue('[["Class",1],{"classId":2},"class//./w//Point"]')
    assert cli_view(cls) == "<class:Point>"
    inst = parse_devalue('[["Instance",1],{"classId":2,"data":3},"class//./w//Point",{"x":4},1]')
    assert inst == {"__type": "Instance", "classId": "class//./w//Point", "data": {"x": 1}}
    assert cli_view(inst) == {
        "__type": "__workflow_class_instance_ref__",
        "className": "Point",
        "classId": "class//./w//Point",
        "data": {"x": 1},
    }
    assert cli_view(parse_devalue('[["Map",1],[]]')) == {}


def test_cycles_become_refs() -> None:
    assert parse_devalue('[{"self":0}]') == {"self": {"__ref": 0}}
    assert parse_devalue("[[0]]") == [{"__ref": 0}]
    assert parse_devalue('[{"a":1},{"b":0}]') == {"a": {"b": {"__ref": 0}}}
    assert parse_devalue('[["Set",1],[0]]') == {"__type": "Set", "values": [{"__ref": 0}]}


def test_repeated_refs_are_shared_not_rebuilt() -> None:
    value = parse_devalue('[[1,1],{"x":2},"y"]')
    assert value == [{"x": "y"}, {"x": "y"}]
    assert isinstance(value, list) and value[0] is value[1]


def _depth(value: object) -> int:
    depth = 0
    while isinstance(value, list | dict) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    return depth


@pytest.mark.parametrize("container", ["[{}]", '{{"k":{}}}'])
def test_depth_100000_does_not_recurse(container: str) -> None:
    depth = 100_000
    slots = [container.format(i + 1) for i in range(depth)]
    text = "[" + ",".join([*slots, '"leaf"']) + "]"
    value = parse_devalue(text)
    assert _depth(value) == depth
    cyclic = parse_devalue("[" + ",".join([*slots, "[0]"]) + "]")
    for _ in range(depth):
        cyclic = cyclic[0] if isinstance(cyclic, list) else next(iter(cyclic.values()))  # type: ignore[union-attr]
    assert cyclic == [{"__ref": 0}]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        "{}",
        "5",
        "-9",
        '"str"',
        "[[5]]",
        '[[1],"x"',
        '[{"a":"x"}]',
        "[[1.5],2]",
        "[[true]]",
        "[[-8]]",
        '[["Map",1,2,3],1,2,3]',
        '[["Map",1],[2],[3],1]',
        '[[-7,"x"]]',
        "[[-7,2,5,1],1]",
        '[["Uint8Array",1],"@@@"]',
        '[["null",1,2],3]',
    ],
)
def test_invalid_documents_raise_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_devalue(text)


def test_invalid_utf8_raises_decode_error() -> None:
    with pytest.raises(DecodeError):
        parse_devalue(b'["\xff"]')


def test_numbers_read_like_json_parse() -> None:
    # orjson (like JSON.parse) turns integers beyond 64 bits into floats
    assert parse_devalue("[123456789012345678901234567890]") == 1.2345678901234568e29


def test_lone_surrogates_fall_back_to_the_slow_parser() -> None:
    assert parse_devalue('["\\ud800"]') == "\ud800"


@pytest.mark.parametrize(
    ("flat", "expected"),
    [
        ([[1], "x"], True),
        (["x"], True),
        ([{"a": 1, "b": -1}, 2], True),
        ([1, 2, 3], False),
        ([{"a": 5}], False),
        ([{"a": "x"}], False),
        ([], False),
        ({"a": 1}, False),
    ],
)
def test_is_devalue_document(flat: object, expected: bool) -> None:
    assert is_devalue_document(flat) is expected


def test_cli_view_rules() -> None:
    response = parse_devalue(
        '[["Response",1],{"status":2,"headers":3,"body":5},200,["Headers",4],[],'
        '["ReadableStream",6],{"name":7},"01ABC"]'
    )
    assert cli_view(response) == {
        "status": 200,
        "headers": {},
        "body": {"__type": "__workflow_stream_ref__", "streamId": "strm_01ABC"},
    }
    unchanged = {"__type": "BigInt", "value": "1"}
    assert cli_view([unchanged, "x", None]) == [unchanged, "x", None]
    assert cli_view({"__type": "WritableStream"}) == {
        "__type": "__workflow_stream_ref__",
        "streamId": "strm_null",
    }
