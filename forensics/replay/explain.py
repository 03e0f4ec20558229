"""Sentences that say what a replay difference or a fence verdict means, from their data.

The wording follows the analysis findings: what happened, with event names short enough to
read at 3 a.m. ("wait_completed PMP"), times as millisecond gaps, and the consequence.
Nothing here decides anything: diff.py and fences.py did; this only renders.
"""

from __future__ import annotations

from datetime import datetime

from forensics.replay.diff import Diff, Placed, Side
from forensics.replay.fences import FenceRow
from forensics.replay.names import event_label, ms_between, short_cid, short_step
from forensics.replay.replays import RunReplays


def log_label(rr: RunReplays, j: int) -> str:
    e = rr.log.events[j]
    return event_label(e.event_type, e.correlation_id, e.step_name)


def placed_label(p: Placed) -> str:
    return event_label(p.item[1], p.item[2], p.item[3])


def diff_explanation(rr: RunReplays, d: Diff) -> list[str]:
    """What the difference between the two sides did, in a few sentences."""
    out: list[str] = []
    if not rr.log.events:
        out.append(
            f"the store holds no events of {rr.log.run_id}: import its event log to see when"
            " each event committed and which replay wrote it"
        )
    else:
        out += _seen_by_one(rr, d.b, d.a, d.only_b)
        out += _seen_by_one(rr, d.a, d.b, d.only_a)
    for cid, names_a, names_b in d.conflicts:
        ordinal = d.a.ordinals.get(cid, d.b.ordinals.get(cid))
        at = f" (ordinal {ordinal})" if ordinal is not None else ""
        out.append(
            f"{d.a.label} allocates {short_cid(cid)}{at} to {_names(names_a)},"
            f" {d.b.label} to {_names(names_b)}: their snapshots sent the workflow down"
            " different branches before that draw"
        )
    out += _failed_on(rr, d.a, d.b) + _failed_on(rr, d.b, d.a)
    if d.moved:
        out.append(f"{len(d.moved)} event(s) sit in another relative order on the two sides")
    if not (d.only_a or d.only_b or d.moved or d.conflicts):
        same = "the same" if d.a.digest == d.b.digest else "equivalent"
        out.insert(0, f"{d.a.label} and {d.b.label} loaded {same} {len(d.a.events)} events")
    return out


def _names(names: tuple[str, ...]) -> str:
    return " and ".join(short_step(n) for n in names)


def _seen_by_one(rr: RunReplays, seer: Side, other: Side, only: tuple[Placed, ...]) -> list[str]:
    """`seer`'s snapshot holds events `other`'s lacks: those `other` could have seen (committed
    before it wrote, or before it started) are what made the difference."""
    out = []
    decided, verb = _decision(rr, other)
    later = 0
    for p in only:
        j = rr.log.by_id.get(p.item[0])
        if j is None:
            out.append(f"{_who(seer)}'s snapshot holds {placed_label(p)}, not in the stored log")
            continue
        gap = ms_between(rr.log.events[j].committed_at, decided)
        if j in other.writes or (gap is not None and gap < 0):
            later += 1
            continue
        text = f"{_who(seer)}'s snapshot contains {log_label(rr, j)}"
        if gap is not None:
            text += f", committed {gap} ms before {other.label} {verb}"
        if _below_tail(rr, other, j):
            text += (
                f"; it sorts below {other.label}'s last loaded event, so {other.label} read a"
                " log with a hole in it"
            )
        out.append(text)
    if len(out) > 3:
        out = [*out[:3], f"… and {len(out) - 3} more event(s) only {_who(seer)} loaded"]
    if later:
        more = "more " if out else ""
        out.append(
            f"{later} {more}event(s) only {_who(seer)} loaded came after {other.label} {verb}"
        )
    return out


def _decision(rr: RunReplays, side: Side) -> tuple[datetime | None, str]:
    """When a side decided: its first write's commit, else its start; and how to say it."""
    if side.writes:
        first = side.writes[0]
        return rr.log.events[first].committed_at, f"wrote {log_label(rr, first)}"
    return side.at, "started"


def _who(side: Side) -> str:
    if side.kind == "log":
        return "the final log" if side.label == "log" else f"the log up to {side.label[4:]}"
    return side.label


def _below_tail(rr: RunReplays, side: Side, j: int) -> bool:
    if not side.events or side.kind == "log":
        return False
    tail = rr.log.by_id.get(side.events[-1][0])
    return tail is not None and j < tail


def _failed_on(rr: RunReplays, failed: Side, writer: Side) -> list[str]:
    m = failed.mismatch
    if m is None:
        return []
    where = f" at event {m.event_index + 1}" if m.event_index is not None else ""
    text = (
        f"{failed.label} failed with a step mismatch on {short_cid(m.correlation_id)}{where}:"
        f" it expected {short_step(m.expected)}, the log holds {short_step(m.found)}"
    )
    j = rr.log.by_id.get(m.event_id or "")
    if j is not None and j in writer.writes:
        text += f", the {rr.log.events[j].event_type} {writer.label} wrote"
    return [text]


_CAUSES = {
    "mint/commit inversion": " (minted before the tail, committed after it: only a fence that"
    " follows commit order catches it)",
    "eventually consistent read": " (committed before the tail: an eventually consistent read,"
    " no tail fence catches it)",
}


def fence_detail(rr: RunReplays, row: FenceRow) -> str:
    """One line on why a write got its verdict (empty for a plain ok)."""
    log = rr.log
    parts = []
    if "stuck-fence" in row.verdicts:
        parts.append(f"fence {row.fence} never landed in the log")
    if "fence-break" in row.verdicts and row.fence in log.by_id:
        parts.append(
            f"fenced on {log_label(rr, log.by_id[row.fence])} but accepted after"
            f" {log_label(rr, log.by_id[row.chained_from or ''])}: the CAS did not hold"
        )
    if row.missed:
        parts.append(_stale_detail(rr, row))
    if "unfenced-decision-write" in row.verdicts:
        parts.append("a fenced kind of write sent without a fence")
    if row.batch is not None and row.batch != row.rank:
        parts.append(
            f"one durable write with write {row.batch} (a createBatch or a born-running step;"
            " inferred from its shape)"
        )
    return "; ".join(parts)


def _stale_detail(rr: RunReplays, row: FenceRow) -> str:
    log = rr.log
    write = log.events[row.index]
    shown = []
    for j in row.missed[:3]:
        gap = ms_between(log.events[j].committed_at, write.committed_at)
        shown.append(
            log_label(rr, j) + (f" (committed {gap} ms before)" if gap is not None else "")
        )
    more = f" and {len(row.missed) - 3} more" if len(row.missed) > 3 else ""
    text = f"decided from a snapshot that missed {', '.join(shown)}{more}"
    tail = f"its tail {log_label(rr, row.tail)}" if row.tail is not None else "its tail"
    if row.symmetry == "symmetric":
        text += f"; symmetric: every missed event sorts above {tail}, a tail fence catches it"
    elif row.symmetry == "asymmetric":
        text += f"; asymmetric: a missed event sorts below {tail}"
        text += _CAUSES.get(row.cause or "", "")
    return text
