"""decode_cbor: the cbor-x shapes world-postgres writes, and malformed input."""

from __future__ import annotations

from datetime import UTC, datetime

import cbor2
import pytest

from forensics.decode import DecodeError, decode_cbor, to_jsonable


def test_tag_64_becomes_bytes() -> None:
    data = cbor2.dumps({"input": cbor2.CBORTag(64, b"devl[1]")})
    assert decode_cbor(data) == {"input": b"devl[1]"}


def test_tag_1_becomes_aware_utc_datetime() -> None:
    data = bytes.fromhex("c1fb41dac0aa3a1ab021")  # tag 1, float epoch seconds, as cbor-x writes
    value = decode_cbor(data)
    assert isinstance(value, datetime)
    assert value.tzinfo is not None and value.utcoffset() == UTC.utcoffset(None)
    assert to_jsonable(value) == "2026-11-22T08:33:44.417Z"


def test_tag_1_with_integer_seconds() -> None:
    assert decode_cbor(bytes.fromhex("c11a514b67b0")) == datetime(2013, 3, 21, 20, 4, tzinfo=UTC)


def test_undefined_is_dropped_from_maps_and_none_in_arrays() -> None:
    # {"a": undefined, "b": [undefined, {"c": undefined}]} and a bare undefined: as JSON.stringify
    data = bytes.fromhex("a26161f76162 82f7 a16163f7".replace(" ", ""))
    assert decode_cbor(data) == {"b": [None, {}]}
    assert decode_cbor(bytes.fromhex("f7")) is None


def test_unknown_tag_is_kept_as_marker() -> None:
    nested = cbor2.dumps(cbor2.CBORTag(1000, [1, {"a": [2]}]))
    assert decode_cbor(nested) == {"__cbor_tag": 1000, "value": [1, {"a": [2]}]}
    data = cbor2.dumps(cbor2.CBORTag(1000, [1, b"x"]))
    assert decode_cbor(data) == {"__cbor_tag": 1000, "value": [1, b"x"]}
    assert to_jsonable(decode_cbor(data)) == {
        "__cbor_tag": 1000,
        "value": [1, {"__type": "Uint8Array", "data": "eA=="}],
    }


@pytest.mark.parametrize(
    "hexdata",
    [
        "",  # empty
        "62",  # text string header without its bytes
        "a2616101",  # map of two entries with one present
        "c163616263",  # tag 1 around a text string
        "0102",  # trailing byte after a complete item
        "ff",  # lone break
    ],
)
def test_malformed_input_raises_decode_error(hexdata: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_cbor(bytes.fromhex(hexdata))
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("cbor:")


def test_too_deep_raises_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_cbor(b"\x81" * 5000 + b"\x01")
