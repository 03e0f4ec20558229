"""Timing detectors (replay.md section 6, checks 12-14): mint vs commit, guard blind spots, races.

Event ids are minted by the writer before its commit, and replays read the log in id order,
so an event can sort before writes that were decided without it. These detectors compare id
order with commit order (`write_time` when the source recorded one, else `createdAt`) over
the suspect runs' events, which include every run whose orders disagree by more than the
tolerance (see `sieve`). Logs whose order is their commit order (the 5.x line, see
`forensics.analysis.versions`) cannot hold such inversions or races: they are skipped.
"""

from __future__ import annotations

from typing import Any, Final

from forensics.analysis.hits import Hit
from forensics.analysis.ids import ulid_time_ms
from forensics.analysis.scan import Scan
from forensics.analysis.versions import LINE_4, run_lines
from forensics.analysis.vocab import CREATION, OUT_OF_BAND, REPLAY_ORIGIN, RESOLUTION, sql_list

_PAIRS: Final = """
WITH ev AS (
    SELECT run_id, event_id, event_type, epoch_ms(commit_at) AS c FROM _fx_ev
    WHERE run_id IN (SELECT run_id FROM _fx_suspect_runs) AND commit_at IS NOT NULL
),
late AS (
    SELECT * FROM (
        SELECT *, min(c) OVER (PARTITION BY run_id ORDER BY event_id
                               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_min
        FROM ev {a_filter}
    ) w WHERE later_min < c - {tolerance}
)
SELECT a.run_id, a.event_id AS a_id, a.event_type AS a_type, a.c AS a_c,
    min(b.event_id) AS b_id, arg_min(b.event_type, b.event_id) AS b_type,
    arg_min(b.c, b.event_id) AS b_c
FROM late a
JOIN ev b ON b.run_id = a.run_id AND b.event_id > a.event_id AND b.c < a.c - {tolerance}
    {b_filter}
GROUP BY a.run_id, a.event_id, a.event_type, a.c
ORDER BY a.run_id, a.event_id
"""


