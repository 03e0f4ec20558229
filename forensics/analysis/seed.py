"""Reproduce the deterministic correlation ids and hook tokens of ULID-era workflow replays: a
replay's sandbox seeds an ARC4-based PRNG (seedrandom 3.0.5 semantics) with
``"<runId>:<workflowName>:<startedAt ms>"``, draws ``step_``/``hook_``/``wait_``
ids from a monotonic ULID factory fed by that PRNG with ``startedAt`` as the
time, and draws auto-generated hook tokens (nanoid 5 ``customRandom`` over the
URL alphabet) from the same PRNG. This module re-implements those pieces in
pure Python (see ``replay.md`` section 2) so that the analysis can predict
``B0``, the id at any draw ordinal, and the token of every unnamed hook.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = [
    "BODY_LEN",
    "ENCODING",
    "NANOID_BATCH",
    "REGION_BIT",
    "TIME_LEN",
    "TOKEN_SIZE",
    "URL_ALPHABET",
    "Arc4Random",
    "CorrelationIdGenerator",
    "MonotonicUlid",
    "RandomSource",
    "body_to_int",
    "decode_time",
    "encode_time",
    "increment_body",
    "int_to_body",
    "nanoid_token",
    "seed_string",
]

ENCODING: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base-32 alphabet used by ULIDs."""

URL_ALPHABET: Final = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"
"""nanoid's 64-character URL-safe alphabet, in nanoid's own order."""

TIME_LEN: Final = 10
BODY_LEN: Final = 16
MAX_TIME: Final = (1 << 48) - 1
REGION_BIT: Final = 1 << 47

_DIGIT: Final[dict[str, int]] = {ch: i for i, ch in enumerate(ENCODING)}
# Crockford digits as Python's base-32 digits, so `int(text, 32)` decodes a time part at C
# speed; a character outside Crockford's alphabet maps to "!", which int() refuses.
_BASE32: Final = "0123456789abcdefghijklmnopqrstuv"
_TO_BASE32: Final = str.maketrans(
    {**{chr(c): "!" for c in range(128)},
     **{ch: _BASE32[i] for i, ch in enumerate(ENCODING)},
     **{ch.lower(): _BASE32[i] for i, ch in enumerate(ENCODING)}}
)  # fmt: skip
_CROCKFORD: Final = frozenset(ENCODING)
_TO_PY_BASE32: Final = str.maketrans(ENCODING, "0123456789abcdefghijklmnopqrstuv")
_NEXT_CHAR: Final[dict[str, str]] = {ENCODING[i]: ENCODING[(i + 1) % 32] for i in range(32)}
TOKEN_SIZE: Final = 21
NANOID_BATCH: Final = 34
"""Bytes nanoid 5.1.6 requests per batch for a 21-char id over a 64-char alphabet."""
_KIND_PREFIX: Final[dict[str, str]] = {"step": "step_", "hook": "hook_", "wait": "wait_"}

_WIDTH: Final = 256
_START_DENOM: Final = 1 << 48
_SIGNIFICANCE: Final = 1 << 52
_OVERFLOW: Final = 1 << 53


class RandomSource(Protocol):
    """Anything with a ``random()`` method returning a float in [0, 1)."""

    def random(self) -> float: ...


class Arc4Random:
    """seedrandom 3.0.5's default generator: ARC4 keyed by a string seed.

    The key is derived from the seed's UTF-16 code units with seedrandom's
    "smear" mixing, the ARC4 key schedule runs over it, 256 output bytes are
    discarded, and each ``random()`` assembles a 53-bit double from 6 or more
    output bytes.
    """

    __slots__ = ("_i", "_j", "_s")

    def __init__(self, seed: str) -> None:
        state = list(range(_WIDTH))
        key = _mix_key(seed)
        keylen = len(key)
        j = 0
        for i in range(_WIDTH):
            t = state[i]
            j = (j + key[i % keylen] + t) & 255
            state[i] = state[j]
            state[j] = t
        self._s = state
        self._i = 0
        self._j = 0
        self._bytes(_WIDTH)

    def _bytes(self, count: int) -> int:
        """Next ``count`` keystream bytes as one big-endian integer."""
        s = self._s
        i = self._i
        j = self._j
        r = 0
        for _ in range(count):
            i = (i + 1) & 255
            t = s[i]
            j = (j + t) & 255
            s[i] = s[j]
            s[j] = t
            r = (r << 8) | s[(s[i] + t) & 255]
        self._i = i
        self._j = j
        return r

    def random(self) -> float:
        """A double in [0, 1) with 53 bits of keystream, exactly as seedrandom."""
        n = self._bytes(6)
        d = _START_DENOM
        x = 0
        while n < _SIGNIFICANCE:
            n = (n + x) << 8
            d <<= 8
            x = self._bytes(1)
        while n >= _OVERFLOW:
            # n stays an integer: it is a multiple of 256 before any halving.
            n >>= 1
            d >>= 1
            x >>= 1
        return (n + x) / d

    def clone(self) -> Arc4Random:
        """An independent copy in the same state (for look-ahead)."""
        other = Arc4Random.__new__(Arc4Random)
        other._s = list(self._s)
        other._i = self._i
        other._j = self._j
        return other


