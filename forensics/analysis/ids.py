"""Id-scheme detection and correlation-id structure for one workflow run: event
ids are either ULIDs (``evnt_``/``wevt_`` + 26 Crockford characters, with a
millisecond time inside) or spec-6 slots (``evnt_`` + 26 decimal digits, no
time), and correlation ids are either ULID-era ids whose 16-character bodies
are ``B0 + k`` for the draw ordinal ``k`` (B0 reproducible from the run's seed,
see :mod:`forensics.analysis.seed`) or spec-6 per-kind counters;
:func:`analyse_ids` turns one run's correlation ids into plain-value facts
(scheme, each id's ordinal and what it is relative to, whether the time prefix
and the seed agree with ``startedAt``, gaps, one body under two prefixes,
ordinal regressions, which hook tokens were auto-generated) without reading
any database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from forensics.analysis.seed import (
    BODY_LEN,
    ENCODING,
    TIME_LEN,
    CorrelationIdGenerator,
    body_to_int,
    decode_time,
    encode_time,
)

__all__ = [
    "MAX_PLAUSIBLE_ORDINAL",
    "CidKind",
    "CidScheme",
    "CorrelationId",
    "IdEntry",
    "IdReport",
    "IdScheme",
    "OrdinalBase",
    "OrdinalSource",
    "RunCidScheme",
    "StartedAtSource",
    "analyse_ids",
    "find_started_at",
    "id_scheme",
    "parse_correlation_id",
    "seeded_b0",
    "slot_number",
    "ulid_time_ms",
]

IdScheme = Literal["ulid", "slot", "unknown"]
CidKind = Literal["step", "hook", "wait", "other"]
CidScheme = Literal["ulid", "counter", "unknown"]
RunCidScheme = Literal["ulid", "counter", "mixed", "unknown", "none"]
OrdinalSource = Literal["seed", "smallest_body", "counter"]
StartedAtSource = Literal["given", "time_prefix", "none"]
OrdinalBase = Literal["seed", "smallest_body", "none"]

MAX_PLAUSIBLE_ORDINAL: Final = 100_000
"""Bodies further than this above B0 are not taken as seeded ordinals."""

_EVENT_PREFIXES: Final = ("evnt_", "wevt_")
_ULID_LEN: Final = TIME_LEN + BODY_LEN
_CROCKFORD: Final = frozenset(ENCODING)
_KINDS: Final[dict[str, CidKind]] = {"step_": "step", "hook_": "hook", "wait_": "wait"}


def _is_ulid(text: str) -> bool:
    """26 Crockford characters whose time part fits in 48 bits."""
    return len(text) == _ULID_LEN and text[0] <= "7" and _CROCKFORD.issuperset(text)


def _is_counter(text: str) -> bool:
    return len(text) == _ULID_LEN and text.isascii() and text.isdigit()


def _event_core(event_id: str) -> str:
    for prefix in _EVENT_PREFIXES:
        if event_id.startswith(prefix):
            return event_id[len(prefix) :]
    return event_id


def id_scheme(event_id: str) -> IdScheme:
    """``slot`` for 26 decimal digits, ``ulid`` for a 26-char ULID, else ``unknown``.

    Accepts ``evnt_``/``wevt_`` ids and bare ones. All-digit strings are
    slots: a real ULID body is never 26 decimal digits in practice.
    """
    core = _event_core(event_id)
    if _is_counter(core):
        return "slot"
    if _is_ulid(core.upper()):
        return "ulid"
    return "unknown"


def slot_number(event_id: str) -> int | None:
    """The slot of a spec-6 slot id (``run_created`` is 1), else ``None``."""
    core = _event_core(event_id)
    return int(core) if _is_counter(core) else None


def ulid_time_ms(event_id: str) -> int | None:
    """The mint time of a ULID event id (region tag cleared); ``None`` for slots."""
    if id_scheme(event_id) != "ulid":
        return None
    return decode_time(_event_core(event_id))


def ulid_times_ms(event_ids: Iterable[str]) -> list[int | None]:
    """`ulid_time_ms` of each id, in one loop (a run's worth of ids costs no call per test)."""
    out: list[int | None] = []
    cut = len(_EVENT_PREFIXES[0])  # every prefix has this length
    for event_id in event_ids:
        core = event_id[cut:] if event_id.startswith(_EVENT_PREFIXES) else event_id
        if len(core) != _ULID_LEN or (core.isascii() and core.isdigit()):
            out.append(None)  # a slot, or no ULID at all
            continue
        upper = core.upper()
        ok = upper[0] <= "7" and _CROCKFORD.issuperset(upper)
        out.append(decode_time(core) if ok else None)
    return out


@dataclass(frozen=True, slots=True)
class CorrelationId:
    """One parsed correlation id.

    ``body`` is the base-32 value of the 16-character body for ULID ids and
    the counter value for counter ids; ``time_prefix`` is the 10-character
    time part of ULID ids.
    """

    raw: str
    kind: CidKind
    scheme: CidScheme
    time_prefix: str | None
    body: int | None


def parse_correlation_id(cid: str) -> CorrelationId:
    """Split ``step_``/``hook_``/``wait_`` ids into kind, scheme, time and body."""
    kind: CidKind = "other"
    rest = cid
    for prefix, name in _KINDS.items():
        if cid.startswith(prefix):
            kind, rest = name, cid[len(prefix) :]
            break
    if kind == "other" and "_" in cid:
        rest = cid.split("_", 1)[1]
    if _is_counter(rest):
        return CorrelationId(cid, kind, "counter", None, int(rest))
    upper = rest.upper()
    if _is_ulid(upper):
        return CorrelationId(cid, kind, "ulid", upper[:TIME_LEN], body_to_int(upper[TIME_LEN:]))
    return CorrelationId(cid, kind, "unknown", None, None)


def seeded_b0(run_id: str, workflow_name: str, started_at_ms: int) -> int:
    """B0 as an integer: the body value of the run's first correlation id."""
    gen = CorrelationIdGenerator(run_id, workflow_name, started_at_ms)
    return body_to_int(gen.first_body())


def find_started_at(
    run_id: str,
    workflow_name: str,
    approx_ms: int,
    first_body: str | int,
    window_ms: int = 50,
) -> int | None:
    """The ``startedAt`` within ``approx_ms ± window_ms`` whose B0 is ``first_body``.

    Tries the nearest candidates first (``approx``, ``-1``, ``+1``, ``-2``, ...),
    since without a run record only an approximate time such as the
    ``run_started`` event's ``createdAt`` may be known. ``None`` if no seed
    in the window reproduces the body.
    """
    target = body_to_int(first_body) if isinstance(first_body, str) else first_body
    for delta in range(window_ms + 1):
        for ms in (approx_ms - delta, approx_ms + delta) if delta else (approx_ms,):
            if ms >= 0 and seeded_b0(run_id, workflow_name, ms) == target:
                return ms
    return None


@dataclass(frozen=True, slots=True)
class IdEntry:
    """One distinct correlation id of the run, in creation order.

    ``ordinal_source`` says what ``ordinal`` is relative to: the seeded B0,
    the smallest body seen (seed unknown or not matching), or a spec-6
    per-kind counter (ordinal = counter - 1, shared by nothing else).
    For hooks, ``token_predicted`` is what an unnamed ``createHook()`` would
    have drawn at that point and ``token_auto`` whether the seen token is it.
    """

    correlation_id: str
    kind: CidKind
    scheme: CidScheme
    time_prefix: str | None
    body: int | None
    ordinal: int | None
    ordinal_source: OrdinalSource | None
    token_seen: str | None
    token_predicted: str | None
    token_auto: bool | None


@dataclass(frozen=True, slots=True)
class IdReport:
    """Correlation-id structure of one run (replay.md section 6, checks 10 and 11).

    ``started_at_ms`` is the time the seed was built from and
    ``started_at_source`` where it came from (the caller, or the ids' own
    shared time prefix when the caller's value was absent or did not
    reproduce B0). ``seed_matches`` is ``True`` when every ULID body lies in
    ``[B0, B0 + MAX_PLAUSIBLE_ORDINAL]``; ``ordinal_base`` says whether ULID
    ordinals are relative to the seed or to the smallest body seen.
    ``ordinal_regressions`` pairs an id with an earlier-created id of higher
    ordinal from an earlier batch. Without ``batch_of`` every id is its own
    batch, and regressions inside one suspension are benign: it writes hooks
    before steps and waits, and writes concurrently (seen in real
    world-postgres data: five parallel ``step_created`` rows minted in the
    ordinal order 1, 3, 4, 2, 0).
    """

    run_id: str
    workflow_name: str
    scheme: RunCidScheme
    started_at_ms: int | None
    started_at_source: StartedAtSource
    expected_time_prefix: str | None
    time_prefixes: tuple[str, ...]
    time_prefix_matches: bool | None
    seed_b0: int | None
    smallest_body: int | None
    seed_matches: bool | None
    ordinal_base: OrdinalBase
    entries: tuple[IdEntry, ...]
    max_ordinal: int | None
    missing_ordinals: tuple[int, ...]
    missing_counters: tuple[tuple[CidKind, int], ...]
    shared_bodies: tuple[tuple[str, ...], ...]
    ordinal_regressions: tuple[tuple[str, str], ...]
    repeated_ids: tuple[str, ...]
    auto_token_hooks: tuple[str, ...]


def _dedupe(cids: Iterable[str]) -> tuple[list[CorrelationId], tuple[str, ...]]:
    seen: dict[str, CorrelationId] = {}
    repeated: dict[str, None] = {}
    for cid in cids:
        if cid in seen:
            repeated[cid] = None
        else:
            seen[cid] = parse_correlation_id(cid)
    return list(seen.values()), tuple(repeated)


def _run_scheme(parsed: list[CorrelationId]) -> RunCidScheme:
    if not parsed:
        return "none"
    non_hook = {p.scheme for p in parsed if p.kind != "hook"}
    schemes = {p.scheme for p in parsed}
    if "unknown" in schemes:
        return "unknown"
    if "counter" in non_hook:
        return "mixed" if "ulid" in non_hook else "counter"
    return "ulid" if schemes == {"ulid"} else "mixed"


def _unique_prefixes(ulids: list[CorrelationId]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.time_prefix for p in ulids if p.time_prefix is not None))


