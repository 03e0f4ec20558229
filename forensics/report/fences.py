"""The fence chain of one run and what each fence design would have done with its writes.

`fences_info` flattens the replay engine's chain (every write in commit order with the
fence it carried, the event it chained from and a verdict) and its what-if per design into
plain values. `fences_figure` draws commit rank against log position: a log without races
is the diagonal; each fenced write is joined to the event its fence named, so a fence that
does not name the write's predecessor shows as a long link, and verdicts are coloured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from forensics.replay.fences import FenceRow, fence_chain
from forensics.replay.replays import RunReplays
from forensics.replay.whatif import what_if
from forensics.report._query import MAX_POINTS, ordinal, stride
from forensics.report.style import ALARM, MUTED, add_note, base_layout, esc, f8

FENCE_VERDICT_COLOURS = {
    "ok": "#9aa0a6",
    "stuck-fence": "#7b1fa2",
    "fence-break": ALARM,
    "stale-snapshot-write": "#ff7f0e",
    "unfenced-decision-write": "#bcbd22",
}


_BREAKS = frozenset({"fence-break", "stuck-fence"})
OK_LINKS_UP_TO = 2_000  # beyond, the chain's ordinary links are a solid diagonal: not drawn


@dataclass(frozen=True, slots=True)
class ChainLink:
    rank: int  # 1-based commit position
    position: int  # 1-based log (eventId) position
    event_id: str
    event_type: str
    writer_class: str
    writer: str | None
    fence: str | None
    fence_position: int | None  # None: not fenced, or the fence names no stored event
    fence_source: str | None
    chained_from: str | None
    verdicts: tuple[str, ...]
    missed_positions: tuple[int, ...]
    symmetry: str | None
    cause: str | None


@dataclass(frozen=True, slots=True)
class DesignWhatIf:
    design: str
    title: str
    rejected: tuple[int, ...]  # log positions
    caught: tuple[int, ...]
    missed: tuple[int, ...]
    needless: tuple[int, ...]
    evaluated: int
    unknown: int
    prevented: bool | None


@dataclass(frozen=True, slots=True)
class FencesInfo:
    run_id: str
    commit_basis: str
    links: tuple[ChainLink, ...]
    fenced: int
    what_if: tuple[DesignWhatIf, ...]


def fences_info(rr: RunReplays) -> FencesInfo:
    """The chain and the what-if table of a run's `RunReplays`."""
    log = rr.log
    chain = fence_chain(rr)
    links = [_link(rr, row) for row in chain]
    designs = tuple(
        DesignWhatIf(
            design=d.design,
            title=d.title,
            rejected=tuple(i + 1 for i in d.rejected),
            caught=tuple(i + 1 for i in d.caught),
            missed=tuple(i + 1 for i in d.missed),
            needless=tuple(i + 1 for i in d.needless),
            evaluated=d.evaluated,
            unknown=d.unknown,
            prevented=d.prevented,
        )
        for d in what_if(rr, chain)
    )
    return FencesInfo(
        run_id=log.run_id,
        commit_basis=log.commit_basis,
        links=tuple(links),
        fenced=sum(1 for lk in links if lk.fence is not None),
        what_if=designs,
    )


def _link(rr: RunReplays, row: FenceRow) -> ChainLink:
    log = rr.log
    e = log.events[row.index]
    fence_index = log.by_id.get(row.fence) if row.fence else None
    return ChainLink(
        rank=row.rank,
        position=row.index + 1,
        event_id=e.event_id,
        event_type=e.event_type,
        writer_class=row.writer_class,
        writer=row.writer,
        fence=row.fence,
        fence_position=None if fence_index is None else fence_index + 1,
        fence_source=row.fence_source,
        chained_from=row.chained_from,
        verdicts=row.verdicts,
        missed_positions=tuple(i + 1 for i in row.missed),
        symmetry=row.symmetry,
        cause=row.cause,
    )


def verdict_of(link: ChainLink) -> str:
    return link.verdicts[0] if link.verdicts else "ok"


