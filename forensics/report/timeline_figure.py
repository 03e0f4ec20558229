"""Drawing a `TimelineInfo`: lanes top to bottom, phases as bars, events as markers.

Two buttons switch the x axis between createdAt and log position: time shows how long
things took, position shows the order every replay reads (races often happen within a few
milliseconds, invisible on a run that also sleeps for minutes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from forensics.report.style import (
    ALARM,
    PHASE_COLOURS,
    add_note,
    axis_toggle,
    base_layout,
    esc,
    esc_template,
    event_colour,
    event_symbol,
    f4,
    f8,
    strs,
)
from forensics.report.timeline import Mark, Phase, TimelineInfo

TIME_TITLE = "createdAt (UTC)"
POSITION_TITLE = "position in eventId (replay) order"
DETAIL_LIMIT = 5_000  # beyond this many events hovers name the position, not the event id


def timeline_figure(info: TimelineInfo) -> go.Figure:
    """The timeline figure of `info` (x = createdAt; a button switches to log position)."""
    labels = {ln.index: esc(ln.label) for ln in info.lanes}  # lane labels come from the log
    parts: list[go.Scatter] = []
    for phase in PHASE_COLOURS:
        bars = [p for p in info.phases if p.phase == phase]
        if bars:
            parts.append(_phase_trace(phase, bars, labels))
    detailed = len(info.marks) <= DETAIL_LIMIT
    for etype in sorted({m.event_type for m in info.marks}):
        marks = [m for m in info.marks if m.event_type == etype]
        parts.append(_mark_trace(etype, marks, labels, detailed))  # event types too
    if info.resume_marks:
        parts.append(_resume_trace(info, labels))
    witnesses = [m for m in info.marks if m.witness_of]
    if witnesses:
        parts.append(_witness_trace(witnesses, labels))
    fig = go.Figure(parts)
    _layout(fig, info, len(parts))
    return fig


def _phase_trace(phase: str, bars: Sequence[Phase], labels: Mapping[int, str]) -> go.Scatter:
    xt: list[int | None] = []
    xp: list[int | None] = []
    ys: list[str | None] = []
    for p in bars:
        xt += [p.start_ms, p.end_ms, None]
        xp += [p.start_position, p.end_position, None]
        ys += [labels[p.lane], labels[p.lane], None]
    trace = go.Scatter(
        name=phase,
        x=f8(xt),
        y=strs(ys),
        customdata=f4(xp),
        mode="lines",
        line={"color": PHASE_COLOURS[phase], "width": 10},
        hoverinfo="skip",
        legendgroup="phases",
        legendgrouptitle_text="phases",
    )
    return trace


def _mark_trace(
    event_type: str, marks: Sequence[Mark], labels: Mapping[int, str], detailed: bool
) -> go.Scatter:
    return go.Scatter(
        name=esc(event_type),
        x=f8([m.at_ms for m in marks]),
        y=strs([labels[m.lane] for m in marks]),
        customdata=np.array([m.position for m in marks], dtype=np.int32),
        text=strs([_hover(m) for m in marks]) if detailed else None,
        mode="markers",
        marker={
            "color": event_colour(event_type),
            "symbol": event_symbol(event_type),
            "size": 9,
            "line": {"width": 0},
        },
        hovertemplate=f"<b>{esc_template(event_type)}</b> #%{{customdata}}<br>%{{y}}<br>%{{x}}"
        + ("<br>%{text}" if detailed else "")
        + "<extra></extra>",
        legendgroup="events",
        legendgrouptitle_text="events",
    )


def _hover(m: Mark) -> str:
    return f"{esc(m.event_id)}<br>{esc(m.detail)}" if m.detail else esc(m.event_id)


def _resume_trace(info: TimelineInfo, labels: Mapping[int, str]) -> go.Scatter:
    marks = info.resume_marks
    return go.Scatter(
        name="wait resumeAt",
        x=f8([m.at_ms for m in marks]),
        customdata=f4([m.position for m in marks]),
        y=[labels[m.lane] for m in marks],
        mode="markers",
        marker={"symbol": "diamond-open", "size": 12, "color": "#6b8e23", "line": {"width": 2}},
        hovertemplate="resumeAt<br>%{y}<extra></extra>",
    )


def _witness_trace(marks: Sequence[Mark], labels: Mapping[int, str]) -> go.Scatter:
    return go.Scatter(
        name="finding witness",
        x=f8([m.at_ms for m in marks]),
        customdata=f4([m.position for m in marks]),
        y=[labels[m.lane] for m in marks],
        text=[
            f"{esc(m.event_type)} #{m.position} {esc(m.event_id)}"
            f"<br>witness of {esc(', '.join(m.witness_of))}"
            for m in marks
        ],
        mode="markers",
        marker={"symbol": "circle-open", "size": 20, "color": ALARM, "line": {"width": 2.5}},
        hovertemplate="%{text}<extra></extra>",
    )


def _layout(fig: go.Figure, info: TimelineInfo, traces: int) -> None:
    lanes = len(info.lanes)
    visible = min(lanes, 40)
    top = 0
    if info.focus is not None:  # open on the critical window: its lanes and its time span
        lo, hi, t0, t1 = info.focus
        top = max(0, min(lo - 2, lanes - visible)) if hi - lo < visible else lo
    fig.update_layout(
        **base_layout(
            f"Timeline: {info.event_count:,} events on {info.lane_count:,} lanes",
            height=max(180 + 19 * traces, min(950, 150 + 26 * visible)),
        ),
        updatemenus=[
            axis_toggle(
                "x",
                ("x = createdAt", "date", TIME_TITLE),
                ("x = log position", "linear", POSITION_TITLE),
            )
        ],
    )
    fig.update_xaxes(type="date", title_text=TIME_TITLE)
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=[esc(ln.label) for ln in info.lanes],
        range=[top + visible - 0.5, top - 0.5],
        zeroline=False,
        showgrid=True,
        gridcolor="#eeeeee",
    )
    notes = [info.note] if info.note else []
    if info.focus is not None:
        _, _, t0, t1 = info.focus
        pad = max((t1 - t0) // 6, 50)
        fig.update_xaxes(range=[t0 - pad, t1 + pad])  # the date axis takes epoch ms
        notes.append("opens on the critical window: double-click to see the whole run")
    if lanes > visible:
        notes.append(
            f"lanes {top + 1}–{top + visible} of {lanes:,} in view: drag the lane axis to scroll"
        )
    add_note(fig, "; ".join(notes) or None)