def _plausible(bodies: list[int], b0: int) -> bool:
    return all(0 <= b - b0 <= MAX_PLAUSIBLE_ORDINAL for b in bodies)


@dataclass(frozen=True, slots=True)
class _Seed:
    started_at_ms: int | None
    source: StartedAtSource
    b0: int | None
    matches: bool | None


def _resolve_seed(
    run_id: str,
    workflow_name: str,
    started_at_ms: int | None,
    prefixes: tuple[str, ...],
    bodies: list[int],
) -> _Seed:
    """Pick the ``startedAt`` whose seed reproduces the bodies, if any."""
    candidates: list[tuple[int, StartedAtSource]] = []
    if started_at_ms is not None:
        candidates.append((started_at_ms, "given"))
    if len(prefixes) == 1:
        prefix_ms = decode_time(prefixes[0])
        if prefix_ms != started_at_ms:
            candidates.append((prefix_ms, "time_prefix"))
    if not candidates:
        return _Seed(None, "none", None, None)
    if not bodies:
        ms, source = candidates[0]
        return _Seed(ms, source, seeded_b0(run_id, workflow_name, ms), None)
    first: _Seed | None = None
    for ms, source in candidates:
        b0 = seeded_b0(run_id, workflow_name, ms)
        if _plausible(bodies, b0):
            return _Seed(ms, source, b0, True)
        first = first or _Seed(ms, source, b0, False)
    assert first is not None
    return first


