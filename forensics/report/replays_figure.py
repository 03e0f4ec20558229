"""Drawing a `ReplaysInfo`: each replay at its time and loaded size, with its writes.

A button swaps time for replay order, which spreads out replays that ran within a few
milliseconds of each other in a run that otherwise waited for minutes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence

import plotly.graph_objects as go

from forensics.report.replays import ReplayPoint, ReplaysInfo
from forensics.report.style import (
    OUTCOME_COLOURS,
    add_note,
    axis_toggle,
    base_layout,
    esc,
    f4,
    f8,
)

WRITES_DRAWN = 5_000


def replays_figure(info: ReplaysInfo) -> go.Figure:
    """Replays at their time and loaded event count, coloured by outcome, with their writes."""
    placed = [p for p in info.replays if p.at_ms is not None and p.loaded is not None]
    parts: list[go.Scatter] = []
    if placed:
        parts.append(_log_length(info, placed))
    if any(n > 1 for n in Counter(p.group for p in placed).values()):
        parts.append(_group_links(placed))
    for outcome in OUTCOME_COLOURS:
        mine = [p for p in placed if p.outcome == outcome]
        if mine:
            parts.append(_write_links(outcome, mine))
            parts.append(_replay_trace(outcome, mine))
    writes = sum(len(p.write_positions) for p in placed)
    if writes:
        parts.append(_writes(placed))
    fig = go.Figure(parts)
    title = (
        f"Replays: {len(info.replays):,} ({info.traced:,} traced, {info.reconstructed:,}"
        f" reconstructed) in {len(info.groups):,} digest groups"
    )
    fig.update_layout(
        **base_layout(title, height=500),
        updatemenus=[
            axis_toggle(
                "x",
                ("x = time", "date", "replay time (UTC)"),
                ("x = replay order", "linear", "replay (in time order)"),
            )
        ],
    )
    fig.update_xaxes(type="date", title_text="replay time (UTC)")
    fig.update_yaxes(title_text="events in the loaded snapshot / log", rangemode="tozero")
    unplaced = len(info.replays) - len(placed)
    notes = [n for n in (info.note,) if n]
    if unplaced:
        notes.append(f"{unplaced} replays without a known time or snapshot size are not drawn")
    if writes > WRITES_DRAWN:
        notes.append(
            f"{writes:,} writes: each replay's first and last drawn, a line spans the rest"
        )
    add_note(fig, "; ".join(notes) or None)
    return fig


def _log_length(info: ReplaysInfo, placed: Sequence[ReplayPoint]) -> go.Scatter:
    """The committed log's length; in replay order a commit sits after the replays before it."""
    replay_times = sorted(p.at_ms for p in placed if p.at_ms is not None)
    xt = [t for t, _ in info.log_length]
    xo = [bisect_right(replay_times, t) + 0.5 for t in xt]
    return go.Scatter(
        name="log length (events committed)",
        x=f8(xt),
        y=f8([n for _, n in info.log_length]),
        customdata=f4(xo),
        mode="lines",
        line={"shape": "hv", "color": "#b0b0b0", "width": 1.5},
        hoverinfo="skip",
    )


def _replay_trace(outcome: str, mine: Sequence[ReplayPoint]) -> go.Scatter:
    return go.Scatter(
        name=f"replay {outcome}",
        x=f8([p.at_ms for p in mine]),
        customdata=f4([p.order for p in mine]),
        y=[p.loaded for p in mine],
        text=[_hover(p) for p in mine],
        mode="markers",
        marker={
            "color": OUTCOME_COLOURS[outcome],
            "size": 11,
            "symbol": ["circle" if p.source == "trace" else "diamond" for p in mine],
            "line": {"width": 1, "color": "white"},
        },
        hovertemplate="%{text}<extra></extra>",
    )


def _hover(p: ReplayPoint) -> str:
    writes = f"{len(p.write_positions)} writes"
    if p.write_positions:
        shown = ", ".join(f"#{w}" for w in p.write_positions[:8])
        writes += f" at {shown}" + ("…" if len(p.write_positions) > 8 else "")
    lines = [
        f"<b>{esc(p.replay_id)}</b> ({p.source}) {esc(p.outcome)}",
        f"loaded {p.loaded} of {p.log_length_then} committed events",
        f"digest {esc(p.digest or '?')} ({esc(p.group)}), tail {esc(p.tail_event_id or '?')}",
        writes,
    ]
    if p.problem:
        lines.append(esc(p.problem))
    return "<br>".join(lines)


def _group_links(placed: Sequence[ReplayPoint]) -> go.Scatter:
    """Replays of one digest joined by a dotted line: they saw the very same log."""
    xt: list[int | None] = []
    xo: list[int | None] = []
    ys: list[int | None] = []
    by_group: dict[str, list[ReplayPoint]] = {}
    for p in placed:
        by_group.setdefault(p.group, []).append(p)
    for members in by_group.values():
        if len(members) > 1:
            for p in sorted(members, key=lambda m: m.order):
                xt.append(p.at_ms)
                xo.append(p.order)
                ys.append(p.loaded)
            xt.append(None)
            xo.append(None)
            ys.append(None)
    return go.Scatter(
        name="same digest",
        x=f8(xt),
        customdata=f4(xo),
        y=ys,
        mode="lines",
        line={"dash": "dot", "color": "#7f7f7f", "width": 1},
        hoverinfo="skip",
    )


def _write_links(outcome: str, mine: Sequence[ReplayPoint]) -> go.Scatter:
    """From each replay to the highest log position it wrote: the span of its writes."""
    xt: list[int | None] = []
    xo: list[int | None] = []
    ys: list[int | None] = []
    for p in mine:
        timed = [
            (t, pos)
            for t, pos in zip(p.write_times_ms, p.write_positions, strict=True)
            if t is not None
        ]
        if timed:
            last_t, top = max(timed, key=lambda w: w[1])
            xt += [p.at_ms, last_t, None]
            xo += [p.order, p.order, None]
            ys += [p.loaded, top, None]
    return go.Scatter(
        x=f8(xt),
        y=f8(ys),
        customdata=f4(xo),
        mode="lines",
        line={"color": OUTCOME_COLOURS[outcome], "width": 1},
        opacity=0.5,
        hoverinfo="skip",
        showlegend=False,
    )


def _writes(placed: Sequence[ReplayPoint], limit: int = WRITES_DRAWN) -> go.Scatter:
    """Each write at its commit time and log position; past `limit`, each replay's first and
    last write only (the span line shows the rest)."""
    rows = []
    for p in placed:
        timed = [
            (t, pos)
            for t, pos in zip(p.write_times_ms, p.write_positions, strict=True)
            if t is not None
        ]
        rows += [(t, p.order, pos, p.replay_id) for t, pos in timed]
    if len(rows) > limit:
        ends: dict[str, list[tuple[int, int, int, str]]] = {}
        for r in rows:
            ends.setdefault(r[3], []).append(r)
        rows = [r for rs in ends.values() for r in {rs[0], rs[-1]}]
    return go.Scatter(
        name="writes (log position)",
        x=f8([r[0] for r in rows]),
        customdata=f4([r[1] for r in rows]),
        y=f4([r[2] for r in rows]),
        text=[r[3] for r in rows],
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 10, "color": "#333333"},
        hovertemplate="write at log position %{y} by %{text}<extra></extra>",
    )
