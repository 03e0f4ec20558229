"""The incident story of one run: root cause first, then who raced whom, the window, the rest.

`build_story` puts together what `check`, `replays` and `fences` each say in part: the
finding that explains the failure (ranked by `forensics.analysis.ranks`), the replays that
wrote from a stale snapshot and the ones that raced them or failed on their write, the
critical window in commit order, the blast radius, what each fence design would have done,
and every other finding counted by code. It is computed once here as a `Story` record; the
CLI, the TUI and the report only render it (`story_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import duckdb

from forensics.analysis.ranks import rank
from forensics.model import (
    Finding,
    RunVerdict,
    Story,
    StoryBlast,
    StoryCause,
    StoryDesign,
    StoryEvent,
)
from forensics.replay.explain import fence_detail
from forensics.replay.fences import FenceRow, judged_writes
from forensics.replay.names import event_label
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.story_parts import (
    failures,
    headline,
    similar_runs,
    story_event,
    window,
    writers_of,
)
from forensics.replay.whatif import what_if

FENCE_CODES = ("stale-snapshot-write", "fence-break", "stuck-fence")

_HEAD_SQL = "SELECT workflow_name, status, error_code, event_count FROM runs WHERE run_id = ?"


def build_story(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    findings: Sequence[Finding],
    verdict: RunVerdict | None,
    *,
    full: bool = True,
) -> Story:
    """The story of `run_id` from its stored log, traces and `findings` (of this run).

    `full=False` builds its head only (headline, root cause, writers, blast radius): the
    window, the fence designs and similar runs are left empty, for a banner to show first."""
    rr = run_replays(con, run_id)
    head = con.execute(_HEAD_SQL, [run_id]).fetchall()
    workflow, status, error_code, count = head[0] if head else (None, "unknown", None, 0)
    chain = judged_writes(rr) if rr.log.events else []  # the writes that can be judged
    shown = sorted((f for f in findings if f.severity != "info"), key=_cause_key(rr))
    root = shown[0] if shown and shown[0].severity == "error" else None
    if root is None and shown:
        root = shown[0]
    cause = _cause(rr, chain, root) if root else None
    writers = writers_of(rr, chain, cause)
    message, failed_at = _failure(rr)
    failed = failures(rr)
    blast = StoryBlast(
        failed_replays=len(failed),
        first_failure_at=min((r.at for r in failed if r.at), default=None),
        last_failure_at=max((r.at for r in failed if r.at), default=None),
        similar_runs=similar_runs(con, run_id, root) if root and full else (),
    )
    exactness, note = _exactness(rr, writers)
    story = Story(
        run_id=run_id,
        workflow_name=workflow,
        status=str(status),
        error_code=error_code,
        error_message=message,
        failed_at=failed_at,
        verdict=verdict.verdict if verdict else None,
        headline="",
        exactness=exactness,
        exactness_note=note,
        root_cause=cause,
        writers=writers,
        window=window(rr, chain, cause, writers) if cause and full else (),
        blast_radius=blast,
        prevention=_prevention(rr, chain) if cause and full else (),
        other_findings=_others(findings, root),
        event_count=int(count or 0),
        traced_replays=len(rr.traces.replays),
    )
    return _with_headline(story, verdict)


def _with_headline(story: Story, verdict: RunVerdict | None) -> Story:
    return replace(story, headline=headline(story, verdict.reason if verdict else None))


def _cause_key(rr: RunReplays) -> Any:
    """Rank, then the earliest write in commit order (the first stale write comes first)."""

    def key(f: Finding) -> tuple[Any, ...]:
        index = _root_index(rr, f)
        commit = rr.log.rank[index] if index is not None else len(rr.log.events)
        return (*rank(f), commit, f.event_ids)

    return key


def _root_index(rr: RunReplays, f: Finding) -> int | None:
    """The log index of the event a finding blames: the write, the late copy, the blamed."""
    log = rr.log
    if f.code in FENCE_CODES and f.evidence.get("commit_rank"):
        rank_ = int(f.evidence["commit_rank"])
        if 0 < rank_ <= len(log.commit):
            return log.commit[rank_ - 1]
    blamed = f.evidence.get("blamed_event")
    if isinstance(blamed, str) and blamed in log.by_id:
        return log.by_id[blamed]
    known = [log.by_id[e] for e in f.event_ids if e in log.by_id]
    if f.code == "race-window" and known:
        return known[-1]
    return max(known) if known else None


def _cause(rr: RunReplays, chain: list[FenceRow], f: Finding) -> StoryCause:
    index = _root_index(rr, f)
    witnesses = tuple(story_event(rr, rr.log.by_id[e]) for e in f.event_ids if e in rr.log.by_id)
    if index is None:
        event = StoryEvent(0, f.event_ids[0] if f.event_ids else "", "", f.correlation_id,
                           f.correlation_id or f.code, None)  # fmt: skip
    else:
        event = story_event(rr, index)
    return StoryCause(f.code, f.finding_id, event, _summary(rr, chain, f, index), witnesses,
                      f.severity)  # fmt: skip


def _summary(rr: RunReplays, chain: list[FenceRow], f: Finding, index: int | None) -> str:
    row = None
    if f.code in FENCE_CODES and index is not None:
        row = next((r for r in chain if r.index == index), None)
    if row is not None:
        by = f" by {row.writer}" if row.writer else ""
        at = row.index
        return f"#{at + 1} {event_label_of(rr, at)} written{by}: {fence_detail(rr, row)}"
    return plain(f.explanation)


def event_label_of(rr: RunReplays, index: int) -> str:
    e = rr.log.events[index]
    return event_label(e.event_type, e.correlation_id, e.step_name)


def plain(explanation: str) -> str:
    """An explanation without its opening definitions ("Let … ."): the claim itself."""
    text = explanation.strip()
    if text.startswith("Let "):
        cut = text.find(". ")
        while cut != -1 and text[cut - 1].isdigit() and text[cut + 2 : cut + 3].isdigit():
            cut = text.find(". ", cut + 1)  # a decimal point is not a sentence end
        text = text[cut + 2 :] if cut != -1 else text
    return text


def _failure(rr: RunReplays) -> tuple[str | None, Any]:
    ends = [e for e in rr.log.events if e.event_type in ("run_failed", "workflow_failed")]
    if ends:
        return ends[-1].message, ends[-1].committed_at
    failed = [r for r in rr.replays if r.outcome == "failed" and r.error]
    if failed:
        return failed[0].error, failed[0].at
    return None, None


def _exactness(rr: RunReplays, writers: Any) -> tuple[str, str]:
    stale = [w for w in writers if w.role == "stale"]
    traced = len(rr.traces.replays)
    if stale and all(w.exact for w in stale):
        kind = "traced" if all(w.source == "trace" for w in stale) else "fenced"
        how = ("their trace lines list what they loaded" if kind == "traced"
               else "the fences they sent name their snapshot's tail")  # fmt: skip
        return kind, f"exact: the stale writers' snapshots are known ({how})"
    if not traced:
        return "inferred", (
            "no traces: replays are reconstructed from commit order"
            + (" and fences" if rr.log.has_fences else "")
            + "; a snapshot without a fence is inferred (what committed before the write);"
            + f" the log is read by {rr.log.replay_order}"
        )
    return "inferred", "some writers are traced; the others' snapshots are inferred"


def _prevention(rr: RunReplays, chain: list[FenceRow]) -> tuple[StoryDesign, ...]:
    out = []
    for o in what_if(rr, chain):
        known = o.evaluated > 0
        out.append(
            StoryDesign(
                design=o.title,
                would_reject=bool(o.caught) if known else None,
                prevents=o.prevented if known else None,
                rejects=tuple(story_event(rr, i) for i in o.rejected),
            )
        )
    return tuple(out)


def _others(findings: Sequence[Finding], root: Finding | None) -> tuple[tuple[str, str, int], ...]:
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        if root is not None and f.finding_id == root.finding_id:
            continue
        n = int(f.evidence.get("count", 1)) if f.code == "unfenced-decision-write" else 1
        counts[(f.code, f.severity)] = counts.get((f.code, f.severity), 0) + n
    ordered = sorted(counts.items(), key=lambda kv: rank(_Code(*kv[0])))
    return tuple((code, severity, n) for (code, severity), n in ordered)


class _Code:
    def __init__(self, code: str, severity: str) -> None:
        self.code, self.severity = code, severity


def story_of(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    findings: Sequence[Finding],
    verdicts: Sequence[RunVerdict],
) -> Story:
    """`build_story` over a check's result (its findings and verdicts of any runs)."""
    mine = [f for f in findings if f.run_id == run_id]
    verdict = next((v for v in verdicts if v.run_id == run_id), None)
    return build_story(con, run_id, mine, verdict)
