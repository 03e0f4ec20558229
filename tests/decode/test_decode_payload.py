"""decode_payload and friends: prefixes, nesting, encryption, failures, legacy and CLI values."""

from __future__ import annotations

import base64
import gzip
import os
import zlib

import pytest
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forensics.decode import (
    PAYLOAD_FIELDS,
    DecodedPayload,
    DecodeError,
    decode_field,
    decode_hydrated,
    decode_legacy,
    decode_payload,
    decode_payload_strict,
    layers,
)

DEVL = b'devl[{"orderId":1,"amount":2},"ord-1",250]'
VALUE = {"orderId": "ord-1", "amount": 250}
KEY = bytes(range(32))


def zstd(data: bytes) -> bytes:
    return b"zstd" + zstandard.ZstdCompressor().compress(data)


def gz(data: bytes) -> bytes:
    return b"gzip" + gzip.compress(data)


def encr(data: bytes, key: bytes = KEY) -> bytes:
    nonce = os.urandom(12)
    return b"encr" + nonce + AESGCM(key).encrypt(nonce, data, None)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_devl() -> None:
    assert decode_payload(DEVL) == DecodedPayload("devl", VALUE, len(DEVL), None, ("devl",))


@pytest.mark.parametrize("raw", [bytearray(DEVL), memoryview(DEVL)])
def test_devl_from_other_buffers(raw: bytearray | memoryview) -> None:
    assert decode_payload(raw).value == VALUE


@pytest.mark.parametrize(
    ("raw", "layers"),
    [
        (zstd(DEVL), ("zstd", "devl")),
        (gz(DEVL), ("gzip", "devl")),
        (b"gzip" + zlib.compress(DEVL), ("gzip", "devl")),
        (zstd(gz(DEVL)), ("zstd", "gzip", "devl")),
        (gz(zstd(DEVL)), ("gzip", "zstd", "devl")),
    ],
)
def test_compressed_layers(raw: bytes, layers: tuple[str, ...]) -> None:
    decoded = decode_payload(raw)
    assert decoded == DecodedPayload(layers[0], VALUE, len(raw), None, layers)


def test_zstd_frame_without_content_size() -> None:
    inflater = zstandard.ZstdCompressor().compressobj()
    raw = b"zstd" + inflater.compress(DEVL) + inflater.flush()
    assert decode_payload(raw).value == VALUE


def test_encr_without_key_shows_as_encrypted() -> None:
    raw = encr(DEVL)
    decoded = decode_payload(raw)
    assert decoded.format == "encr"
    assert decoded.value == {"__encrypted": "encr", "bytes": len(raw) - 4}
    assert decoded.layers == ("encr",)
    assert decode_payload_strict(raw) == decoded


def test_encr_with_the_right_key() -> None:
    raw = encr(zstd(DEVL))
    decoded = decode_payload(raw, KEY)
    assert decoded.format == "encr"
    assert decoded.value == VALUE
    assert decoded.layers == ("encr", "zstd", "devl")
    assert decoded.note == "decrypted with the given key"
    assert decode_payload_strict(raw, KEY) == decoded


@pytest.mark.parametrize("key", [bytes(32), b"short"])
def test_encr_with_a_wrong_key_is_marked_not_raised(key: bytes) -> None:
    raw = encr(DEVL)
    decoded = decode_payload(raw, key)
    assert decoded.format == "encr"
    assert decoded.value == {"__encrypted": "encr", "bytes": len(raw) - 4, "undecryptable": True}
    assert decoded.note
    with pytest.raises(DecodeError):
        decode_payload_strict(raw, key)


def test_encr_too_short_is_invalid() -> None:
    decoded = decode_payload(b"encr" + bytes(10), KEY)
    assert decoded.format == "invalid"
    assert decoded.note and "nonce" in decoded.note


def test_encp_is_always_encrypted() -> None:
    raw = b"encp" + os.urandom(80)
    for key in (None, KEY):
        decoded = decode_payload(raw, key)
        assert decoded.format == "encp"
        assert decoded.value == {"__encrypted": "encp", "bytes": 80}


def test_unknown_prefix_keeps_raw_bytes() -> None:
    raw = b"cbor\xa1\x61a\x01"
    decoded = decode_payload(raw)
    assert decoded == DecodedPayload(
        "unknown",
        {"__type": "bytes", "data": b64(raw)},
        len(raw),
        "unknown prefix b'cbor'",
        ("cbor",),
    )
    with pytest.raises(DecodeError):
        decode_payload_strict(raw)


