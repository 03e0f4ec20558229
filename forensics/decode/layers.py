"""Open the wrapping layers of a payload: ``zstd`` and ``gzip`` inflation, ``encr`` decryption.

Each function takes the body after a 4-byte prefix and returns the bytes inside, which
start with a prefix of their own. Inflation is capped at `MAX_INFLATED` bytes and fed in
small input chunks, so a decompression bomb costs at most a little more than the cap;
truncated or corrupt streams raise `DecodeError`. Decryption is AES-GCM with the layout
12-byte nonce ‖ ciphertext ‖ 16-byte tag and no associated data; a wrong key is not an
error here but a ``None`` result, because the caller reports it as an undecryptable
payload rather than a corrupt one.
"""

from __future__ import annotations

import zlib
from typing import Final

import zstandard

from forensics.decode.errors import DecodeError

MAX_INFLATED: Final = 256 * 1024 * 1024
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
_CHUNK: Final = 4096  # zstd input per step; bounds how far one step can overshoot the cap
_ZSTD_UNKNOWN_SIZE: Final = zstandard.CONTENTSIZE_UNKNOWN


def inflate_zstd(body: bytes | memoryview) -> bytes:
    """Decompress one zstd frame; raise `DecodeError` if corrupt, truncated or too big."""
    try:
        declared = zstandard.get_frame_parameters(body).content_size
    except zstandard.ZstdError as exc:
        raise DecodeError(f"bad zstd frame header ({exc})", context="zstd") from None
    if (
        declared not in (_ZSTD_UNKNOWN_SIZE, zstandard.CONTENTSIZE_ERROR)
        and declared > MAX_INFLATED
    ):
        raise DecodeError(f"declares {declared} bytes, over the {MAX_INFLATED} limit", "zstd")
    inflater = zstandard.ZstdDecompressor().decompressobj()
    parts: list[bytes] = []
    total = 0
    view = memoryview(body)
    try:
        for start in range(0, len(view), _CHUNK):
            part = inflater.decompress(view[start : start + _CHUNK])
            total += len(part)
            if total > MAX_INFLATED:
                raise DecodeError(f"inflates past the {MAX_INFLATED}-byte limit", "zstd")
            parts.append(part)
            if inflater.eof:
                break
    except zstandard.ZstdError as exc:
        raise DecodeError(f"corrupt zstd data ({exc})", context="zstd") from None
    if not inflater.eof:
        raise DecodeError("truncated zstd frame", context="zstd")
    return b"".join(parts)


def inflate_gzip(body: bytes | memoryview) -> bytes:
    """Inflate gzip (or zlib, or raw deflate) data; same failure rules as `inflate_zstd`."""
    last_error = "empty body"
    for wbits in (47, -15):  # 47 = 32 + 15: gzip or zlib header, detected; -15 = raw
        inflater = zlib.decompressobj(wbits=wbits)
        try:
            data = inflater.decompress(body, MAX_INFLATED + 1)
        except zlib.error as exc:
            last_error = str(exc)
            continue
        if len(data) > MAX_INFLATED or inflater.unconsumed_tail:
            raise DecodeError(f"inflates past the {MAX_INFLATED}-byte limit", "gzip")
        if not inflater.eof:
            raise DecodeError("truncated gzip stream", context="gzip")
        return data
    raise DecodeError(f"corrupt gzip data ({last_error})", context="gzip")


def decrypt_aes_gcm(body: bytes | memoryview, key: bytes) -> bytes | None:
    """Plaintext of nonce ‖ ciphertext ‖ tag, or None when the key does not open it.

    Raises `DecodeError` only when the body is too short to be AES-GCM output at all, or
    the key has no valid AES length.
    """
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise DecodeError(
            f"{len(body)} bytes cannot hold a {NONCE_BYTES}-byte nonce and {TAG_BYTES}-byte tag",
            context="encr",
        )
    # loaded here, not with the module: most stores have no encrypted payload, and a
    # long-running watch should not carry the library's native code for nothing
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        cipher = AESGCM(key)
    except ValueError as exc:
        raise DecodeError(f"unusable key: {exc}", context="encr") from None
    data = bytes(body)
    try:
        return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
    except InvalidTag:
        return None