def fences_figure(info: FencesInfo, *, max_points: int = MAX_POINTS) -> go.Figure:
    """Commit rank against log position, fence links drawn, verdicts coloured."""
    fig = go.Figure()
    rank_of = {lk.position: lk.rank for lk in info.links}
    if len(info.links) <= OK_LINKS_UP_TO:
        fig.add_trace(_fence_links(info.links, rank_of, broken=False))
    fig.add_trace(_fence_links(info.links, rank_of, broken=True))
    missed = _missed_trace(info.links, rank_of)
    if missed is not None:
        fig.add_trace(missed)
    step = stride(len(info.links), max_points)
    for verdict, colour in FENCE_VERDICT_COLOURS.items():
        mine = [lk for lk in info.links if verdict_of(lk) == verdict]
        if verdict == "ok":
            mine = mine[::step]
        if mine:
            fig.add_trace(_verdict_trace(verdict, colour, mine))
    bad = sum(1 for lk in info.links if lk.verdicts)
    title = f"Fence chain: {len(info.links):,} writes, {info.fenced:,} fenced, {bad:,} flagged"
    fig.update_layout(**base_layout(title, height=480))
    fig.update_xaxes(title_text=f"commit order ({info.commit_basis})", rangemode="tozero")
    fig.update_yaxes(title_text="position in eventId (replay) order", rangemode="tozero")
    notes = []
    if step > 1:
        notes.append(f"every {ordinal(step)} ok write drawn; every flagged write is drawn")
    if len(info.links) > OK_LINKS_UP_TO:
        notes.append("only the links of fences that break the chain are drawn")
    if _zoom_on_flagged(fig, info):
        notes.append("zoomed on the flagged writes: double-click the plot to see the whole chain")
    add_note(fig, "; ".join(notes) or None)
    return fig


def _zoom_on_flagged(fig: go.Figure, info: FencesInfo, *, context: int = 12) -> bool:
    """In a long chain, start zoomed on the flagged writes and what they point at."""
    flagged = [lk for lk in info.links if lk.verdicts]
    if not flagged or len(info.links) <= 5 * context:
        return False
    rank_of = {lk.position: lk.rank for lk in info.links}
    points = [(lk.rank, lk.position) for lk in flagged]
    for lk in flagged:
        points += [(rank_of[m], m) for m in lk.missed_positions]
        if lk.fence_position is not None:
            points.append((rank_of[lk.fence_position], lk.fence_position))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    fig.update_xaxes(range=[min(xs) - context, max(xs) + context / 2])
    fig.update_yaxes(range=[min(ys) - context, max(ys) + context / 2])
    return True


def _fence_links(links: Sequence[ChainLink], rank_of: dict[int, int], broken: bool) -> go.Scatter:
    """Arcs from each fenced write back to the event its fence named (longer = more skipped)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for lk in links:
        if lk.fence_position is None or bool(_BREAKS & set(lk.verdicts)) != broken:
            continue
        x0, y0, x1, y1 = rank_of[lk.fence_position], lk.fence_position, lk.rank, lk.position
        bend = 0.3 * max(abs(x1 - x0), abs(y1 - y0))
        xs += [x0, (x0 + x1) / 2 - bend, x1, None]
        ys += [y0, (y0 + y1) / 2 + bend, y1, None]
    return go.Scatter(
        name="fence → write (break)" if broken else "fence → write",
        x=f8(xs),
        y=f8(ys),
        mode="lines",
        line={
            "color": ALARM if broken else MUTED,
            "width": 1.5 if broken else 1,
            "shape": "spline",
        },
        hoverinfo="skip",
    )


def _missed_trace(links: Sequence[ChainLink], rank_of: dict[int, int]) -> go.Scatter | None:
    missed = sorted({m for lk in links for m in lk.missed_positions})
    if not missed:
        return None
    return go.Scatter(
        name="committed, but missed by a snapshot",
        x=[rank_of[m] for m in missed],
        y=missed,
        mode="markers",
        marker={"symbol": "circle-open", "size": 16, "color": "#ff7f0e", "line": {"width": 2}},
        hovertemplate="#%{y} was committed before a write whose snapshot missed it<extra></extra>",
    )


def _verdict_trace(verdict: str, colour: str, mine: Sequence[ChainLink]) -> go.Scatter:
    ok = verdict == "ok"
    return go.Scatter(
        name=verdict,
        x=np.array([lk.rank for lk in mine], dtype=np.int32),
        y=np.array([lk.position for lk in mine], dtype=np.int32),
        text=None if ok else [_hover(lk) for lk in mine],
        mode="markers",
        marker={"color": colour, "size": 7 if ok else 12, "symbol": "circle" if ok else "diamond"},
        hovertemplate="#%{y} committed %{x}: ok<extra></extra>" if ok else "%{text}<extra></extra>",
    )


def _hover(lk: ChainLink) -> str:
    lines = [f"<b>#{lk.position} {esc(lk.event_type)}</b> committed {lk.rank}", esc(lk.event_id)]
    lines.append(f"{lk.writer_class}" + (f" by {esc(lk.writer)}" if lk.writer else ""))
    if lk.fence:
        where = f"#{lk.fence_position}" if lk.fence_position else "never landed"
        lines.append(f"fence {esc(lk.fence)} ({where}, {lk.fence_source})")
    if lk.verdicts:
        lines.append("verdict: " + ", ".join(lk.verdicts))
    if lk.missed_positions:
        lines.append(
            "snapshot missed #"
            + ", #".join(map(str, lk.missed_positions[:10]))
            + (f" ({lk.symmetry})" if lk.symmetry else "")
        )
    return "<br>".join(lines)
