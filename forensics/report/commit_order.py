"""Commit order against log order: when each event was written, by its position in eventId order.

Ids are minted before their commit and the log is read in id order, so a writer that mints,
then commits late, lands *before* events that were already visible to other readers. On this
figure such an event is a point above the line of later positions: every event whose write
time is below the running maximum of the events before it in log order is *overtaken*, and
the event that held the maximum is the *late commit*. Those pairs are the picture of a
mint-before-commit race. The time is the write time when the source recorded one, else
`createdAt`, as in the `order-inversions` canned query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from forensics.report._query import MAX_POINTS, Con, fetch, plural, stride
from forensics.report.style import (
    ALARM,
    add_note,
    axis_toggle,
    base_layout,
    esc,
    esc_template,
    event_colour,
    f4,
    f8,
    strs,
)


@dataclass(frozen=True, slots=True)
class Inversion:
    late_position: int  # minted first, committed after…
    late_event_id: str
    late_event_type: str
    overtaken_position: int  # …this later-sorted event was already written
    overtaken_event_id: str
    overtaken_event_type: str
    lag_ms: int


@dataclass(frozen=True, slots=True)
class CommitOrderInfo:
    run_id: str
    basis: str  # "write time" | "createdAt" | "write time, else createdAt"
    event_count: int
    positions: tuple[int, ...]  # drawn points (all, or a sample that keeps every inversion)
    times_ms: tuple[int, ...]
    ranks: tuple[int, ...]  # 1-based place in commit order (time, then position)
    event_types: tuple[str, ...]
    inversions: tuple[Inversion, ...]
    max_lag_ms: int
    note: str | None


_SQL = """
SELECT log_position AS pos, event_id, event_type,
       epoch_ms(coalesce(write_time, created_at)) AS t, write_time IS NOT NULL AS has_write
