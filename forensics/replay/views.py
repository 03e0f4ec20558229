"""Plain data for the `replays`, `diff` and `fences` commands (JSON-ready dicts).

Full ids live beside the short labels so a script can follow them; tables show the labels.
A log event is named by its 1-based log position and label: `#206 step_created PMX (drain)`.
"""

from __future__ import annotations

from typing import Any

from forensics.replay.checks import Holes
from forensics.replay.diff import Diff, Placed
from forensics.replay.explain import diff_explanation, fence_detail, log_label, placed_label
from forensics.replay.fences import FenceRow
from forensics.replay.names import short_cid, short_step
from forensics.replay.replays import Replay, RunReplays
from forensics.replay.traced import Mismatch
from forensics.replay.whatif import DESIGN_ERAS, DesignOutcome, in_force_for

Row = dict[str, Any]


def at_log(rr: RunReplays, j: int) -> str:
    return f"#{j + 1} {log_label(rr, j)}"


def _ref(rr: RunReplays, event_id: str | None) -> str | None:
    if event_id is None:
        return None
    j = rr.log.by_id.get(event_id)
    return at_log(rr, j) if j is not None else event_id


def mismatch_text(m: Mismatch | None) -> str | None:
    if m is None:
        return None
    where = f" @{m.event_index + 1}" if m.event_index is not None else ""
    return (
        f"{short_cid(m.correlation_id)}: expected {short_step(m.expected)},"
        f" log has {short_step(m.found)}{where}"
    )


def replay_rows(rr: RunReplays, holes: dict[str, Holes]) -> list[Row]:
    return [_replay_row(rr, r, holes.get(r.id)) for r in rr.replays]


def _replay_row(rr: RunReplays, r: Replay, holes: Holes | None) -> Row:
    t = r.traced
    return {
        "group": r.group,
        "replay": r.id,
        "source": r.source,
        "snapshot": r.snapshot.kind,
        "events": r.snapshot.count,
        "digest": r.snapshot.digest,
        "tail": _ref(rr, r.snapshot.tail_event_id),
        "outcome": r.outcome,
        "writes": len(r.writes),
        "wrote": [at_log(rr, i) for i in r.writes],
        "mismatch": mismatch_text(r.mismatch),
        "holes": len(holes.missing) + len(holes.foreign) if holes else None,
        "at": r.at,
        "inv": t.inv if t else None,
        "pid": t.pid if t else None,
        "stream": t.stream if t else None,
        "request_id": t.request_id if t else None,
        "error": r.error,
        "tail_event_id": r.snapshot.tail_event_id,
        "write_event_ids": [rr.log.events[i].event_id for i in r.writes],
    }


_SAME: tuple[str, ...] = ("group", "source", "events", "digest", "tail", "outcome", "mismatch")


def collapse_rows(rows: list[Row]) -> list[Row]:
    """Replays that loaded one snapshot, wrote nothing and ended alike as one row: `replay`
    names the first and how many more, `count` says how many (1 for a row of its own)."""
    out: list[Row] = []
    for row in rows:
        last = out[-1] if out else None
        alike = (
            last is not None
            and not row["wrote"]
            and not last["wrote"]
            and not row["holes"]
            and not last["holes"]
            and all(last[k] == row[k] for k in _SAME)
        )
        if last is not None and alike:
            last["count"] += 1
            last["replays"].append(row["replay"])
            last["replay"] = f"{last['replays'][0]} +{last['count'] - 1}"
        else:
            out.append({**row, "count": 1, "replays": [row["replay"]]})
    return out


def replay_summary(rr: RunReplays) -> str:
    """`54 traced replays in 2 digest groups (2 wrote, 52 failed); 11 reconstructed`."""
    traced = [r for r in rr.replays if r.source == "trace"]
    rebuilt = len(rr.replays) - len(traced)
    parts = []
    if traced:
        groups = len({r.group for r in traced})
        wrote = sum(1 for r in traced if r.writes)
        failed = sum(1 for r in traced if r.outcome == "failed")
        parts.append(
            f"{len(traced)} traced replays in {groups} digest group(s)"
            f" ({wrote} wrote, {failed} failed)"
        )
    parts.append(f"{rebuilt} reconstructed (commit order: {rr.log.commit_basis})")
    parts.append(f"replay order: {rr.log.replay_order}")
    writes = len(set(rr.log.batch_of.values()))
    if writes:
        parts.append(
            f"{len(rr.log.batch_of)} events in {writes} one-write group(s) (createBatch, or a"
            " born-running step's created and started; recognised by shape: inferred)"
        )
    return f"{rr.log.run_id}: " + "; ".join(parts)


