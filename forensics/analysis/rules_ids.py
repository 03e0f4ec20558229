"""Correlation-id detectors (replay.md section 6, checks 10-11): bodies, prefixes, ordinals, seed.

In the ULID era a run's correlation ids share the time prefix of its `startedAt` and their
bodies are B0 + k, with B0 drawn from the seeded PRNG and k the draw ordinal (the 5.x line
takes the run id's time and a seed it does not log: `forensics.analysis.versions`). Per-run facts
(prefix and body ranges) come from the sieve; the exact checks read the run's creation
events, and ordinals and the seed come from `forensics.analysis.ids`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from forensics.analysis.hits import Hit, in_log_order, unconsumed
from forensics.analysis.ids import MAX_PLAUSIBLE_ORDINAL, seeded_b0
from forensics.analysis.scan import Scan
from forensics.analysis.seed import body_to_int, decode_time, encode_time, int_to_body, seed_string
from forensics.analysis.sieve import ENTITY_EVENT, ULID_CID
from forensics.analysis.versions import LINE_4, Line, line_of, run_lines
from forensics.analysis.vocab import CREATION, RESOLUTION

_FIRST_EVENTS: Final = f"""
SELECT correlation_id AS cid, min(event_id) AS first_id,
    arg_min(event_type, event_id) AS first_type
