"""Tests for the seeded correlation-id and hook-token generator."""

from __future__ import annotations

import time

import pytest

from forensics.analysis.seed import (
    ENCODING,
    REGION_BIT,
    Arc4Random,
    CorrelationIdGenerator,
    MonotonicUlid,
    body_to_int,
    decode_time,
    encode_time,
    increment_body,
    int_to_body,
    nanoid_token,
    seed_string,
)

RUN_ID = "wrun_01JZ0000000000000000000000"
WORKFLOW = "workflow//./src/workflows/demo.ts//demoWorkflow"
STARTED_AT = 1750000000123
VECTOR_IDS = [
    "01JXT21Q3VPTAKE35338VS4P3Q",
    "01JXT21Q3VPTAKE35338VS4P3R",
    "01JXT21Q3VPTAKE35338VS4P3S",
    "01JXT21Q3VPTAKE35338VS4P3T",
]
VECTOR_TOKENS = ["59zy9htJTwBPCli93GS-x", "Q4dpbsry7RipzO_GiSAZI"]

# Produced by the real npm packages (seedrandom 3.0.5, ulid 3.0.2, nanoid 5.1.6)
# with the call sequence: id(t), token, id(t), id(t - 5), token, id(t + 1000).
# They exercise seeds longer than 256 code units (key smearing) and surrogates.
NPM_VECTORS = [
    (
        "x" * 300 + ":long",
        1700000000000,
        [
            "01HF7YAT00T1CF7CNH0JWX3C0R",
            "YUASARpmkygfmP8wcMn_T",
            "01HF7YAT00T1CF7CNH0JWX3C0S",
            "01HF7YAT00T1CF7CNH0JWX3C0T",
            "tamrk8pIrwz_t2xNXVWqx",
            "01HF7YATZ871B0DNQP5BJTAAGE",
        ],
        [0.7738289695401913, 0.02338468602127534],
    ),
    (
        "é漢字😀" * 80 + ":unicode",
        1700000000001,
        [
            "01HF7YAT015SWVFN3Z9PR8TM3M",
            "cMzxJFcdoV1jlvinUBPgV",
            "01HF7YAT015SWVFN3Z9PR8TM3N",
            "01HF7YAT015SWVFN3Z9PR8TM3P",
            "3AmnFhOcODSFwZKU-NInJ",
            "01HF7YATZ9TGNCTR5VQXDHCMDG",
        ],
        [0.6444643781886324, 0.12191721307928066],
    ),
    (
        "",
        100,
        [
            "0000000034XJZKP3EZ4XK4CS87",
            "u1dDAg-byqHIwLphgGoKV",
            "0000000034XJZKP3EZ4XK4CS88",
            "0000000034XJZKP3EZ4XK4CS89",
            "D3iYW4ZCpnZ2z8fX22Tcc",
            "000000012C8D8JWFNJ3M2FVVKG",
        ],
        [0.23144008215179881, 0.27404636548159655],
    ),
]


def _generator() -> CorrelationIdGenerator:
    return CorrelationIdGenerator(RUN_ID, WORKFLOW, STARTED_AT)


def test_test_vector_ids() -> None:
    gen = _generator()
    assert [gen.next_id("step") for _ in range(4)] == ["step_" + i for i in VECTOR_IDS]


def test_test_vector_interleaved_hook_tokens() -> None:
    gen = _generator()
    drawn = [gen.next_id("hook"), gen.next_hook_token(), gen.next_id("hook")]
    drawn.append(gen.next_hook_token())
    assert drawn == [
        "hook_" + VECTOR_IDS[0],
        VECTOR_TOKENS[0],
        "hook_" + VECTOR_IDS[1],
        VECTOR_TOKENS[1],
    ]


def test_kinds_share_one_sequence() -> None:
    gen = _generator()
    got = [gen.next_id(k) for k in ("step", "wait", "hook", "step")]
    assert got == [
        f"{k}_{i}" for k, i in zip(("step", "wait", "hook", "step"), VECTOR_IDS, strict=True)
    ]
    with pytest.raises(ValueError):
        gen.next_id("attr")


def test_first_body_is_b0_regardless_of_state() -> None:
    gen = _generator()
    assert gen.first_body() == VECTOR_IDS[0][10:]
    gen2 = _generator()
    gen2.next_id("hook")
    gen2.next_hook_token()
    assert gen2.first_body() == VECTOR_IDS[0][10:]
    # first_body() before any draw must not disturb the stream
    gen3 = _generator()
    gen3.first_body()
    assert gen3.next_id("step") == "step_" + VECTOR_IDS[0]
    assert gen3.seed == seed_string(RUN_ID, WORKFLOW, STARTED_AT)


