"""The parts of a story: its events, writers, critical window, failures, similar runs, headline.

Each function answers one part from a run's replays and fence chain; `story.build_story`
assembles them. Writers are judged from the chain's verdicts (who wrote from a stale
snapshot, and from what), never from guesses: a snapshot is `exact` when a trace or a fence
says what it held.
"""

from __future__ import annotations

from typing import Any, Final

import duckdb
import orjson

from forensics.model import Finding, Story, StoryCause, StoryEvent, StoryMoment, StoryWriter
from forensics.replay.fences import FenceRow
from forensics.replay.names import event_label, ms_between, short_step
from forensics.replay.replays import Replay, RunReplays

STALE: Final = ("stale-snapshot-write", "fence-break")
WINDOW_CAP: Final = 40
"""Most events the critical window lists (the key ones and their neighbours beyond it)."""


def story_event(rr: RunReplays, index: int) -> StoryEvent:
    e = rr.log.events[index]
    label = event_label(e.event_type, e.correlation_id, e.step_name)
    return StoryEvent(index + 1, e.event_id, e.event_type, e.correlation_id, label,
                      e.committed_at)  # fmt: skip


def failures(rr: RunReplays) -> list[Replay]:
    """Replays that failed (traced ones, and reconstructed ones that wrote `run_failed`)."""
    return [r for r in rr.replays if r.outcome == "failed"]


def _identity(r: Replay) -> dict[str, Any]:
    t = r.traced
    if t is None:
        return {}
    out = {"inv": t.inv, "pid": t.pid, "stream": t.stream, "request_id": t.request_id}
    return {k: v for k, v in out.items() if v is not None}


def _exact(r: Replay) -> bool:
    return r.snapshot.kind in ("traced", "fenced")


def _writer(rr: RunReplays, r: Replay, role: str, **kw: Any) -> StoryWriter:
    tail = rr.log.by_id.get(r.snapshot.tail_event_id or "")
    return StoryWriter(
        role=role,
        replay=r.id,
        replays=kw.pop("replays", (r.id,)),
        source=r.source,
        exact=_exact(r),
        writes=tuple(story_event(rr, i) for i in r.writes),
        digest=r.snapshot.digest,
        loaded=r.snapshot.count,
        tail=story_event(rr, tail) if tail is not None else None,
        missed=kw.pop("missed", ()),
        identity=_identity(r),
        outcome=r.outcome,
        note=kw.pop("note", ""),
    )


def writers_of(
    rr: RunReplays, chain: list[FenceRow], cause: StoryCause | None
) -> tuple[StoryWriter, ...]:
    """Stale writers, the writers they raced, and the failed replays grouped by snapshot."""
    if cause is None:
        return ()
    by_id = {r.id: r for r in rr.replays}
    writer = rr.writer_of()
    out: list[StoryWriter] = []
    stale_rows = [row for row in chain if set(row.verdicts) & set(STALE) and row.writer]
    seen: set[str] = set()
    racing: list[int] = []
    for row in stale_rows:
        if row.writer in seen:
            continue
        seen.add(str(row.writer))
        write = rr.log.events[row.index]
        missed = tuple(
            (story_event(rr, j), ms_between(rr.log.events[j].committed_at, write.committed_at))
            for j in row.missed
        )
        racing += [j for j in row.missed if j not in racing]
        note = f"wrote #{row.index + 1} {story_event(rr, row.index).label}"
        if row.missed:
            note += " from a snapshot that missed " + ", ".join(
                f"#{m.position} {m.label}" for m, _ in missed[:3]
            )
        out.append(_writer(rr, by_id[str(row.writer)], "stale", missed=missed, note=note))
    if not stale_rows:  # no fence verdict: the writers of the root cause's witnesses raced
        racing = [w.position - 1 for w in cause.witnesses]
    out += _racing(rr, writer, racing, seen)
    out += _failed(rr)
    return tuple(out)


def _racing(
    rr: RunReplays, writer: dict[int, Replay], events: list[int], seen: set[str]
) -> list[StoryWriter]:
    out = []
    for j in events:
        r = writer.get(j)
        if r is None or r.id in seen:
            continue
        seen.add(r.id)
        note = f"wrote #{j + 1} {story_event(rr, j).label}"
        out.append(_writer(rr, r, "racing", note=note))
    return out


def _failed(rr: RunReplays) -> list[StoryWriter]:
    """One writer per snapshot group of failed replays: other-branch when the mismatch says it
    drew another name than the log holds, victim otherwise."""
    groups: dict[str, list[Replay]] = {}
    for r in failures(rr):
        groups.setdefault(r.group, []).append(r)
    out = []
    for members in groups.values():
        first = members[0]
        m = first.mismatch
        other = m is not None and m.expected is not None and m.expected != m.found
        role = "other-branch" if other else "victim"
        n = len(members)
        who = first.id + (f" and {n - 1} more" if n > 1 else "")
        if other and m is not None:
            note = (f"{who} drew {short_step(m.expected)} where the log has"
                    f" {short_step(m.found)}, and failed")  # fmt: skip
        else:
            note = f"{who} failed: {first.error or 'no error recorded'}"
        out.append(_writer(rr, first, role, replays=tuple(r.id for r in members), note=note))
    return out