def fence_rows(rr: RunReplays, chain: list[FenceRow]) -> list[Row]:
    rows = []
    for row in chain:
        e = rr.log.events[row.index]
        rows.append(
            {
                "n": row.rank,
                "event": at_log(rr, row.index),
                "class": row.writer_class,
                "writer": row.writer,
                "fence": _ref(rr, row.fence),
                "fence_source": row.fence_source,
                "chained_from": _ref(rr, row.chained_from),
                "verdict": row.verdict,
                "detail": fence_detail(rr, row),
                "event_id": e.event_id,
                "committed_at": e.committed_at,
                "verdicts": list(row.verdicts),
                "symmetry": row.symmetry,
                "missed": [rr.log.events[j].event_id for j in row.missed],
                "batch": row.batch,
            }
        )
    return rows


def what_if_rows(rr: RunReplays, outcomes: list[DesignOutcome]) -> list[Row]:
    return [
        {
            "design": o.title,
            "in_force": DESIGN_ERAS.get(o.design),
            "in_force_for_this_run": in_force_for(o.design, rr.log.judged_in),
            "rejects": [at_log(rr, i) for i in o.rejected],
            "verdict": _design_verdict(rr, o),
            "caught": [rr.log.events[i].event_id for i in o.caught],
            "missed": [rr.log.events[i].event_id for i in o.missed],
            "needless": [rr.log.events[i].event_id for i in o.needless],
            "evaluated": o.evaluated,
            "unknown": o.unknown,
        }
        for o in outcomes
    ]


def _design_verdict(rr: RunReplays, o: DesignOutcome) -> str:
    if o.evaluated == 0:
        return "cannot tell: no write's snapshot is known (no trace, no fence)"
    if o.prevented is None:
        text = "nothing to prevent"
    elif o.prevented:
        text = "would have prevented the corruption"
    else:
        missed = ", ".join(at_log(rr, i) for i in o.missed[:3])
        text = f"would NOT have prevented it: accepts {missed}"
    if o.needless:
        text += f"; also rejects {len(o.needless)} sound write(s) (retried)"
    if o.unknown:
        text += f"; {o.unknown} write(s) with inferred snapshots not judged"
    return text


def _placed(p: Placed | None) -> Row | None:
    if p is None:
        return None
    i, t, c, n = p.item
    return {
        "position": p.position,
        "event_id": i,
        "event_type": t,
        "correlation_id": c,
        "step_name": n,
        "label": placed_label(p),
    }


def diff_info(rr: RunReplays, d: Diff) -> Row:
    def side(s: Any) -> Row:
        return {
            "label": s.label,
            "kind": s.kind,
            "events": len(s.events),
            "digest": s.digest,
            "replays": [r.id for r in s.replays],
            "writes": [at_log(rr, i) for i in s.writes],
            "mismatch": mismatch_text(s.mismatch),
        }

    first = d.first_divergence
    return {
        "run_id": rr.log.run_id,
        "a": side(d.a),
        "b": side(d.b),
        "only_in_a": [_placed(p) for p in d.only_a],
        "only_in_b": [_placed(p) for p in d.only_b],
        "moved": [{"a": _placed(x), "b": _placed(y)} for x, y in d.moved],
        "first_divergence": None
        if first is None
        else {"position": first[0], "a": _placed(first[1]), "b": _placed(first[2])},
        "mapping_conflicts": [
            {
                "correlation_id": cid,
                "short": short_cid(cid),
                "ordinal": d.a.ordinals.get(cid, d.b.ordinals.get(cid)),
                "a": list(na),
                "b": list(nb),
            }
            for cid, na, nb in d.conflicts
        ],
        "explanation": diff_explanation(rr, d),
    }