def _pairs(
    scan: Scan,
    tolerance: int,
    a_types: frozenset[str] | None = None,
    b_types: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """Per event A, the first later-sorted event B committed more than `tolerance` ms before
    it; one pair per B (the first A), so one bad clock or one late commit is one pair."""
    sql = _PAIRS.format(
        tolerance=int(tolerance),
        a_filter=f"WHERE event_type IN {sql_list(a_types)}" if a_types else "",
        b_filter=f"AND b.event_type IN {sql_list(b_types)}" if b_types else "",
    )
    seen: set[tuple[str, str]] = set()
    out = []
    for r in scan.rows(sql):
        key = (r["run_id"], r["b_id"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def mint_commit_inversion(scan: Scan) -> list[Hit]:
    """An event A that sorts before an event B (id order, the order replays read) but was
    committed more than the tolerance later than B: A's id was minted before a commit that
    landed after B's. A replay that loaded the log between the two commits saw B without A,
    a later one sees A first; nothing fails on this alone, but it is how most races in the
    known incidents start."""
    tolerance = scan.settings.inversion_tolerance_ms
    lines = run_lines(scan)
    hits = []
    for r in _pairs(scan, tolerance):
        if lines.get(r["run_id"], LINE_4).log_order_is_commit_order:
            continue  # 5.x: the log is read in commit order, so no snapshot skips A
        evidence = _pair_evidence(r, tolerance)
        hits.append(
            Hit(
                "mint-commit-inversion",
                "warning",
                r["run_id"],
                None,
                (r["a_id"], r["b_id"]),
                (),
                None,
                evidence,
            )
        )
    return hits


def _pair_evidence(r: dict[str, Any], tolerance: int) -> dict[str, Any]:
    return {
        "earlier_sorted": {"event_id": r["a_id"], "event_type": r["a_type"]},
        "earlier_committed": {"event_id": r["b_id"], "event_type": r["b_type"]},
        "inversion_ms": int(r["a_c"] - r["b_c"]),
        "tolerance_ms": tolerance,
    }


def guard_blind_spot(scan: Scan) -> list[Hit]:
    """A write the `stateUpdatedAt` guard could not have refused: an out-of-band event
    (`hook_received`, `step_completed`, `step_failed`, `run_cancelled`) that sorts before a
    replay-origin write (`step_created`, `wait_completed`, `run_completed`, …) but was
    committed after it, so the writer decided without it while the log says it came first;
    or two out-of-band events in one millisecond before a write fenced on that millisecond,
    which the guard's strictly-newer test cannot tell apart."""
    tolerance = scan.settings.inversion_tolerance_ms
    hits = []
    for r in _pairs(scan, tolerance, OUT_OF_BAND, REPLAY_ORIGIN):
        evidence = {"shape": "late-out-of-band", **_pair_evidence(r, tolerance)}
        hits.append(
            Hit(
                "guard-blind-spot",
                "warning",
                r["run_id"],
                None,
                (r["a_id"], r["b_id"]),
                (),
                None,
                evidence,
            )
        )
    hits.extend(_same_millisecond(scan))
    return hits


_FENCED: Final = f"""
WITH ev AS (
    SELECT run_id, event_id, event_type, epoch_ms(fence_state_updated_at) AS fence_ms,
        substr(event_id, length(event_id) - 25, 10) AS mint
    FROM _fx_ev WHERE run_id IN (SELECT run_id FROM _fx_suspect_runs)
)
SELECT b.run_id, b.event_id AS b_id, b.event_type AS b_type, b.fence_ms,
    array_agg(o.event_id ORDER BY o.event_id) AS oob_ids
FROM ev b JOIN ev o ON o.run_id = b.run_id AND o.event_id < b.event_id
WHERE b.fence_ms IS NOT NULL AND b.event_type IN {sql_list(REPLAY_ORIGIN)}
  AND o.event_type IN {sql_list(OUT_OF_BAND)}
GROUP BY b.run_id, b.event_id, b.event_type, b.fence_ms
"""


def _same_millisecond(scan: Scan) -> list[Hit]:
    hits = []
    for r in scan.rows(_FENCED):
        same = [i for i in r["oob_ids"] if ulid_time_ms(i) == r["fence_ms"]]
        if len(same) < 2:
            continue
        evidence = {
            "shape": "same-millisecond",
            "fence_ms": r["fence_ms"],
            "out_of_band": same,
            "write_type": r["b_type"],
        }
        hits.append(
            Hit(
                "guard-blind-spot",
                "warning",
                r["run_id"],
                None,
                (same[0], same[1], r["b_id"]),
                (),
                None,
                evidence,
            )
        )
    return hits


_RACES: Final = f"""
WITH ev AS (
    SELECT run_id, event_id, event_type, correlation_id, epoch_ms(commit_at) AS c,
        fence_last_event_id AS fence
    FROM _fx_ev
    WHERE run_id IN (SELECT run_id FROM _fx_facts WHERE n_hook_wait_res > 0 AND n_res > 1)
),
created AS (
    SELECT run_id, correlation_id, min(event_id) AS create_id FROM ev
    WHERE event_type IN {sql_list(CREATION)} GROUP BY run_id, correlation_id
),
res AS (
    SELECT *, lead(event_id) OVER w AS r2, lead(event_type) OVER w AS t2,
        lead(correlation_id) OVER w AS cid2, lead(c) OVER w AS c2, lead(fence) OVER w AS f2
    FROM (SELECT *, row_number() OVER (PARTITION BY run_id, correlation_id ORDER BY event_id)
              AS rn
          FROM ev WHERE event_type IN {sql_list(RESOLUTION)}) f
    WHERE rn = 1
    WINDOW w AS (PARTITION BY run_id ORDER BY event_id)
)
SELECT s.run_id, s.event_id AS r1, s.event_type AS t1, s.correlation_id AS cid1, s.r2, s.t2,
    s.cid2, s.c2 - s.c AS gap_ms, s.f2,
    (SELECT min(x.event_id) FROM ev x WHERE x.run_id = s.run_id AND x.event_id > s.r2
       AND x.event_type IN {sql_list(CREATION)}) AS create_after,
    (SELECT min(x.event_id) FROM ev x WHERE x.run_id = s.run_id AND x.event_id > s.r2
       AND x.event_type IN {sql_list(RESOLUTION)}) AS next_resolution
FROM res s
JOIN created a ON a.run_id = s.run_id AND a.correlation_id = s.correlation_id
JOIN created b ON b.run_id = s.run_id AND b.correlation_id = s.cid2
WHERE s.r2 IS NOT NULL AND abs(s.c2 - s.c) <= {{window}}
  AND a.create_id < s.event_id AND b.create_id < s.event_id
  AND (s.event_type IN ('hook_received', 'wait_completed')
       OR s.t2 IN ('hook_received', 'wait_completed'))
ORDER BY s.run_id, s.event_id
"""


def race_window(scan: Scan) -> list[Hit]:
    """Two entities open at once, at least one a hook or a sleep (as in
    `Promise.race([hook, sleep])`), whose resolutions land within the race window of each
    other and are followed, before anything else resolves, by replay-origin creates, where
    the log or a trace shows that a replay could have held the second resolution without the
    first: the second committed first, a fence on it (or on the create) names a tail below
    the first, or a traced replay loaded it without the first. A replay that holds only the
    first-sorted resolution picks the branch every later replay picks, so without such
    evidence the closeness alone is no race."""
    rows = scan.rows(_RACES.replace("{window}", str(int(scan.settings.race_window_ms))))
    lines = run_lines(scan)
    hits = []
    for r in rows:
        if lines.get(r["run_id"], LINE_4).log_order_is_commit_order:
            continue  # 5.x: every snapshot is a prefix of the log, so replays agree
        create = r["create_after"]
        if create is None or (r["next_resolution"] is not None and r["next_resolution"] < create):
            continue
        shown_by = _could_decide_otherwise(scan, r)
        if shown_by is None:
            continue
        evidence = {
            "first": {"event_id": r["r1"], "event_type": r["t1"], "entity": r["cid1"]},
            "second": {"event_id": r["r2"], "event_type": r["t2"], "entity": r["cid2"]},
            "gap_ms": int(r["gap_ms"]),
            "window_ms": scan.settings.race_window_ms,
            "create_after": create,
            "shown_by": shown_by,
        }
        hits.append(
            Hit(
                "race-window",
                "warning",
                r["run_id"],
                None,
                (r["r1"], r["r2"], create),
                (),
                None,
                evidence,
            )
        )
    return hits


_CREATE_FENCE: Final = "SELECT fence_last_event_id FROM _fx_ev WHERE run_id = ? AND event_id = ?"
# A snapshot is ranges of the run's trace items: only the items of the two resolutions are
# looked up, against each snapshot's ranges (expanding every replay's list would cost the run's
# length times its replays).
_TRACED_WITHOUT: Final = """
SELECT 1
FROM (
    SELECT digest, unnest(starts) AS a, unnest(stops) AS b FROM trace_snapshots
    WHERE run_id = $run AND digest IN (SELECT digest FROM trace_replays WHERE run_id = $run)
) p
JOIN trace_items i ON i.run_id = $run AND i.event_id IN ($first, $second)
    AND i.item >= p.a AND i.item < p.b
GROUP BY p.digest
HAVING bool_or(i.event_id = $second) AND NOT bool_or(i.event_id = $first)
LIMIT 1
"""


def _could_decide_otherwise(scan: Scan, r: dict[str, Any]) -> str | None:
    """What shows that a snapshot held the second resolution without the first, if anything:
    `commit order`, `fence` or `trace`."""
    if r["gap_ms"] is not None and r["gap_ms"] < 0:
        return "commit order"
    create_fence = scan.rows(_CREATE_FENCE, [r["run_id"], r["create_after"]])
    fences = [r["f2"], *(x["fence_last_event_id"] for x in create_fence)]
    if any(f is not None and f < r["r1"] for f in fences):
        return "fence"
    has_traces = scan.rows(
        "SELECT count(*) AS n FROM duckdb_views() WHERE view_name = 'trace_replay_events'"
    )[0]["n"]
    if has_traces:
        params = {"run": r["run_id"], "first": r["r1"], "second": r["r2"]}
        if scan.con.execute(_TRACED_WITHOUT, params).fetchall():
            return "trace"
    return None