def _mix_key(seed: str) -> list[int]:
    """seedrandom's key derivation from the seed's UTF-16 code units."""
    units = seed.encode("utf-16-le")
    codes = [units[k] | (units[k + 1] << 8) for k in range(0, len(units), 2)]
    key: list[int] = []
    smear = 0
    for pos, code in enumerate(codes):
        slot = pos & 255
        if slot < len(key):
            smear ^= key[slot] * 19
            key[slot] = (smear + code) & 255
        else:
            key.append((smear + code) & 255)
    return key or [0]


def encode_time(ms: int) -> str:
    """The 10-character Crockford base-32 encoding of a 48-bit millisecond time."""
    if not 0 <= ms <= MAX_TIME:
        raise ValueError(f"time {ms} does not fit in 48 bits")
    chars = []
    for _ in range(TIME_LEN):
        chars.append(ENCODING[ms & 31])
        ms >>= 5
    return "".join(reversed(chars))


def decode_time(s: str) -> int:
    """Milliseconds from a ULID (or its 10-char time part); region tag cleared.

    Vercel-hosted ids may set the top bit of the 48-bit time as a region tag
    (event-model.md section 1); that bit is removed before the value is returned.
    """
    head = s[:TIME_LEN]
    if len(head) != TIME_LEN:
        raise ValueError(f"time part {s!r} is shorter than {TIME_LEN} characters")
    try:
        if not head.isascii():  # int() would take other scripts' digits
            raise ValueError(head)
        value = int(head.translate(_TO_BASE32), 32)
    except ValueError:
        bad = next(ch for ch in head.upper() if ch not in _DIGIT)
        raise ValueError(f"invalid base-32 character {bad!r} in {s!r}") from None
    if value > MAX_TIME:
        raise ValueError(f"time part {head.upper()!r} exceeds 48 bits")
    return value & ~REGION_BIT


def body_to_int(body: str) -> int:
    """The base-32 value of a ULID body (any length, Crockford alphabet)."""
    upper = body.upper()
    if not upper or not _CROCKFORD.issuperset(upper):
        raise ValueError(f"{body!r} is not a Crockford base-32 string")
    return int(upper.translate(_TO_PY_BASE32), 32)


