"""The replay swimlane: each replay a lane over time, with its load, writes and failure.

`swimlane_info` picks the replays a story names (stale writers, the writers they raced, the
failed replays) and marks, per lane, when it loaded its snapshot (with the tail it ended
at), each write it committed and when it failed; a racing pair (a stale write and the write
its snapshot missed) is joined by a line. `swimlane_figure` only draws it, starting on the
critical window: the picture says who read what, when, and who wrote over whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import plotly.graph_objects as go

from forensics.model import Story
from forensics.replay.replays import Replay, RunReplays
from forensics.replay.story_parts import story_event
from forensics.report.style import ALARM, MUTED, add_note, base_layout

OUTSIDE: Final = "outside"
"""The lane of writes no replay made (out-of-band: hook receipts, step completions)."""
MAX_LANES: Final = 30
PER_GROUP: Final = 4
"""Failed replays of one snapshot drawn (the rest are counted in the note)."""
"""Lanes drawn at most: every stale and racing writer, then failed replays, in time order."""
KIND_STYLE: Final = {
    "load": ("triangle-right", "#1f77b4"),
    "write": ("circle", "#2ca02c"),
    "stale write": ("circle", ALARM),
    "failure": ("x", ALARM),
}


@dataclass(frozen=True, slots=True)
class SwimMark:
    lane: str  # replay id
    kind: str  # load | write | stale write | failure
    at: datetime
    label: str  # what a hover says


@dataclass(frozen=True, slots=True)
class SwimInfo:
    run_id: str
    lanes: tuple[str, ...]  # top to bottom
    roles: dict[str, str]
    marks: tuple[SwimMark, ...]
    races: tuple[tuple[SwimMark, SwimMark], ...]  # (stale write, the write it missed)
    focus: tuple[datetime, datetime] | None  # the critical window's time span
    left_out: int  # replays of the story not drawn (past MAX_LANES)


def swimlane_info(rr: RunReplays, story: Story) -> SwimInfo:
    """The lanes and marks of the replays the story names."""
    by_id = {r.id: r for r in rr.replays}
    roles: dict[str, str] = {}
    total = 0
    for w in story.writers:
        total += len(w.replays)
        for rid in w.replays[:PER_GROUP] if w.role in ("other-branch", "victim") else w.replays:
            roles.setdefault(rid, w.role)
    chosen = [by_id[rid] for rid in roles if rid in by_id]
    lanes = chosen[:MAX_LANES]
    stale_writes = {e.position - 1 for w in story.writers if w.role == "stale" for e in w.writes}
    marks: list[SwimMark] = []
    for r in lanes:
        marks += _marks(rr, r, stale_writes)
    outside = _outside(rr, story)
    marks += outside
    races = _races(rr, story, marks)
    if outside:
        roles[OUTSIDE] = "out-of-band"
    focus = _focus(marks, roles)
    names = tuple(r.id for r in lanes) + ((OUTSIDE,) if outside else ())
    return SwimInfo(rr.log.run_id, names, roles, tuple(marks), races, focus,
                    total - len(lanes))  # fmt: skip


def _focus(marks: list[SwimMark], roles: dict[str, str]) -> tuple[datetime, datetime] | None:
    """The race itself: the stale and racing writers' loads and writes, what they missed,
    and the first failure after them."""
    key = [m.at for m in marks if roles.get(m.lane) in ("stale", "racing", "out-of-band")]
    if not key:
        return None
    start, end = min(key), max(key)
    after = [m.at for m in marks if m.kind == "failure" and m.at >= end]
    return start, min(after) if after else end


def _outside(rr: RunReplays, story: Story) -> list[SwimMark]:
    """What stale writers missed that no replay wrote (a hook resumed from outside, a step's
    completion): one lane for all of it."""
    writer = rr.writer_of()
    seen: set[int] = set()
    out = []
    for w in story.writers:
        for e, _ms in w.missed:
            if e.position - 1 in writer or e.position in seen or e.at is None:
                continue
            seen.add(e.position)
            out.append(
                SwimMark(OUTSIDE, "write", e.at, f"{OUTSIDE} writes #{e.position} {e.label}")
            )
    return out


def _marks(rr: RunReplays, r: Replay, stale: set[int]) -> list[SwimMark]:
    out: list[SwimMark] = []
    tail = rr.log.by_id.get(r.snapshot.tail_event_id or "")
    if r.traced is not None and r.at is not None:
        where = f" up to #{tail + 1} {story_event(rr, tail).label}" if tail is not None else ""
        out.append(SwimMark(r.id, "load", r.at, f"{r.id} loads {r.snapshot.count} events{where}"))
    for i in r.writes:
        e = story_event(rr, i)
        if e.at is not None:
            kind = "stale write" if i in stale else "write"
            out.append(SwimMark(r.id, kind, e.at, f"{r.id} writes #{e.position} {e.label}"))
    if r.outcome == "failed":
        when = r.traced.ended_log_at if r.traced and r.traced.ended_log_at else r.at
        if when is not None:
            out.append(SwimMark(r.id, "failure", when, f"{r.id} fails: {r.error or ''}"[:200]))
    return out


def _races(
    rr: RunReplays, story: Story, marks: list[SwimMark]
) -> tuple[tuple[SwimMark, SwimMark], ...]:
    """Join each stale writer's first write to each write its snapshot missed."""
    writes = {(m.lane, m.label.split(" ")[2]): m for m in marks if "write" in m.kind}
    writer = rr.writer_of()
    out = []
    for w in story.writers:
        if w.role != "stale" or not w.writes:
            continue
        mine = writes.get((w.replay, f"#{w.writes[0].position}"))
        for missed, _ms in w.missed:
            other = writer.get(missed.position - 1)
            lane = other.id if other else OUTSIDE
            theirs = writes.get((lane, f"#{missed.position}"))
            if mine is not None and theirs is not None:
                out.append((mine, theirs))
    return tuple(out)


