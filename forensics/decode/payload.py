"""Decode one payload field into a `DecodedPayload`: the package's entry point.

From spec 2 on a payload is bytes: a 4-byte ASCII prefix, then a body. ``devl`` is devalue
text; ``zstd`` and ``gzip`` wrap another prefixed payload; ``encr`` is AES-GCM around
another prefixed payload (opened only when a key is given); ``encp`` is sealed to the
run's X25519 key and never opened here. `decode_payload` walks the layers and never
raises: corrupt bytes give format ``"invalid"`` (reason in ``note``), an unknown prefix
gives ``"unknown"``; both keep the bytes they could not read (the raw payload, or the
inflated layer holding the unknown prefix) as ``{"__type":"bytes","data":b64}`` (an
invalid one with its ``"reason"`` too, so the store keeps why).
``format`` is the outermost prefix; ``layers`` lists the whole chain, e.g.
``("zstd", "devl")``. `decode_payload_strict` raises `DecodeError` instead, for callers
that quarantine bad payloads. `decode_legacy` handles spec-1 JSON payloads,
`decode_hydrated` values already decoded by the CLI, and `decode_field` picks the right
one for a raw ``eventData`` field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import orjson

from forensics.decode.binary import b64encode, to_jsonable, unwrap_binary
from forensics.decode.devalue import is_devalue_document, parse_devalue, unflatten_devalue
from forensics.decode.errors import DecodeError
from forensics.decode.jsvalues import UNDEFINED
from forensics.decode.layers import decrypt_aes_gcm, inflate_gzip, inflate_zstd

DEVALUE: Final = "devl"
ZSTD: Final = "zstd"
GZIP: Final = "gzip"
ENCRYPTED: Final = "encr"
SEALED: Final = "encp"
UNKNOWN: Final = "unknown"
INVALID: Final = "invalid"
LEGACY_JSON: Final = "legacy-json"
INLINE_JSON: Final = "json"
PREFIXED_JSON: Final = "json-prefixed"
"""Bytes `json` + JSON text: how the Python SDK writes every payload."""
HYDRATED: Final = "hydrated"
ABSENT: Final = "absent"
ENCRYPTED_MARKER: Final = "🔒 Encrypted"
EXPIRED_MARKER: Final = "<data expired>"
MAX_LAYERS: Final = 8
AES_KEY_SIZES: Final = (16, 24, 32)
_DEVALUE_ONLY: Final = (DEVALUE,)


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """A decoded payload: JSON-safe `value`, the `format` it was stored in, and why not.

    `size` is the stored size in bytes (raw bytes, or the compact JSON of an inline
    value); `note` explains anything unusual (decryption, invalid bytes, CLI markers);
    `layers` is the chain of prefixes opened, outermost first.
    """

    format: str
    value: object
    size: int
    note: str | None = None
    layers: tuple[str, ...] = ()


class _Stop(Exception):
    """Ends the layer walk early with a finished result (unknown, sealed, encrypted)."""

    def __init__(self, result: DecodedPayload, *, failure: str | None = None) -> None:
        super().__init__(result.note)
        self.result = result
        self.failure = failure  # set when strict callers must treat the result as an error


def decode_payload(raw: bytes | bytearray | memoryview, key: bytes | None = None) -> DecodedPayload:
    """Decode prefixed payload bytes; never raises (see the module docstring)."""
    if isinstance(raw, bytes) and raw.startswith(b"devl"):  # the hot path: plain devalue
        try:
            value = parse_devalue(memoryview(raw)[4:])
        except DecodeError as exc:
            return _invalid(raw, exc.reason, _DEVALUE_ONLY)
        return DecodedPayload(DEVALUE, value, len(raw), None, _DEVALUE_ONLY)
    layers: list[str] = []
    try:
        return _walk(raw, key, layers)
    except _Stop as stop:
        return stop.result
    except DecodeError as exc:
        return _invalid(raw, exc.reason, tuple(layers))


def decode_payload_strict(
    raw: bytes | bytearray | memoryview, key: bytes | None = None
) -> DecodedPayload:
    """Like `decode_payload`, but raise `DecodeError` for payloads to quarantine.

    Those are invalid bytes, an unknown prefix, and an ``encr`` layer the given key does
    not open. A payload that is merely encrypted (no key given) or sealed is returned.
    """
    try:
        return _walk(raw, key, [])
    except _Stop as stop:
        if stop.failure is not None:
            raise DecodeError(stop.failure, context="payload") from None
        return stop.result


def _walk(
    raw: bytes | bytearray | memoryview, key: bytes | None, layers: list[str]
) -> DecodedPayload:
    """Open layer after layer until devalue text; raise `DecodeError` or `_Stop`."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise DecodeError(f"payload is a {type(raw).__name__}, not bytes", context="payload")
    data: bytes | memoryview = memoryview(raw)
    for _ in range(MAX_LAYERS):
        if len(data) < 4:
            raise DecodeError(f"{len(data)} byte(s) cannot hold a 4-byte prefix", "payload")
        prefix = bytes(data[:4]).decode("latin-1")
        layers.append(prefix)
        body = memoryview(data)[4:]
        if prefix == DEVALUE:
            value = parse_devalue(body)
            note = "decrypted with the given key" if ENCRYPTED in layers else None
            return DecodedPayload(layers[0], value, len(raw), note, tuple(layers))
        if prefix == "json":
            value = _json_body(body)
            fmt = PREFIXED_JSON if len(layers) == 1 else layers[0]
            return DecodedPayload(fmt, value, len(raw), None, tuple(layers))
        if prefix == ZSTD:
            data = inflate_zstd(body)
        elif prefix == GZIP:
            data = inflate_gzip(body)
        elif prefix == ENCRYPTED:
            data = _open_encrypted(raw, body, key, layers)
        elif prefix == SEALED:
            note = "sealed to the run's X25519 public key; cannot be opened offline"
            raise _Stop(_encrypted(raw, body, note, layers))
        else:
            raise _unknown(raw, data, prefix, layers)
    raise DecodeError(f"more than {MAX_LAYERS} nested layers", context="payload")