FROM events
WHERE run_id = ? AND NOT staged AND correlation_id IS NOT NULL AND {ENTITY_EVENT}
GROUP BY correlation_id ORDER BY first_id
"""


def correlation_body_reuse(scan: Scan) -> list[Hit]:
    """One ULID body under two kind prefixes (`step_X` and `wait_X`). One replay draws each
    body once, so two replays that took different branches wrote into the same log; whichever
    a replay draws, the events of the other id have no consumer, in every era."""
    rows = scan.rows(
        "SELECT run_id, right(cid, 16) AS body, array_agg(cid ORDER BY first_id) AS cids,"
        " array_agg(first_id ORDER BY first_id) AS firsts,"
        " array_agg(first_type ORDER BY first_id) AS types"
        " FROM (SELECT run_id, correlation_id AS cid, min(event_id) AS first_id,"
        " arg_min(event_type, event_id) AS first_type FROM _fx_ev"
        f" WHERE {ENTITY_EVENT} AND {ULID_CID} GROUP BY run_id, correlation_id) e"
        " GROUP BY run_id, right(cid, 16) HAVING count(*) > 1 ORDER BY run_id, min(first_id)"
    )
    hits = []
    for r in rows:
        fatal, message = unconsumed(r["types"][1], r["cids"][1], r["firsts"][1])
        evidence = {"body": r["body"], "ids": r["cids"], "first_events": r["firsts"]}
        hits.append(
            Hit(
                "correlation-body-reuse",
                "error",
                r["run_id"],
                r["cids"][1],
                (r["firsts"][0], r["firsts"][1]),
                fatal,
                message,
                evidence,
            )
        )
    return hits


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else round(moment.timestamp() * 1000)


def correlation_prefix_mismatch(scan: Scan) -> list[Hit]:
    """A correlation id whose 10-character time prefix is not the run's `startedAt` (from the
    run record), or, without a record, not the prefix the run's other ids share. Replays
    draw every id with `startedAt` as its time, so no replay of this run draws such an id:
    its events have no consumer, in every era."""
    hits = []
    lines = run_lines(scan)
    for f in scan.rows(
        "SELECT run_id, prefix_lo, prefix_hi, record_started_at FROM _fx_facts"
        " WHERE run_id IN (SELECT run_id FROM _fx_scope) AND prefix_lo IS NOT NULL"
    ):
        expected, reference = _expected_prefix(f, lines.get(f["run_id"], LINE_4))
        if {f["prefix_lo"], f["prefix_hi"]} <= {expected} or (
            expected is None and f["prefix_lo"] == f["prefix_hi"]
        ):
            continue
        hit = _prefix_hit(scan, f["run_id"], expected, reference)
        if hit is not None:
            hits.append(hit)
    return hits


def _expected_prefix(f: dict[str, Any], line: Line) -> tuple[str | None, str]:
    """The time prefix every id of the run should carry, and where it comes from."""
    if line.cid_time_from_run_id:
        return str(f["run_id"])[5:15], f"the run id's time ({line.name} draws ids with it)"
    started = _ms(f["record_started_at"])
    if started is None:
        return None, "the prefix most ids share"
    return encode_time(started), "run record startedAt"


def _prefix_hit(scan: Scan, run_id: str, expected: str | None, reference: str) -> Hit | None:
    firsts = [r for r in scan.rows(_FIRST_EVENTS, [run_id]) if _is_ulid_cid(r["cid"])]
    counts = Counter(r["cid"][5:15] for r in firsts)
    reference = expected or max(counts, key=lambda p: (counts[p], p))
    wrong = [r for r in firsts if r["cid"][5:15] != reference]
    if not wrong:
        return None
    first = wrong[0]
    fatal, message = unconsumed(first["first_type"], first["cid"], first["first_id"])
    evidence = {
        "expected_prefix": reference,
        "reference": reference,
        "prefixes": dict(counts),
        "mismatching_ids": [r["cid"] for r in wrong[:10]],
        "mismatching_count": len(wrong),
    }
    return Hit(
        "correlation-prefix-mismatch",
        "error",
        run_id,
        first["cid"],
        (first["first_id"],),
        fatal,
        message,
        evidence,
    )


def _is_ulid_cid(cid: str) -> bool:
    return len(cid) == 31 and cid[4] == "_" and cid[5:7] != "00"


def seed_mismatch(scan: Scan) -> list[Hit]:
    """The seeded B0 (replay.md section 2) does not account for the run's ULID bodies: no
    `startedAt` candidate (run record, shared time prefix) seeds a first body at or below
    the smallest one seen with every body within reach. The workflow used randomness
    before its first step, hook or sleep, or the ids come from another scheme; ordinals are
    then relative to the smallest body. Informational: nothing fails on it."""
    misses: list[tuple[str, str, list[int], str, int]] = []
    lines = run_lines(scan)
    for f in scan.rows(
        "SELECT run_id, workflow_name, prefix_lo, prefix_hi, record_started_at, body_lo, body_hi"
        " FROM _fx_facts WHERE run_id IN (SELECT run_id FROM _fx_scope)"
        " AND body_lo IS NOT NULL AND workflow_name IS NOT NULL ORDER BY run_id"
    ):
        if not lines.get(f["run_id"], LINE_4).seed_known:
            continue  # nothing to compare with: `forensics ids` says "not reproducible"
        candidates = _started_candidates(f)
        run_id, workflow = f["run_id"], f["workflow_name"]
        if not candidates:
            continue
        b0 = _seeded(run_id, workflow, candidates, f["body_lo"], f["body_hi"])
        if b0 is not None:
            misses.append((run_id, workflow, candidates, f["body_lo"], b0))
    firsts = _first_ids(scan, [(m[0], m[3]) for m in misses])
    return [_seed_hit(*m, firsts.get(m[0])) for m in misses]


def _started_candidates(f: dict[str, Any]) -> list[int]:
    out = [] if f["record_started_at"] is None else [_ms(f["record_started_at"]) or 0]
    if f["prefix_lo"] is not None and f["prefix_lo"] == f["prefix_hi"]:
        prefix_ms = decode_time(f["prefix_lo"])
        if prefix_ms not in out:
            out.append(prefix_ms)
    return out


def _seeded(run_id: str, workflow: str, candidates: Sequence[int], lo: str, hi: str) -> int | None:
    """None when a candidate seeds the run's bodies, else the first candidate's B0."""
    low, high = body_to_int(lo), body_to_int(hi)
    first: int | None = None
    for ms in candidates:
        b0 = seeded_b0(run_id, workflow, ms)
        if b0 <= low and high - b0 <= MAX_PLAUSIBLE_ORDINAL:
            return None
        first = b0 if first is None else first
    return first


def _first_ids(scan: Scan, wanted: Sequence[tuple[str, str]]) -> dict[str, str]:
    """For each (run, smallest body): the run's first event id under that body, in one query
    (one per run would read the events table once per run)."""
    if not wanted:
        return {}
    rows = scan.rows(
        "WITH w AS (SELECT unnest($1::VARCHAR[]) AS run_id, unnest($2::VARCHAR[]) AS body)"
        " SELECT e.run_id, min(e.event_id) AS first_id FROM events e"
        " SEMI JOIN w ON w.run_id = e.run_id AND w.body = right(e.correlation_id, 16)"
        " WHERE NOT e.staged AND e.run_id IN (SELECT run_id FROM w) GROUP BY e.run_id",
        [[w[0] for w in wanted], [w[1] for w in wanted]],
    )
    return {str(r["run_id"]): str(r["first_id"]) for r in rows if r["first_id"]}


def _seed_hit(
    run_id: str, workflow: str, candidates: list[int], lo: str, b0: int, first_id: str | None
) -> Hit:
    ms = candidates[0]
    evidence = {
        "seed": seed_string(run_id, workflow, ms),
        "seeded_b0": int_to_body(b0),
        "smallest_body": lo,
        "started_at_candidates_ms": candidates,
    }
    ids = (first_id,) if first_id else ()
    return Hit("seed-mismatch", "info", run_id, None, ids, (), None, evidence)


_CREATIONS: Final = f"""
SELECT run_id, array_agg(event_id ORDER BY event_id) AS ids,
    array_agg(event_type ORDER BY event_id) AS types,
    array_agg(correlation_id ORDER BY event_id) AS cids