FROM run_log WHERE run_id = ? ORDER BY log_position
"""


def commit_order_info(
    con: Con, run_id: str, *, tolerance_ms: int = 0, max_points: int = MAX_POINTS
) -> CommitOrderInfo:
    """Positions, times and inversions (lag above `tolerance_ms`) of one run."""
    rows = [r for r in fetch(con, _SQL, [run_id]) if r["t"] is not None]
    inversions = _inversions(rows, tolerance_ms)
    keep = _sample(len(rows), max_points, inversions)
    order = sorted(range(len(rows)), key=lambda i: (int(rows[i]["t"]), i))
    rank = {i: r for r, i in enumerate(order, start=1)}
    drawn = [rows[i] for i in keep]
    note = None
    if len(drawn) < len(rows):
        note = (
            f"{len(drawn):,} of {len(rows):,} events drawn (an even sample that keeps"
            " every event of an inversion)"
        )
    return CommitOrderInfo(
        run_id=run_id,
        basis=_basis(rows),
        event_count=len(rows),
        positions=tuple(int(r["pos"]) for r in drawn),
        times_ms=tuple(int(r["t"]) for r in drawn),
        ranks=tuple(rank[i] for i in keep),
        event_types=tuple(str(r["event_type"]) for r in drawn),
        inversions=tuple(inversions),
        max_lag_ms=max((i.lag_ms for i in inversions), default=0),
        note=note,
    )


def _basis(rows: Sequence[Mapping[str, object]]) -> str:
    written = sum(1 for r in rows if r["has_write"])
    if written and written == len(rows):
        return "write time"
    return "write time, else createdAt" if written else "createdAt"


def _inversions(rows: Sequence[Mapping[str, object]], tolerance_ms: int) -> list[Inversion]:
    """One pair per overtaken event: it and the event holding the highest earlier time."""
    out: list[Inversion] = []
    top: Mapping[str, object] | None = None
    for r in rows:
        t = int(str(r["t"]))
        if top is not None:
            lag = int(str(top["t"])) - t
            if lag > tolerance_ms:
                out.append(
                    Inversion(
                        int(str(top["pos"])),
                        str(top["event_id"]),
                        str(top["event_type"]),
                        int(str(r["pos"])),
                        str(r["event_id"]),
                        str(r["event_type"]),
                        lag,
                    )
                )
        if top is None or t > int(str(top["t"])):
            top = r
    return out


def _sample(total: int, budget: int, inversions: Sequence[Inversion]) -> list[int]:
    """Row indexes to draw: all, or every n-th plus both ends of every inversion."""
    step = stride(total, budget)
    if step == 1:
        return list(range(total))
    keep = set(range(0, total, step))
    for inv in inversions:
        keep.update((inv.late_position - 1, inv.overtaken_position - 1))
    return sorted(i for i in keep if 0 <= i < total)


def commit_order_figure(info: CommitOrderInfo, *, max_pairs: int = 2_000) -> go.Figure:
    """Time against log position; inverted pairs joined by a red segment.

    A button swaps the time axis for commit order, which shows millisecond races in a run
    that also waited for minutes.
    """
    fig = go.Figure()
    types = np.array(info.event_types)
    pos = np.array(info.positions, dtype=np.int32)
    times = np.array(info.times_ms, dtype=np.float64)
    ranks = np.array(info.ranks, dtype=np.int32)
    for etype in sorted(set(info.event_types)):
        sel = types == etype
        fig.add_trace(
            go.Scatter(
                name=esc(etype),
                x=pos[sel],
                y=times[sel],
                customdata=ranks[sel],
                mode="markers",
                marker={"color": event_colour(etype), "size": 6},
                hovertemplate=f"<b>{esc_template(etype)}</b> #%{{x}}<br>%{{y}}<extra></extra>",
            )
        )
    pairs = info.inversions[:max_pairs]
    if pairs:
        fig.add_trace(_pair_trace(info, pairs))
    _layout(fig, info, len(pairs))
    return fig


def _layout(fig: go.Figure, info: CommitOrderInfo, pairs: int) -> None:
    title = f"Commit order vs log order: {plural(len(info.inversions), 'inversion')}"
    if info.inversions:
        title += f" (largest {info.max_lag_ms:,} ms)"
    time_title = f"{info.basis} (UTC)"
    fig.update_layout(
        **base_layout(title, height=460),
        updatemenus=[
            axis_toggle(
                "y",
                (f"y = {info.basis}", "date", time_title),
                ("y = commit order", "linear", "commit order (rank)"),
            )
        ],
    )
    fig.update_xaxes(title_text="position in eventId (replay) order", rangemode="tozero")
    fig.update_yaxes(type="date", title_text=time_title)
    notes = [info.note] if info.note else []
    if pairs < len(info.inversions):
        notes.append(f"the {pairs:,} first of {len(info.inversions):,} inversions are joined")
    add_note(fig, "; ".join(notes) or None)


def _pair_trace(info: CommitOrderInfo, pairs: Sequence[Inversion]) -> go.Scatter:
    at = dict(zip(info.positions, info.times_ms, strict=True))
    rank = dict(zip(info.positions, info.ranks, strict=True))
    xs: list[int | None] = []
    ys: list[int | None] = []
    ranks: list[int | None] = []
    text: list[str | None] = []
    for inv in pairs:
        xs += [inv.late_position, inv.overtaken_position, None]
        ys += [at[inv.late_position], at[inv.overtaken_position], None]
        ranks += [rank[inv.late_position], rank[inv.overtaken_position], None]
        late = f"#{inv.late_position} {esc(inv.late_event_type)} {esc(inv.late_event_id)}"
        over = (
            f"#{inv.overtaken_position} {esc(inv.overtaken_event_type)}"
            f" {esc(inv.overtaken_event_id)}"
        )
        tip = f"{late}<br>committed {inv.lag_ms:,} ms after<br>{over}"
        text += [tip, tip, None]
    return go.Scatter(
        name="inversion (late commit → overtaken)",
        x=f8(xs),
        y=f8(ys),
        customdata=f4(ranks),
        text=strs(text),
        mode="lines+markers",
        line={"color": ALARM, "width": 2},
        marker={
            "color": ALARM,
            "size": 10 if len(pairs) <= 100 else 5,
            "symbol": "circle-open",
            "line": {"width": 2 if len(pairs) <= 100 else 1},
        },
        hovertemplate="%{text}<extra></extra>",
    )