def test_unknown_prefix_inside_a_layer() -> None:
    decoded = decode_payload(zstd(b"wxyz123"))
    assert decoded.format == "unknown"
    assert decoded.value == {"__type": "bytes", "data": b64(b"wxyz123")}
    assert decoded.layers == ("zstd", "wxyz")
    assert decoded.note == "unknown prefix b'wxyz' inside zstd"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "prefix"),
        (b"dev", "prefix"),
        (b"devl", "JSON"),
        (b"devl[[5]]", "out of range"),
        (b"devl\xff\xfe", "JSON"),
        (zstd(DEVL)[:-3], "truncated"),
        (b"zstd" + b"garbage!", "zstd"),
        (gz(DEVL)[:-5], "truncated"),
        (b"gzip" + b"garbage!", "gzip"),
        (zstd(b"zs"), "prefix"),
    ],
)
def test_bad_bytes_are_invalid_never_raised(raw: bytes, reason: str) -> None:
    decoded = decode_payload(raw)
    assert decoded.format == "invalid"
    assert decoded.value == {"__type": "bytes", "data": b64(raw), "reason": decoded.note}
    assert decoded.note and reason in decoded.note
    with pytest.raises(DecodeError):
        decode_payload_strict(raw)


def test_non_bytes_is_invalid() -> None:
    decoded = decode_payload("devl[1]")  # type: ignore[arg-type]
    assert decoded.format == "invalid"


def test_nesting_is_bounded() -> None:
    raw = DEVL
    for _ in range(10):
        raw = gz(raw)
    decoded = decode_payload(raw)
    assert decoded.format == "invalid"
    assert decoded.note and "nested" in decoded.note


def test_decompression_bombs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "MAX_INFLATED", 1000)
    zeros = b"devl" + bytes(100_000)
    declared = b"zstd" + zstandard.ZstdCompressor().compress(zeros)
    inflater = zstandard.ZstdCompressor().compressobj()
    undeclared = b"zstd" + inflater.compress(zeros) + inflater.flush()
    for raw in (declared, undeclared, b"gzip" + zlib.compress(zeros, 9)):
        decoded = decode_payload(raw)
        assert decoded.format == "invalid"
        assert decoded.note and "limit" in decoded.note


def test_legacy_devalue_array_is_revived() -> None:
    decoded = decode_legacy([{"orderId": 1, "amount": 2}, "ord-1", 250])
    assert decoded.format == "legacy-json"
    assert decoded.value == VALUE
    assert decoded.note is None


@pytest.mark.parametrize("value", [[1, 2, 3], {"a": 1}, "text", 5, [{"a": 9}]])
def test_legacy_plain_json_is_kept(value: object) -> None:
    decoded = decode_legacy(value)
    assert decoded == DecodedPayload("legacy-json", value, decoded.size, "plain JSON (not devalue)")
    assert decoded.size > 0


def test_hydrated_values_and_markers() -> None:
    assert decode_hydrated({"a": [1]}) == DecodedPayload("hydrated", {"a": [1]}, 9)
    encrypted = decode_hydrated("🔒 Encrypted")
    assert encrypted.value == {"__encrypted": "cli"} and encrypted.note
    expired = decode_hydrated("<data expired>")
    assert expired.value == {"__expired": True} and expired.note
    assert decode_field("<data expired>", hydrated=True) == expired


def test_decode_field_dispatch() -> None:
    marker = {"__type": "Uint8Array", "data": b64(DEVL)}
    assert decode_field(marker).value == VALUE
    assert decode_field(DEVL).value == VALUE
    assert decode_field(None).format == "absent"
    assert decode_field([[1], "x"]).value == ["x"]
    inline = decode_field("invalid input: bad")
    assert (inline.format, inline.value) == ("json", "invalid input: bad")
    bad = decode_field({"__type": "Uint8Array", "data": "@@"})
    assert bad.format == "invalid"
    assert decode_field(encr(DEVL), KEY).value == VALUE


def test_payload_fields() -> None:
    assert PAYLOAD_FIELDS["step_completed"] == "result"
    assert PAYLOAD_FIELDS["hook_received"] == "payload"
    assert PAYLOAD_FIELDS["workflow_failed"] == "error"
    assert "step_started" not in PAYLOAD_FIELDS
