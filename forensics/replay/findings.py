"""Replay findings in the analysis' shape: trace reconciliation and the fence chain's verdicts.

Codes (each a detector of `forensics check`):

- `trace-digest-mismatch`: a traced replay's logged digest (or event count) is not what its own
  loaded list gives by the formula: the trace or its export is not what the runtime saw.
- `trace-hole`: a traced replay's list lacks an event of the stored log that sorts below its
  last loaded event: it decided from a log with a hole (an eventually consistent read, or a
  write minted before and committed after its read).
- `trace-foreign-event`: a traced replay loaded an event the stored log does not have: the
  import is incomplete, or the log lost an event after the replay read it.
- `replay-mapping-conflict`: one correlation id allocated to different step names (or hook
  tokens) by two replays, or by a replay and a stored creation event.
- `stuck-fence`, `fence-break`, `stale-snapshot-write`, `unfenced-decision-write`: the fence
  chain's verdicts (see `fences.py`).

Only runs with traces or imported fences can have any of these, so `candidate_runs` finds
them in SQL and the Python per run runs for those alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import duckdb

from forensics.analysis.hits import Hit
from forensics.model import Finding
from forensics.replay.checks import (
    DigestMismatch,
    Holes,
    MappingConflict,
    digest_mismatches,
    mapping_conflicts,
    trace_holes,
)
from forensics.replay.explain import fence_detail, log_label
from forensics.replay.fences import FenceRow, judged_writes
from forensics.replay.names import short_cid, short_step
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.traced import has_trace_tables

CODES: Final = {
    "trace-digest-mismatch": "warning",
    "trace-hole": "warning",
    "trace-foreign-event": "warning",
    "replay-mapping-conflict": "error",
    "stuck-fence": "error",
    "fence-break": "error",
    "stale-snapshot-write": "error",
    "unfenced-decision-write": "info",
}
FIRST_WITNESSES: Final = 3
"""How many of a collapsed finding's writes it names as witnesses."""
MISMATCH_ERAS: Final = ("E1", "E2", "E3", "E4")


def candidate_runs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Runs with traced replays or imported fences: the only ones these codes can fire on."""
    traced = "SELECT DISTINCT run_id FROM trace_replays UNION " if has_trace_tables(con) else ""
    rows = con.execute(
        traced + "SELECT DISTINCT run_id FROM events WHERE fence_last_event_id IS NOT NULL"
        " ORDER BY run_id"
    ).fetchall()
    return [str(r[0]) for r in rows]


def replay_findings(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Finding]:
    """Every replay finding of one run."""
    rr = run_replays(con, run_id)
    return findings_of(rr)


def findings_of(rr: RunReplays) -> list[Finding]:
    """The run's replay findings, each explained by its own sentence."""
    return [h.finding(str(h.evidence["explanation"])) for h in hits_of(rr)]


def hits_of(rr: RunReplays) -> list[Hit]:
    """The run's replay findings as the analysis engine's hits (the sentence in evidence)."""
    out = _digest_findings(rr) + _hole_findings(rr, trace_holes(rr)) + _conflict_findings(rr)
    if rr.log.events:
        chain = judged_writes(rr)  # every row that can carry a verdict
        judged = [row for row in chain if row.verdict not in ("ok", "unfenced-decision-write")]
        out += [_fence_finding(rr, row) for row in judged]
        unfenced = [row for row in chain if row.verdict == "unfenced-decision-write"]
        if unfenced:
            out.append(_unfenced_finding(rr, unfenced))
    return out


def _unfenced_finding(rr: RunReplays, rows: list[FenceRow]) -> Hit:
    """Unfenced writes restate a property of the deployment (it never fences some kinds of
    write), so they are one finding per run, counted by kind, naming the first writes."""
    kinds: dict[str, int] = {}
    for row in rows:
        kind = rr.log.events[row.index].event_type
        kinds[kind] = kinds.get(kind, 0) + 1
    fenced = sorted({e.event_type for e in rr.log.events if e.fence})
    first = rows[:FIRST_WITNESSES]
    shown = ", ".join(
        f"#{row.index + 1} {log_label(rr, row.index)}" + (f" by {row.writer}" if row.writer else "")
        for row in first
    )
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    text = (
        f"{len(rows)} replay-origin write(s) carried no fence ({counted}) while the run's"
        f" {', '.join(fenced)} writes carry one: the deployment fences only some kinds of"
        f" write, so these were accepted unchecked; the first: {shown}"
    )
    evidence = {
        "count": len(rows),
        "kinds": kinds,
        "fenced_kinds": fenced,
        "writes": [rr.log.events[row.index].event_id for row in rows],
        "replays": sorted({row.writer for row in rows if row.writer}),
    }
    ids = [rr.log.events[row.index].event_id for row in first]
    return _finding(
        rr, "unfenced-decision-write", ids, evidence, text, cid=f"unfenced:{rr.log.run_id}"
    )


def _finding(
    rr: RunReplays,
    code: str,
    event_ids: Sequence[str],
    evidence: dict[str, Any],
    explanation: str,
    *,
    cid: str | None = None,
    fatal_in: tuple[str, ...] = (),
    message: str | None = None,
) -> Hit:
    ordered = sorted(set(event_ids), key=lambda i: rr.log.by_id.get(i, len(rr.log.events)))
    evidence = {**evidence, "explanation": explanation}
    return Hit(code, CODES[code], rr.log.run_id, cid, tuple(ordered), fatal_in, message, evidence)