def _predict_tokens(
    run_id: str,
    workflow_name: str,
    started_at_ms: int,
    hooks: list[tuple[int, str]],
    seen_tokens: Mapping[str, str],
) -> dict[str, str]:
    """Token each hook would draw, replaying the draws in ordinal order.

    Only the run's first id draws randomness (16 values); each later id is
    the previous body plus one. An unnamed hook then draws 34 values for its
    token right after its id. A hook whose seen token differs from the
    prediction was named by the workflow and drew nothing, so the draw is
    rolled back; a hook with no known token is assumed to have drawn.
    """
    gen = CorrelationIdGenerator(run_id, workflow_name, started_at_ms)
    gen.next_id("step")
    predicted: dict[str, str] = {}
    for _, cid in sorted(hooks):
        trial = gen.clone()
        token = trial.next_hook_token()
        predicted[cid] = token
        seen = seen_tokens.get(cid)
        if seen is None or seen == token:
            gen = trial
    return predicted


def _ulid_ordinals(ulids: list[CorrelationId], seed: _Seed) -> tuple[dict[str, int], OrdinalBase]:
    bodies = [p.body for p in ulids if p.body is not None]
    if not bodies:
        return {}, "none"
    name: OrdinalBase = "smallest_body"
    base = min(bodies)
    if seed.matches and seed.b0 is not None:
        base, name = seed.b0, "seed"
    return {p.raw: p.body - base for p in ulids if p.body is not None}, name


