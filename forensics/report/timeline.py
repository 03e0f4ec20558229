"""The run timeline: one lane per correlation id with its lifecycle phases and marks.

`timeline_info` walks one run's log and returns lanes (the run itself, then each step, hook
and wait in order of first appearance), the phases between lifecycle events (a step pending,
running, retrying; a hook open; a wait sleeping), every event as a mark, waits' `resumeAt`
and the witness events of findings. Times are `createdAt` (write time, then the id's time,
when a source has none). A run too big to draw is thinned lane by lane, never inside a lane.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from forensics.report._query import MAX_POINTS, Con, fetch, iso_ms, ordinal, short_name, stride

RUN_LANE_TYPES = ("run_", "workflow_")
TERMINALS = frozenset(
    {
        "step_completed",
        "step_failed",
        "hook_disposed",
        "wait_completed",
        "run_completed",
        "run_failed",
        "run_cancelled",
        "workflow_completed",
        "workflow_failed",
    }
)
# event type -> the phase it opens on its lane (None: it ends the lane's phase)
PHASE_AFTER = {
    "run_created": "queued",
    "workflow_started": "running",
    "run_started": "running",
    "step_created": "pending",
    "step_started": "running",
    "step_retrying": "retrying",
    "hook_created": "hook open",
    "hook_conflict": "hook open",
    "wait_created": "sleeping",
}


@dataclass(frozen=True, slots=True)
class Lane:
    index: int
    correlation_id: str | None  # None: the run's own events
    kind: str  # run | step | hook | wait | other
    label: str


@dataclass(frozen=True, slots=True)
class Phase:
    lane: int
    phase: str
    start_ms: int
    end_ms: int
    start_position: int
    end_position: int
    open: bool  # no event ended it: drawn to the run's last event


@dataclass(frozen=True, slots=True)
class Mark:
    lane: int
    position: int
    event_id: str
    event_type: str
    at_ms: int
    detail: str  # hook payload summary, step name, resumeAt: what a hover should say
    witness_of: tuple[str, ...]  # finding codes this event witnesses


@dataclass(frozen=True, slots=True)
class ResumeMark:
    lane: int
    at_ms: int
    position: float  # where resumeAt falls in log order: after the last event written by then


@dataclass(frozen=True, slots=True)
class TimelineInfo:
    run_id: str
    event_count: int
    lane_count: int  # before thinning
    lanes: tuple[Lane, ...]
    phases: tuple[Phase, ...]
    marks: tuple[Mark, ...]
    resume_marks: tuple[ResumeMark, ...]
    note: str | None  # set when lanes were left out to stay under the point budget
    focus: tuple[int, int, int, int] | None = None  # lanes lo..hi, ms t0..t1: where it opens


_SQL = """
SELECT log_position AS pos, event_id, event_type, correlation_id,
       epoch_ms(coalesce(created_at, write_time, id_time)) AS at_ms,
       json_extract_string(event_data, '$.stepName') AS step_name,
       json_extract_string(event_data, '$.token') AS token,
       epoch_ms(TRY_CAST(json_extract_string(event_data, '$.resumeAt') AS TIMESTAMPTZ))
           AS resume_ms,
       CASE WHEN event_type = 'hook_received' THEN payload_format END AS payload_format,
       CASE WHEN event_type = 'hook_received' THEN CAST(payload_decoded AS VARCHAR) END
           AS payload
FROM run_log WHERE run_id = ? ORDER BY log_position
"""


def timeline_info(
    con: Con,
    run_id: str,
    *,
    witnesses: Mapping[str, Sequence[str]] | None = None,
    max_points: int = MAX_POINTS,
    focus: Sequence[int] = (),
) -> TimelineInfo:
    """The timeline of `run_id`; `witnesses` maps event ids to the finding codes they witness."""
    rows = fetch(con, _SQL, [run_id])
    wit = {k: tuple(v) for k, v in (witnesses or {}).items()}
    lanes = _lanes(rows)
    lane_of = {ln.correlation_id: ln.index for ln in lanes}
    marks = [_mark(r, lane_of[_lane_key(r)], wit.get(str(r["event_id"]), ())) for r in rows]
    phases = _phases(rows, lane_of)
    resumes = _resume_marks(rows, lane_of, sorted(m.at_ms for m in marks))
    keep, note = _thin(lanes, marks, phases, max_points, len(rows))
    kept = tuple(ln for ln in lanes if ln.index in keep)
    return TimelineInfo(
        run_id=run_id,
        event_count=len(rows),
        lane_count=len(lanes),
        lanes=kept,
        phases=tuple(p for p in phases if p.lane in keep),
        marks=tuple(m for m in marks if m.lane in keep),
        resume_marks=tuple(m for m in resumes if m.lane in keep),
        note=note,
        focus=_focus(kept, [m for m in marks if m.lane in keep], set(focus)),
    )


def _focus(
    lanes: Sequence[Lane], marks: Sequence[Mark], positions: set[int]
) -> tuple[int, int, int, int] | None:
    """Where the figure opens: the drawn lanes (by place) and time span of `positions`."""
    chosen = [m for m in marks if m.position in positions]
    if not chosen:
        return None
    place = {ln.index: n for n, ln in enumerate(lanes)}
    rows = [place[m.lane] for m in chosen if m.lane in place]
    times = [m.at_ms for m in chosen]
    return (min(rows), max(rows), min(times), max(times)) if rows else None


def _lane_key(row: Mapping[str, object]) -> str | None:
    cid = row["correlation_id"]
    if cid is None or str(row["event_type"]).startswith(RUN_LANE_TYPES):
        return None
    return str(cid)


def _kind(cid: str | None) -> str:
    if cid is None:
        return "run"
    prefix = cid.split("_", 1)[0]
    return prefix if prefix in ("step", "hook", "wait") else "other"


def _lanes(rows: Sequence[Mapping[str, object]]) -> list[Lane]:
    """Lanes in order of first appearance in the log, the run's own lane first."""
    names: dict[str | None, list[str]] = {None: []}
    for r in rows:
        seen = names.setdefault(_lane_key(r), [])
        name = _lane_name(r)
        if name and name not in seen:
            seen.append(name)
    lanes: list[Lane] = []
    taken: set[str] = set()
    for i, (cid, found) in enumerate(names.items()):
        kind = _kind(cid)
        head = f"{kind} {' / '.join(found)}".strip()
        label = "run" if cid is None else _unique(head, cid, taken)
        taken.add(label)
        lanes.append(Lane(i, cid, kind, label))
    return lanes