def _digest_findings(rr: RunReplays) -> list[Hit]:
    """One finding per (logged, recomputed) pair, naming every replay that shows it."""
    groups: dict[tuple[object, ...], list[DigestMismatch]] = {}
    for m in digest_mismatches(rr):
        groups.setdefault((m.logged_digest, m.digest, m.logged_count, m.count), []).append(m)
    out = []
    for (logged, digest, logged_count, count), members in groups.items():
        ids = [m.replay.id for m in members]
        text = (
            f"{_who(tuple(ids))} logged digest {logged} over {logged_count} events, but the"
            f" {count} events listed give {digest}: the trace line was altered or cut on its"
            " way into the log export, so its event list is not what the runtime loaded"
        )
        where = [f"{m.replay.traced.location} {m.replay.traced.position}" for m in members
                 if m.replay.traced]  # fmt: skip
        evidence = {"replays": ids, "logged_digest": logged, "digest": digest,
                    "logged_count": logged_count, "count": count, "lines": where}  # fmt: skip
        cid = f"digest:{logged}:{digest}"
        out.append(_finding(rr, "trace-digest-mismatch", [], evidence, text, cid=cid))
    return out


def _hole_findings(rr: RunReplays, holes: dict[str, Holes]) -> list[Hit]:
    """One finding per distinct hole (or foreign set), naming every replay that has it."""
    missing: dict[tuple[int, ...], list[str]] = {}
    foreign: dict[tuple[str, ...], list[str]] = {}
    for replay_id, h in holes.items():
        if h.missing:
            missing.setdefault(h.missing, []).append(replay_id)
        if h.foreign:
            foreign.setdefault(h.foreign, []).append(replay_id)
    out = []
    for gap, who in missing.items():
        names = ", ".join(log_label(rr, j) for j in gap[:3])
        more = f" and {len(gap) - 3} more" if len(gap) > 3 else ""
        sorts = "sorts" if len(gap) == 1 else "sort"
        its, it = ("their", "they") if len(who) > 1 else ("its", "it")
        text = (
            f"{_who(tuple(who))} loaded a log without {names}{more}, which {sorts} below"
            f" {its} last loaded event: {it} decided from a log with a hole (an eventually"
            " consistent read, or a write minted before and committed after the read)"
        )
        ids = [rr.log.events[j].event_id for j in gap]
        out.append(_finding(rr, "trace-hole", ids, {"replays": who, "missing": ids}, text))
    for extra, who in foreign.items():
        text = (
            f"{_who(tuple(who))} loaded {len(extra)} event(s) the stored log does not have"
            f" ({', '.join(extra[:3])}): import the rest of the log, or the log lost them"
            " after the replay read it"
        )
        evidence = {"replays": who, "foreign": list(extra)}
        out.append(_finding(rr, "trace-foreign-event", [], evidence, text, cid=extra[0]))
    return out


def _conflict_findings(rr: RunReplays) -> list[Hit]:
    out = []
    for c in mapping_conflicts(rr):
        held = "; ".join(f"{short_step(name)}: {_who(who)}" for name, who in c.names)
        text = (
            f"{c.kind} {short_cid(c.correlation_id)}"
            f"{f' (ordinal {c.ordinal})' if c.ordinal is not None else ''} is allocated to"
            f" {len(c.names)} names ({held}): replays that took different branches wrote into"
            " one log, and every replay that allocates it differently from the stored"
            " creation event fails with a step consumer mismatch"
        )
        ids = [
            e.event_id
            for e in rr.log.events
            if e.correlation_id == c.correlation_id and e.event_type.endswith("_created")
        ]
        evidence = {"names": {name: list(who) for name, who in c.names}, "ordinal": c.ordinal}
        message = _mismatch_message(c)
        out.append(
            _finding(rr, "replay-mapping-conflict", ids, evidence, text,
                     cid=c.correlation_id, fatal_in=MISMATCH_ERAS, message=message)
        )  # fmt: skip
    return out


def _mismatch_message(c: MappingConflict) -> str | None:
    """What a replay allocating the id otherwise than the stored creation event reports."""
    stored = [name for name, who in c.names if "log" in who]
    other = [name for name, who in c.names if "log" not in who] or stored[1:]
    if c.kind != "step" or not stored or not other:
        return None
    return (
        f"Corrupted event log: step event step_created for {c.correlation_id} belongs to"
        f' "{stored[0]}", but the current step consumer is "{other[0]}"'
    )


def _who(who: tuple[str, ...]) -> str:
    shown = ", ".join(who[:4])
    return shown + (f" and {len(who) - 4} more" if len(who) > 4 else "")


def _fence_finding(rr: RunReplays, row: FenceRow) -> Hit:
    e = rr.log.events[row.index]
    by = f" by {row.writer}" if row.writer else ""
    text = f"{log_label(rr, row.index)}{by}: {fence_detail(rr, row)}"
    ids = [e.event_id, *(rr.log.events[j].event_id for j in row.missed)]
    if row.fence and row.fence in rr.log.by_id:
        ids.append(row.fence)
    evidence = {
        "replay": row.writer,
        "verdicts": list(row.verdicts),
        "fence": row.fence,
        "fence_source": row.fence_source,
        "chained_from": row.chained_from,
        "symmetry": row.symmetry,
        "cause": row.cause,
        "commit_rank": row.rank,
    }
    return _finding(rr, row.verdict, ids, evidence, text, cid=e.correlation_id)
