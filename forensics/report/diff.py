"""Two views of one run compared (`--diff A B`): what one loaded that the other did not.

A side is what the replay engine's diff accepts: a replay id, a digest prefix, `log` or
`log@EVENT`. `diff_info` keeps the comparison as plain values (events only in A, only in B,
moved, the first position where the lists part, correlation ids each side names
differently, and each side's writes); `diff_figure` is a dot plot of positions in A against
positions in B: shared events in the same order lie on the diagonal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from forensics.replay.diff import Placed, Side, diff, keyed, resolve
from forensics.replay.replays import RunReplays
from forensics.report.style import ALARM, MUTED, add_note, base_layout, esc

LISTED = 200  # events listed per table before the rest is summarised


@dataclass(frozen=True, slots=True)
class DiffEvent:
    position: int  # 1-based place in its side's list
    event_id: str
    event_type: str
    correlation_id: str | None
    step_name: str | None


@dataclass(frozen=True, slots=True)
class DiffSide:
    label: str
    kind: str  # replay | digest | log
    events: int
    digest: str | None
    write_positions: tuple[int, ...]  # 1-based log positions


@dataclass(frozen=True, slots=True)
class DiffInfo:
    a: DiffSide
    b: DiffSide
    shared: tuple[tuple[int, int], ...]  # (position in A, position in B) of common events
    only_a: tuple[DiffEvent, ...]
    only_b: tuple[DiffEvent, ...]
    moved: tuple[tuple[DiffEvent, DiffEvent], ...]
    first_divergence: tuple[int, DiffEvent | None, DiffEvent | None] | None
    conflicts: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]


def _event(p: Placed) -> DiffEvent:
    event_id, event_type, cid, name = p.item
    return DiffEvent(p.position, event_id, event_type, cid, name)


def _side(s: Side) -> DiffSide:
    return DiffSide(s.label, s.kind, len(s.events), s.digest, tuple(i + 1 for i in s.writes))


def diff_info(rr: RunReplays, a: str, b: str) -> DiffInfo:
    """Compare sides `a` and `b` of the run (a `UsageError` lists the valid names)."""
    sa, sb = resolve(rr, a), resolve(rr, b)
    d = diff(sa, sb)
    first = None
    if d.first_divergence is not None:
        pos, pa, pb = d.first_divergence
        first = (pos, _event(pa) if pa else None, _event(pb) if pb else None)
    only_a_keys = {p.key for p in d.only_a}
    pos_b = {p.key: p.position for p in keyed(sb.events)}
    shared = tuple((p.position, pos_b[p.key]) for p in keyed(sa.events) if p.key not in only_a_keys)
    return DiffInfo(
        a=_side(sa),
        b=_side(sb),
        shared=shared,
        only_a=tuple(_event(p) for p in d.only_a),
        only_b=tuple(_event(p) for p in d.only_b),
        moved=tuple((_event(x), _event(y)) for x, y in d.moved),
        first_divergence=first,
        conflicts=d.conflicts,
    )


def diff_figure(info: DiffInfo) -> go.Figure:
    """Position in A against position in B; events of one side only sit on an axis."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            name="in both, same order",
            x=[a for a, _ in info.shared],
            y=[b for _, b in info.shared],
            mode="markers",
            marker={"color": MUTED, "size": 5},
            hovertemplate="A #%{x} = B #%{y}<extra></extra>",
        )
    )
    _add_events(
        fig, "moved", [m[0] for m in info.moved], [m[1].position for m in info.moved], "#ff7f0e"
    )
    _add_events(fig, f"only in {info.a.label}", list(info.only_a), [0] * len(info.only_a), ALARM)
    only_b = list(info.only_b)
    fig.add_trace(
        go.Scatter(
            name=f"only in {info.b.label}",
            x=[0] * len(only_b),
            y=[e.position for e in only_b],
            text=[_label(e) for e in only_b],
            mode="markers",
            marker={"color": "#1f77b4", "size": 10, "symbol": "triangle-right"},
            hovertemplate="B #%{y} %{text}<extra></extra>",
        )
    )
    title = (
        f"{info.a.label} ({info.a.events:,} events) vs {info.b.label} ({info.b.events:,}):"
        f" {len(info.only_a):,} only in A, {len(info.only_b):,} only in B,"
        f" {len(info.moved):,} moved"
    )
    fig.update_layout(**base_layout(title, height=460))
    fig.update_xaxes(title_text=f"position in {info.a.label}", rangemode="tozero")
    fig.update_yaxes(title_text=f"position in {info.b.label}", rangemode="tozero")
    if info.first_divergence:
        add_note(fig, f"the lists part at position {info.first_divergence[0]:,}")
    return fig


def _add_events(
    fig: go.Figure, name: str, events: Sequence[DiffEvent], ys: Sequence[int], colour: str
) -> None:
    if not events:
        return
    fig.add_trace(
        go.Scatter(
            name=name,
            x=[e.position for e in events],
            y=list(ys),
            text=[_label(e) for e in events],
            mode="markers",
            marker={"color": colour, "size": 10, "symbol": "triangle-up"},
            hovertemplate="A #%{x} %{text}<extra></extra>",
        )
    )


def _label(e: DiffEvent) -> str:
    tail = f" {esc(e.correlation_id)}" if e.correlation_id else ""
    return f"{esc(e.event_type)}{tail}<br>{esc(e.event_id)}"