def test_clone_is_independent() -> None:
    gen = _generator()
    gen.next_id("hook")
    twin = gen.clone()
    assert twin.next_hook_token() == VECTOR_TOKENS[0]
    assert gen.next_hook_token() == VECTOR_TOKENS[0]
    assert twin.next_id("step") == gen.next_id("step") == "step_" + VECTOR_IDS[1]


@pytest.mark.parametrize(("seed", "ms", "expected", "floats"), NPM_VECTORS)
def test_npm_cross_check(seed: str, ms: int, expected: list[str], floats: list[float]) -> None:
    prng = Arc4Random(seed)
    ulid = MonotonicUlid(prng)
    got = [ulid(ms), nanoid_token(prng), ulid(ms), ulid(ms - 5), nanoid_token(prng)]
    got.append(ulid(ms + 1000))
    assert got == expected
    fresh = Arc4Random(seed)
    assert [fresh.random(), fresh.random()] == floats


def test_newer_nanoid_batch_of_21() -> None:
    # nanoid 5.1.16 requests exactly 21 bytes per token (checked with npm).
    gen = CorrelationIdGenerator(RUN_ID, WORKFLOW, STARTED_AT, token_batch=21)
    gen.next_id("hook")
    assert gen.next_hook_token() == "li93GS-x9zQHtT8kT5xCE"
    with pytest.raises(ValueError):
        nanoid_token(Arc4Random("x"), batch=20)


def test_random_range_and_determinism() -> None:
    a, b = Arc4Random("seed"), Arc4Random("seed")
    xs = [a.random() for _ in range(2000)]
    assert xs == [b.random() for _ in range(2000)]
    assert all(0.0 <= x < 1.0 for x in xs)
    assert len(set(xs)) == len(xs)
    c = a.clone()
    assert c.random() == a.random()


def test_encode_decode_time() -> None:
    assert encode_time(STARTED_AT) == VECTOR_IDS[0][:10]
    assert decode_time(VECTOR_IDS[0]) == STARTED_AT
    assert decode_time(VECTOR_IDS[0][:10].lower()) == STARTED_AT
    assert encode_time(0) == "0000000000"
    assert encode_time((1 << 48) - 1) == "7ZZZZZZZZZ"
    for bad in (-1, 1 << 48):
        with pytest.raises(ValueError):
            encode_time(bad)


def test_decode_time_clears_region_tag() -> None:
    tagged = encode_time(STARTED_AT | REGION_BIT)
    assert tagged[0] in "4567"
    assert decode_time(tagged) == STARTED_AT
    for bad in ("8000000000", "01JXT21Q3", "01JXT21Q3U"):
        with pytest.raises(ValueError):
            decode_time(bad)


def test_increment_body_carries() -> None:
    assert increment_body("PTAKE35338VS4P3Q") == "PTAKE35338VS4P3R"
    assert increment_body("000000000000000Z") == "0000000000000010"
    assert increment_body("0ZZZZZZZZZZZZZZZ") == "1000000000000000"
    assert increment_body("000000000000000H") == "000000000000000J"  # skips I
    with pytest.raises(ValueError):
        increment_body("Z" * 16)
    with pytest.raises(ValueError):
        increment_body("000000000000000U")


def test_body_int_round_trip() -> None:
    body = VECTOR_IDS[0][10:]
    value = body_to_int(body)
    assert int_to_body(value) == body
    assert int_to_body(value + 1) == increment_body(body)
    assert body_to_int("0000000000000010") == 32
    assert int_to_body(31, 1) == ENCODING[-1]
    with pytest.raises(ValueError):
        int_to_body(32, 1)
    for bad in ("0O", "", "1_0", " 1"):
        with pytest.raises(ValueError):
            body_to_int(bad)


def test_monotonic_ulid_semantics() -> None:
    prng = Arc4Random(seed_string(RUN_ID, WORKFLOW, STARTED_AT))
    ulid = MonotonicUlid(prng)
    first = ulid(STARTED_AT)
    assert first == VECTOR_IDS[0]
    # an earlier time keeps the previous time part and increments
    assert ulid(STARTED_AT - 10) == VECTOR_IDS[1]
    later = ulid(STARTED_AT + 1)
    assert later[:10] == encode_time(STARTED_AT + 1)
    assert later[10:] != increment_body(VECTOR_IDS[1][10:])


def test_generating_25000_ids_is_fast() -> None:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        gen = _generator()
        ids = [gen.next_id("step") for _ in range(25_000)]
        best = min(best, time.perf_counter() - start)
    assert len(set(ids)) == 25_000
    assert body_to_int(ids[-1][15:]) - body_to_int(ids[0][15:]) == 24_999
    assert best < 0.05, f"25,000 ids took {best * 1000:.1f} ms"