def _shared_bodies(ulids: list[CorrelationId]) -> tuple[tuple[str, ...], ...]:
    groups: dict[int, list[str]] = {}
    for p in ulids:
        if p.body is not None:
            groups.setdefault(p.body, []).append(p.raw)
    return tuple(tuple(g) for g in groups.values() if len(g) > 1)


def _regressions(
    parsed: list[CorrelationId], ords: dict[str, int], batch_of: Mapping[str, int] | None
) -> list[tuple[str, str]]:
    """Pairs (id, earlier id of higher ordinal), ignoring pairs in one batch."""
    out: list[tuple[str, str]] = []
    done: tuple[int, str] | None = None  # highest ordinal of finished batches
    current: tuple[int, str] | None = None  # highest ordinal of the open batch
    batch: int | None = None
    for p in parsed:
        k = ords.get(p.raw)
        if k is None:
            continue
        b = None if batch_of is None else batch_of.get(p.raw)
        if b is None or b != batch:  # an id without a batch is a batch of its own
            done = _higher(done, current)
            current, batch = None, b
        if done is not None and k < done[0]:
            out.append((p.raw, done[1]))
        current = _higher(current, (k, p.raw))
    return out


def _higher(a: tuple[int, str] | None, b: tuple[int, str] | None) -> tuple[int, str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if b[0] > a[0] else a


def _missing(ords: Iterable[int]) -> tuple[int, ...]:
    present = set(ords)
    if not present:
        return ()
    return tuple(k for k in range(max(present) + 1) if k not in present)


def _missing_counters(parsed: list[CorrelationId]) -> tuple[tuple[CidKind, int], ...]:
    per_kind: dict[CidKind, list[int]] = {}
    for p in parsed:
        if p.scheme == "counter" and p.body is not None and p.body >= 1:
            per_kind.setdefault(p.kind, []).append(p.body - 1)
    return tuple((kind, k) for kind, ks in per_kind.items() for k in _missing(ks))


def _entry(
    p: CorrelationId,
    ords: dict[str, int],
    base: OrdinalBase,
    seen: Mapping[str, str],
    predicted: dict[str, str],
) -> IdEntry:
    ordinal: int | None = ords.get(p.raw)
    source: OrdinalSource | None = None if base == "none" else base
    if p.scheme == "counter" and p.body is not None:
        ordinal, source = p.body - 1, "counter"
    elif ordinal is None:
        source = None
    token_seen = seen.get(p.raw)
    token_pred = predicted.get(p.raw)
    auto = None if token_seen is None or token_pred is None else token_seen == token_pred
    return IdEntry(
        p.raw,
        p.kind,
        p.scheme,
        p.time_prefix,
        p.body,
        ordinal,
        source,
        token_seen,
        token_pred,
        auto,
    )


def analyse_ids(
    run_id: str,
    workflow_name: str,
    started_at_ms: int | None,
    correlation_ids_in_creation_order: list[str],
    hook_tokens: dict[str, str] | None,
    *,
    batch_of: Mapping[str, int] | None = None,
) -> IdReport:
    """Correlation-id structure of one run: scheme, ordinals, seed and tokens.

    ``correlation_ids_in_creation_order`` are the ids of the run's creation
    events in eventId order (repeats allowed); ``hook_tokens`` maps hook ids
    to the token seen on their ``hook_created``/``hook_conflict`` event.
    ``batch_of`` optionally maps ids to the suspension (write batch) that
    created them: one suspension writes its creation events concurrently,
    so their eventId order need not follow the ordinals, and regressions
    inside one batch are then not reported.
    """
    parsed, repeated = _dedupe(correlation_ids_in_creation_order)
    seen = hook_tokens or {}
    ulids = [p for p in parsed if p.scheme == "ulid"]
    prefixes = _unique_prefixes(ulids)
    bodies = [p.body for p in ulids if p.body is not None]
    seed = _resolve_seed(run_id, workflow_name, started_at_ms, prefixes, bodies)
    ords, base = _ulid_ordinals(ulids, seed)
    predicted: dict[str, str] = {}
    if seed.matches and seed.started_at_ms is not None:
        hooks = [(ords[p.raw], p.raw) for p in ulids if p.kind == "hook"]
        predicted = _predict_tokens(run_id, workflow_name, seed.started_at_ms, hooks, seen)
    entries = tuple(_entry(p, ords, base, seen, predicted) for p in parsed)
    facts = _Facts(run_id, workflow_name, parsed, repeated, seed, prefixes, ords, base, entries)
    return _build_report(facts, batch_of)


@dataclass(frozen=True, slots=True)
class _Facts:
    """Intermediate results of :func:`analyse_ids`."""

    run_id: str
    workflow_name: str
    parsed: list[CorrelationId]
    repeated: tuple[str, ...]
    seed: _Seed
    prefixes: tuple[str, ...]
    ords: dict[str, int]
    base: OrdinalBase
    entries: tuple[IdEntry, ...]


def _build_report(f: _Facts, batch_of: Mapping[str, int] | None) -> IdReport:
    expected = None if f.seed.started_at_ms is None else encode_time(f.seed.started_at_ms)
    ulids = [p for p in f.parsed if p.scheme == "ulid"]
    bodies = [p.body for p in ulids if p.body is not None]
    return IdReport(
        run_id=f.run_id,
        workflow_name=f.workflow_name,
        scheme=_run_scheme(f.parsed),
        started_at_ms=f.seed.started_at_ms,
        started_at_source=f.seed.source,
        expected_time_prefix=expected,
        time_prefixes=f.prefixes,
        time_prefix_matches=(
            None if expected is None or not f.prefixes else f.prefixes == (expected,)
        ),
        seed_b0=f.seed.b0,
        smallest_body=min(bodies) if bodies else None,
        seed_matches=f.seed.matches,
        ordinal_base=f.base,
        entries=f.entries,
        max_ordinal=max(f.ords.values()) if f.ords else None,
        missing_ordinals=_missing(f.ords.values()),
        missing_counters=_missing_counters(f.parsed),
        shared_bodies=_shared_bodies(ulids),
        ordinal_regressions=tuple(_regressions(f.parsed, f.ords, batch_of)),
        repeated_ids=f.repeated,
        auto_token_hooks=tuple(e.correlation_id for e in f.entries if e.token_auto),
    )