FROM _fx_ev
WHERE run_id IN (SELECT run_id FROM _fx_suspect_runs)
  AND (event_type IN ({", ".join(f"'{t}'" for t in sorted(CREATION | RESOLUTION))}))
GROUP BY run_id ORDER BY run_id
"""


def creation_order(
    ids: Sequence[str], types: Sequence[str], cids: Sequence[str | None]
) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """Creation ids in log order, each id's creating event, and each id's suspension batch.

    A batch is a run of creation events with no resolution between them: one suspension
    writes its creates concurrently, and a resolution is what wakes the next replay.
    """
    order: list[str] = []
    created_by: dict[str, str] = {}
    batch_of: dict[str, int] = {}
    batch = 0
    for event_id, event_type, cid in zip(ids, types, cids, strict=True):
        if event_type in RESOLUTION:
            batch += 1
        elif cid is not None and event_type in CREATION:
            order.append(cid)
            created_by.setdefault(cid, event_id)
            batch_of.setdefault(cid, batch)
    return order, created_by, batch_of


def ordinal_regression(scan: Scan) -> list[Hit]:
    """A creation event whose ordinal is lower than one an earlier suspension already wrote:
    a replay numbered its draws from a shorter log than the one the earlier suspension saw.
    The log alone cannot fail a replay on it, but it shows that two replays disagreed about
    the run's history. Creates of one suspension may land in any order and are not compared.
    Ordinals are compared as ULID bodies (B0 + k), so the seed need not be known."""
    hits = []
    for r in scan.rows(_CREATIONS):
        order, created_by, batch_of = creation_order(r["ids"], r["types"], r["cids"])
        for low, high in regressions(order, batch_of):
            ids = in_log_order(created_by[high], created_by[low])
            evidence = {"lower": low, "higher": high, "lower_batch": batch_of[low],
                        "higher_batch": batch_of[high]}  # fmt: skip
            hits.append(Hit("ordinal-regression", "warning", r["run_id"], low, ids, (), None,
                            evidence))  # fmt: skip
    return hits


def regressions(order: Sequence[str], batch_of: dict[str, int]) -> list[tuple[str, str]]:
    """(id, id of a higher ordinal written by an earlier batch) for ULID ids in creation order.

    Bodies of one run share a length and alphabet, so comparing them as text compares their
    ordinals; the first creation of each id counts.
    """
    out: list[tuple[str, str]] = []
    done: tuple[str, str] | None = None  # highest body of the finished batches, and its id
    current: tuple[str, str] | None = None  # highest body of the batch being read
    batch: int | None = None
    seen: set[str] = set()
    for cid in order:
        if cid in seen or not _is_ulid_cid(cid):
            continue
        seen.add(cid)
        if batch_of[cid] != batch:
            done = max(filter(None, (done, current)), default=None)
            current, batch = None, batch_of[cid]
        body = cid[-16:].upper()
        if done is not None and body < done[0]:
            out.append((cid, done[1]))
        current = max(filter(None, (current, (body, cid))), default=None)
    return out


def facts_may_hit(f: dict[str, Any]) -> bool:
    """Whether a run's facts (a `_fx_facts` row) leave `correlation-prefix-mismatch` or
    `seed-mismatch` possible; a fleet engine sends only such runs' events to the detectors."""
    line = line_of(f["core_version"], f["spec_version"], f["deployment"])
    if f["prefix_lo"] is not None:
        expected, _ = _expected_prefix(f, line)
        if not (
            {f["prefix_lo"], f["prefix_hi"]} <= {expected}
            or (expected is None and f["prefix_lo"] == f["prefix_hi"])
        ):
            return True
    if f["body_lo"] is None or f["workflow_name"] is None or not line.seed_known:
        return False
    candidates = _started_candidates(f)
    return bool(candidates) and not _seeded(
        f["run_id"], f["workflow_name"], candidates, f["body_lo"], f["body_hi"]
    )