def swimlane_figure(info: SwimInfo) -> go.Figure:
    fig = go.Figure()
    for kind, (symbol, colour) in KIND_STYLE.items():
        chosen = [m for m in info.marks if m.kind == kind]
        if chosen:
            fig.add_trace(
                go.Scatter(
                    x=[m.at for m in chosen], y=[m.lane for m in chosen], mode="markers",
                    name=kind, text=[m.label for m in chosen],
                    marker={"symbol": symbol, "size": 11, "color": colour},
                    hovertemplate="%{text}<extra></extra>",
                )
            )  # fmt: skip
    for a, b in info.races:
        fig.add_trace(
            go.Scatter(x=[a.at, b.at], y=[a.lane, b.lane], mode="lines", showlegend=False,
                       line={"color": ALARM, "width": 2, "dash": "dot"}, hoverinfo="skip")
        )  # fmt: skip
    labels = [f"{lane} ({info.roles.get(lane, '')})" for lane in info.lanes]
    height = max(260, min(900, 140 + 24 * len(info.lanes)))
    fig.update_layout(**base_layout(f"Replays over time: {len(info.lanes)} lanes", height=height))
    fig.update_yaxes(type="category", categoryorder="array",
                     categoryarray=list(reversed(info.lanes)),
                     ticktext=list(reversed(labels)), tickvals=list(reversed(info.lanes)),
                     gridcolor="#eeeeee")  # fmt: skip
    fig.update_xaxes(type="date", title_text="time (UTC)", gridcolor="#eeeeee")
    notes = []
    if info.focus is not None:
        start, end = info.focus
        pad = max((end - start) * 0.15, timedelta(milliseconds=50))
        fig.update_xaxes(range=[start - pad, end + pad])
        notes.append("opens on the critical window: double-click to see every mark")
    if info.left_out:
        notes.append(f"{info.left_out} more failed replays of the same snapshots not drawn")
    add_note(fig, "; ".join(notes) or None)
    fig.update_layout(legend={"font": {"color": MUTED}})
    return fig