def _lane_name(row: Mapping[str, object]) -> str:
    """A step's name, a hook's token or a wait's resumeAt: what tells lanes apart."""
    if row["step_name"]:
        return short_name(str(row["step_name"]))
    if row["token"]:
        token = str(row["token"])
        return token if len(token) <= 24 else token[:23] + "…"
    if row["event_type"] == "wait_created" and row["resume_ms"] is not None:
        return "until " + iso_ms(int(str(row["resume_ms"])))[11:19]
    return ""


def _unique(head: str, cid: str, seen: set[str]) -> str:
    """`step fetchItem …RY7A`; a longer tail of the id when the short one is taken."""
    for tail in (4, 8):
        label = f"{head} …{cid[-tail:]}"
        if label not in seen:
            return label
    return f"{head} {cid}"


def _mark(row: Mapping[str, object], lane: int, witness_of: tuple[str, ...]) -> Mark:
    return Mark(
        lane=lane,
        position=int(str(row["pos"])),
        event_id=str(row["event_id"]),
        event_type=str(row["event_type"]),
        at_ms=int(str(row["at_ms"])),
        detail=_detail(row),
        witness_of=witness_of,
    )


def _detail(row: Mapping[str, object]) -> str:
    if row["event_type"] == "hook_received":
        return payload_summary(row["payload_format"], row["payload"])
    if row["step_name"]:
        return short_name(str(row["step_name"]))
    return ""


def payload_summary(fmt: object, payload: object, width: int = 80) -> str:
    """A one-line summary of a decoded payload: what a hover over a hook mark shows."""
    if fmt in ("encr", "encp"):
        return "payload encrypted"
    if payload is None:
        return f"payload {fmt}" if fmt and fmt != "absent" else "no payload"
    value = orjson.loads(str(payload))
    if isinstance(value, dict) and value.get("__type") == "Request":
        text = f"{value.get('method', '')} {value.get('url', '')}".strip()
    else:
        text = orjson.dumps(value).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def _phases(rows: Sequence[Mapping[str, object]], lane_of: Mapping[str | None, int]) -> list[Phase]:
    """Walk the log once; each lifecycle event ends its lane's phase and may open the next."""
    current: dict[int, tuple[str, int, int]] = {}
    ended: set[int] = set()
    out: list[Phase] = []
    for r in rows:
        lane, etype = lane_of[_lane_key(r)], str(r["event_type"])
        at, pos = int(str(r["at_ms"])), int(str(r["pos"]))
        if lane in ended:
            continue
        nxt = PHASE_AFTER.get(etype)
        repeated = etype.endswith(("_created", "_conflict")) or nxt == current.get(lane, ("",))[0]
        if lane in current and repeated:
            continue  # a repeated creation or start does not restart the phase
        if nxt is None and etype not in TERMINALS:
            continue  # marks only: hook_received, attr_set, noop, unknown types
        if lane in current:
            phase, start, start_pos = current.pop(lane)
            out.append(Phase(lane, phase, start, max(start, at), start_pos, pos, False))
        if nxt is None:
            ended.add(lane)
        else:
            current[lane] = (nxt, at, pos)
    last_ms = max((int(str(r["at_ms"])) for r in rows), default=0)
    for lane, (phase, start, start_pos) in current.items():
        out.append(Phase(lane, phase, start, max(start, last_ms), start_pos, len(rows), True))
    return sorted(out, key=lambda p: (p.lane, p.start_position, p.phase))


def _resume_marks(
    rows: Sequence[Mapping[str, object]],
    lane_of: Mapping[str | None, int],
    times: Sequence[int],
) -> list[ResumeMark]:
    out = {
        ResumeMark(
            lane_of[_lane_key(r)],
            int(str(r["resume_ms"])),
            bisect_right(times, int(str(r["resume_ms"]))) + 0.5,
        )
        for r in rows
        if r["event_type"] == "wait_created" and r["resume_ms"] is not None
    }
    return sorted(out, key=lambda m: (m.lane, m.at_ms))


def _thin(
    lanes: Sequence[Lane],
    marks: Sequence[Mark],
    phases: Sequence[Phase],
    max_points: int,
    events: int,
) -> tuple[set[int], str | None]:
    """Which lanes to draw: all, or every n-th plus the run lane and every witness lane."""
    points = len(marks) + 2 * len(phases)
    step = stride(points, max_points)
    if step == 1:
        return {ln.index for ln in lanes}, None
    witness_lanes = {m.lane for m in marks if m.witness_of}
    keep = {ln.index for ln in lanes if ln.index % step == 0} | witness_lanes | {0}
    note = (
        f"{len(keep):,} of {len(lanes):,} lanes drawn (every {ordinal(step)} lane, plus the run and"
        f" every lane with a finding witness): the run has {events:,} events"
    )
    return keep, note