def window(
    rr: RunReplays, chain: list[FenceRow], cause: StoryCause, writers: tuple[StoryWriter, ...]
) -> tuple[StoryMoment, ...]:
    """Events around the root cause in commit order, with the reads of the writers."""
    log = rr.log
    keys = {cause.event.position - 1} if cause.event.position else set()
    for w in writers:
        if w.role in ("stale", "racing"):
            keys |= {e.position - 1 for e in w.writes}
            keys |= {e.position - 1 for e, _ in w.missed}
            if w.tail is not None:
                keys.add(w.tail.position - 1)
    keys = {k for k in keys if 0 <= k < len(log.events)}
    if not keys:
        return ()
    ranks = sorted(log.rank[k] for k in keys)
    lo, hi = max(ranks[0] - 2, 0), min(ranks[-1] + 2, len(log.commit) - 1)
    shown = range(lo, hi + 1) if hi - lo < WINDOW_CAP else sorted(set(ranks))
    moments = [_event_moment(rr, log.commit[k], cause, writers) for k in shown]
    moments += _reads(rr, writers)
    far = float("inf")
    return tuple(sorted(moments, key=lambda m: (m.at.timestamp() if m.at else far,
                                                m.kind != "read")))  # fmt: skip


def _event_moment(
    rr: RunReplays, i: int, cause: StoryCause, writers: tuple[StoryWriter, ...]
) -> StoryMoment:
    ev = story_event(rr, i)
    notes = []
    if cause.event.position == ev.position:
        notes.append(f"root cause: {cause.code}")
    missed_by = [w.replay for w in writers if any(m.position == ev.position for m, _ in w.missed)]
    if missed_by:
        notes.append("missed by " + ", ".join(missed_by))
    tails = [w.replay for w in writers if w.role == "stale" and w.tail == ev]
    if tails:
        notes.append("tail of " + ", ".join(tails) + "'s snapshot")
    who = rr.writer_of().get(i)
    kind = "write" if who is not None else "event"
    return StoryMoment(kind, ev.at, ev, who.id if who else None, "; ".join(notes))


def _reads(rr: RunReplays, writers: tuple[StoryWriter, ...]) -> list[StoryMoment]:
    by_id = {r.id: r for r in rr.replays}
    out = []
    for w in writers:
        r = by_id[w.replay]
        if r.source != "trace" or r.at is None:
            continue
        tail = f" up to #{w.tail.position} {w.tail.label}" if w.tail else ""
        n = len(w.replays)
        more = f" (and {n - 1} more of this snapshot)" if n > 1 else ""
        digest = f", digest {w.digest}" if w.digest else ""
        note = f"loads {w.loaded} events{tail}{digest}{more}"
        out.append(StoryMoment("read", r.at, w.tail, w.replay, note))
    return out


_SIMILAR_SQL: Final = """
SELECT DISTINCT run_id, evidence FROM findings WHERE code = ? AND run_id <> ? ORDER BY run_id
"""


def similar_runs(con: duckdb.DuckDBPyConnection, run_id: str, root: Finding) -> tuple[str, ...]:
    """Other runs with a finding of the root cause's code over the same event types."""
    shape = _shape(root.evidence)
    out: list[str] = []
    for other, evidence in con.execute(_SIMILAR_SQL, [root.code, run_id]).fetchall():
        data = orjson.loads(evidence) if isinstance(evidence, str | bytes) else evidence or {}
        if _shape(data) == shape and other not in out:
            out.append(str(other))
    return tuple(out)


def _shape(evidence: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(e.get("event_type")) for e in evidence.get("events", []))


def headline(story: Story, reason: str | None) -> str:
    """One sentence: status, error, when, and what went wrong."""
    when = f" at {story.failed_at:%Y-%m-%d %H:%M:%S} UTC" if story.failed_at else ""
    code = f" with {story.error_code}" if story.error_code else ""
    status = f"{story.status.capitalize()}{code}{when}"
    if story.status == "unknown" and story.failed_at:  # no terminal event, failed replays
        since = f"{story.failed_at:%Y-%m-%d %H:%M:%S} UTC"
        status = f"No terminal event in the log; replays failing since {since}"
    cause = story.root_cause
    if cause is None and story.verdict is None:
        return (f"Not analysed yet ({story.status}, {story.event_count} events): run"
                f" `forensics story {story.run_id}` or `forensics check`.")  # fmt: skip
    if cause is None:
        if story.verdict == "inconclusive":
            return f"Inconclusive ({story.status}): {reason or 'only part of the log is here'}."
        if story.status == "failed":
            return f"{status}: no anomaly in the log explains it; the failure is the workflow's."
        return f"Healthy: {story.status}, {story.event_count} events, no errors or warnings."
    return f"{status}: {_what(story, cause)}"


def _what(story: Story, cause: StoryCause) -> str:
    stale = [w for w in story.writers if w.role == "stale"]
    other = [w for w in story.writers if w.role in ("other-branch", "victim")]
    failed = sum(len(w.replays) for w in other)
    if stale:
        first = stale[0]
        also = [w.replay for w in stale[1:]]
        missed = ", ".join(
            f"#{m.position} {m.label}" + (f" (committed {ms} ms before)" if ms is not None else "")
            for m, ms in first.missed[:2]
        )
        text = f"{first.replay} wrote #{cause.event.position} {cause.event.label}"
        text += f" from a snapshot that missed {missed}" if missed else " from a stale snapshot"
        if also:
            text += f"; {', '.join(also)} did the same"
        if failed:
            text += f"; {failed} later replay(s) failed on it"
        return text + "."
    summary = cause.summary.split(": ", 1)[-1] if cause.code == "fence-break" else cause.summary
    first_sentence = summary.split(". ")[0].rstrip(".")
    return f"{cause.code} at #{cause.event.position} {cause.event.label}: {first_sentence}."