def int_to_body(value: int, length: int = BODY_LEN) -> str:
    """Inverse of :func:`body_to_int`, zero padded to ``length`` characters."""
    if value < 0 or value >> (5 * length):
        raise ValueError(f"{value} does not fit in {length} base-32 characters")
    chars = []
    for _ in range(length):
        chars.append(ENCODING[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def increment_body(body: str) -> str:
    """``body`` plus one in base 32, carrying leftwards; all-``Z`` overflows."""
    pos = len(body) - 1
    while pos >= 0 and body[pos] == "Z":
        pos -= 1
    if pos < 0:
        raise ValueError(f"cannot increment {body!r}: it is already the maximum")
    nxt = _NEXT_CHAR.get(body[pos])
    if nxt is None:
        raise ValueError(f"invalid base-32 character {body[pos]!r} in {body!r}")
    return body[:pos] + nxt + "0" * (len(body) - pos - 1)


class MonotonicUlid:
    """A monotonic ULID factory (ulid 3.x ``monotonicFactory``) over a PRNG.

    The first id for a new, later time draws 16 PRNG values; each yields
    ``ENCODING[floor(r*32)]`` and is prepended, so the first draw ends up
    last. An id requested at a time not after the previous one reuses the
    previous time part and increments the previous body, drawing nothing.
    """

    __slots__ = ("_last_body", "_last_time", "_prng", "_time_part")

    def __init__(self, prng: RandomSource) -> None:
        self._prng = prng
        self._last_time = 0
        self._last_body: str | None = None
        self._time_part = ""

    def __call__(self, ms: int) -> str:
        body = self._last_body
        if ms <= self._last_time and body is not None:
            nxt = _NEXT_CHAR.get(body[-1], "0")
            # fast path: no carry out of the last character
            body = body[:-1] + nxt if nxt != "0" else increment_body(body)
            self._last_body = body
            return self._time_part + body
        self._time_part = encode_time(ms)
        self._last_time = ms
        self._last_body = _draw_body(self._prng)
        return self._time_part + self._last_body

    def clone(self, prng: RandomSource) -> MonotonicUlid:
        """A copy in the same state, driven by ``prng`` from now on."""
        other = MonotonicUlid(prng)
        other._last_time = self._last_time
        other._last_body = self._last_body
        other._time_part = self._time_part
        return other


def _draw_body(prng: RandomSource) -> str:
    """16 characters, each new draw prepended to the ones before."""
    chars = []
    for _ in range(BODY_LEN):
        chars.append(ENCODING[min(int(prng.random() * 32), 31)])
    return "".join(reversed(chars))


def nanoid_token(prng: RandomSource, batch: int = NANOID_BATCH) -> str:
    """An auto-generated hook token: nanoid 5 ``customRandom(urlAlphabet, 21)``.

    One batch of ``batch`` draws becomes bytes ``trunc(256*r) & 255``; the
    token is read from the last byte backwards, 21 bytes, each as
    ``URL_ALPHABET[b & 63]``. nanoid 5.1.6 (the version in the captured
    runtime) requests 34 bytes, so bytes 33 down to 13 are used; later
    nanoid releases (checked: 5.1.16) request exactly 21.
    """
    if batch < TOKEN_SIZE:
        raise ValueError(f"a batch of {batch} bytes cannot make a {TOKEN_SIZE}-char token")
    batch_bytes = [int(prng.random() * 256) & 255 for _ in range(batch)]
    return "".join(URL_ALPHABET[b & 63] for b in reversed(batch_bytes[batch - TOKEN_SIZE :]))


def seed_string(run_id: str, workflow_name: str, started_at_ms: int) -> str:
    """The string a replay seeds its PRNG with."""
    return f"{run_id}:{workflow_name}:{started_at_ms}"


class CorrelationIdGenerator:
    """The correlation-id and hook-token stream of one run's replays.

    ``next_id`` and ``next_hook_token`` share one PRNG, so calling them in
    the order the workflow code did (id first, then the token of an unnamed
    hook) reproduces what the runtime drew.
    """

    __slots__ = (
        "_drawn",
        "_first_body",
        "_prng",
        "_seed",
        "_started_at_ms",
        "_token_batch",
        "_ulid",
    )

    def __init__(
        self,
        run_id: str,
        workflow_name: str,
        started_at_ms: int,
        *,
        token_batch: int = NANOID_BATCH,
    ) -> None:
        self._started_at_ms = started_at_ms
        self._token_batch = token_batch
        self._seed = seed_string(run_id, workflow_name, started_at_ms)
        self._prng = Arc4Random(self._seed)
        self._ulid = MonotonicUlid(self._prng)
        self._first_body: str | None = None
        self._drawn = False

    @property
    def started_at_ms(self) -> int:
        """The ``startedAt`` time this generator was seeded with."""
        return self._started_at_ms

    @property
    def seed(self) -> str:
        """The PRNG seed string."""
        return self._seed

    def next_id(self, kind: str) -> str:
        """The next correlation id; ``kind`` is ``step``, ``hook`` or ``wait``."""
        prefix = _KIND_PREFIX.get(kind)
        if prefix is None:
            raise ValueError(f"unknown correlation id kind {kind!r}")
        self._drawn = True
        return prefix + self._ulid(self._started_at_ms)

    def next_hook_token(self) -> str:
        """The token an unnamed ``createHook()`` would draw now."""
        self._drawn = True
        return nanoid_token(self._prng, self._token_batch)

    def first_body(self) -> str:
        """B0: the body of the first id, independent of this generator's state."""
        if self._first_body is None:
            probe = Arc4Random(self._seed) if self._drawn else self._prng.clone()
            self._first_body = _draw_body(probe)
        return self._first_body

    def clone(self) -> CorrelationIdGenerator:
        """An independent copy in the same state (for look-ahead)."""
        other = CorrelationIdGenerator.__new__(CorrelationIdGenerator)
        other._started_at_ms = self._started_at_ms
        other._seed = self._seed
        other._token_batch = self._token_batch
        other._prng = self._prng.clone()
        other._ulid = self._ulid.clone(other._prng)
        other._first_body = self._first_body
        other._drawn = self._drawn
        return other