def _json_body(body: memoryview) -> object:
    try:
        return to_jsonable(orjson.loads(bytes(body)))
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"`json` payload is not JSON: {exc}", context="payload") from None


def _open_encrypted(
    raw: bytes | bytearray | memoryview, body: memoryview, key: bytes | None, layers: list[str]
) -> bytes:
    if key is None:
        raise _Stop(_encrypted(raw, body, "encrypted; no key given", layers))
    if len(key) not in AES_KEY_SIZES:
        reason = f"the key is {len(key)} bytes; AES-GCM needs 16, 24 or 32"
    else:
        plain = decrypt_aes_gcm(body, key)
        if plain is not None:
            return plain
        reason = "cannot decrypt: wrong key or corrupted ciphertext (GCM tag mismatch)"
    result = _encrypted(raw, body, reason, layers, undecryptable=True)
    raise _Stop(result, failure=reason)


def _encrypted(
    raw: bytes | bytearray | memoryview,
    body: memoryview,
    note: str,
    layers: list[str],
    *,
    undecryptable: bool = False,
) -> DecodedPayload:
    value: dict[str, object] = {"__encrypted": layers[-1], "bytes": len(body)}
    if undecryptable:
        value["undecryptable"] = True
    return DecodedPayload(layers[0], value, len(raw), note, tuple(layers))


def _unknown(
    raw: bytes | bytearray | memoryview, data: bytes | memoryview, prefix: str, layers: list[str]
) -> _Stop:
    where = "" if len(layers) == 1 else f" inside {'>'.join(layers[:-1])}"
    reason = f"unknown prefix {prefix.encode('latin-1')!r}{where}"
    value = {"__type": "bytes", "data": b64encode(data)}
    return _Stop(DecodedPayload(UNKNOWN, value, len(raw), reason, tuple(layers)), failure=reason)


def _invalid(
    raw: bytes | bytearray | memoryview | object, reason: str, layers: tuple[str, ...]
) -> DecodedPayload:
    if isinstance(raw, bytes | bytearray | memoryview):
        value: object = {"__type": "bytes", "data": b64encode(raw), "reason": reason}
        size = len(raw)
    else:
        value, size = to_jsonable(raw), 0
    return DecodedPayload(INVALID, value, size, reason, layers)


def decode_legacy(value: object) -> DecodedPayload:
    """Decode a spec-1 payload: JSON stored inline, devalue-flattened when it is an array.

    An array that is a well-formed devalue document (every slot but the root referenced)
    is revived; anything else is kept as plain JSON, with a note saying so.
    """
    size = _json_size(value)
    if isinstance(value, list) and is_devalue_document(value):
        try:
            return DecodedPayload(LEGACY_JSON, unflatten_devalue(value), size)
        except DecodeError as exc:
            return DecodedPayload(INVALID, to_jsonable(value), size, exc.reason)
    return DecodedPayload(LEGACY_JSON, to_jsonable(value), size, "plain JSON (not devalue)")


def decode_hydrated(value: object) -> DecodedPayload:
    """Wrap a value the CLI already decoded (``workflow inspect --withData``).

    The CLI's markers become explicit: ``"🔒 Encrypted"`` → ``{"__encrypted": "cli"}``,
    ``"<data expired>"`` → ``{"__expired": true}``, each with a note.
    """
    size = _json_size(value)
    if value == ENCRYPTED_MARKER:
        return DecodedPayload(HYDRATED, {"__encrypted": "cli"}, size, f"CLI marker {value!r}")
    if value == EXPIRED_MARKER:
        return DecodedPayload(HYDRATED, {"__expired": True}, size, f"CLI marker {value!r}")
    return DecodedPayload(HYDRATED, to_jsonable(value), size)


def decode_field(
    value: object, key: bytes | None = None, *, hydrated: bool = False
) -> DecodedPayload:
    """Decode one ``eventData`` payload field as found in a log; never raises.

    Binary leaves (bytes, CBOR tag 64, ``{"__type":"Uint8Array",...}``) go to
    `decode_payload`; arrays to `decode_legacy` (spec 1); other inline values (the plain
    ``error`` strings and objects of 4.x logs) come back as format ``"json"``; a missing
    value as ``"absent"``. ``hydrated=True`` means the value comes from CLI output.
    """
    if value is None or value is UNDEFINED:
        return DecodedPayload(ABSENT, None, 0)
    if hydrated:
        return decode_hydrated(value)
    try:
        raw = unwrap_binary(value)
    except DecodeError as exc:
        return _invalid(value, exc.reason, ())
    if raw is not None:
        return decode_payload(raw, key)
    if isinstance(value, list):
        return decode_legacy(value)
    return DecodedPayload(INLINE_JSON, to_jsonable(value), _json_size(value))


def _json_size(value: object) -> int:
    try:
        return len(orjson.dumps(value, default=str))
    except (TypeError, orjson.JSONEncodeError):
        return 0
