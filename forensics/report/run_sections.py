"""The run report's replay-side sections: replays, fence chain with its what-if, and a diff.

Each builder takes the info its figure draws and adds the tables a reader needs beside it
(digest groups, flagged writes, one row per fence design, the diff's event lists), so the
figure and the tables always say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.model import Story
from forensics.replay.names import short_step
from forensics.report._query import iso_ms
from forensics.report.diff import DiffEvent, DiffInfo, diff_figure
from forensics.report.fences import FencesInfo, fences_figure
from forensics.report.page import Cell, Section, Table
from forensics.report.replays import ReplaysInfo
from forensics.report.replays_figure import replays_figure

TABLE_ROWS = 50


def replays_section(info: ReplaysInfo) -> Section:
    groups = sorted(info.groups, key=lambda g: (-g.replays, g.first_ms or 0))
    rows = tuple(
        (
            g.group,
            g.digest or "",
            g.loaded,
            g.tail_event_id or "",
            g.replays,
            ", ".join(f"{n} {o}" for o, n in g.outcomes),
            iso_ms(g.first_ms),
            iso_ms(g.last_ms),
        )
        for g in groups[:TABLE_ROWS]
    )
    caption = "Digest groups, most replays first"
    if len(groups) > TABLE_ROWS:
        caption += f" (the {TABLE_ROWS} largest of {len(groups):,})"
    columns = ("group", "digest", "events", "tail", "replays", "outcomes", "first", "last")
    tables = [Table(columns, rows, caption)]
    problems = _problems(info)
    if problems:
        tables.append(
            Table(
                ("replays", "group", "events", "outcome", "what went wrong"),
                problems,
                "Replays that failed or diverged, alike ones together",
            )
        )
    if not info.replays:
        intro = "No replay could be traced or reconstructed from this log."
    else:
        intro = (
            "Each replay at its time and the number of events its snapshot held (circles:"
            " traced with WF_TRACE; diamonds: reconstructed from the log's decision writes),"
            " coloured by outcome. The grey step line is the log's length at each moment: a"
            " replay below it decided from a snapshot that missed events already committed."
            " Dotted lines join replays that loaded the same log (same digest); thin lines"
            " lead to the positions of the writes a replay made."
        )
    return Section(
        "replays", "Replays", intro, figures=(replays_figure(info),), tables=tuple(tables)
    )


def _problems(info: ReplaysInfo) -> tuple[tuple[Cell, ...], ...]:
    alike: dict[tuple[str, int | None, str, str], list[str]] = {}
    for p in info.replays:
        if p.problem:
            alike.setdefault((p.group, p.loaded, p.outcome, p.problem), []).append(p.replay_id)
    rows: list[tuple[Cell, ...]] = []
    for (group, loaded, outcome, problem), ids in list(alike.items())[:TABLE_ROWS]:
        named = ", ".join(ids[:4]) + (f" … ({len(ids)} replays)" if len(ids) > 4 else "")
        rows.append((named, group, loaded, outcome, problem))
    return tuple(rows)


def fences_section(info: FencesInfo, story: Story | None = None) -> Section:
    """The chain's figure, its flagged writes (root cause first, then the corrupting verdicts
    in commit order, then the merely unfenced) and the what-if per design."""
    root = story.root_cause.event.position if story and story.root_cause else None
    flagged = sorted(
        (lk for lk in info.links if lk.verdicts),
        key=lambda lk: (lk.position != root, _VERDICT_RANK.get(lk.verdicts[0], 9), lk.rank),
    )
    rows = tuple(
        (
            lk.rank,
            lk.position,
            lk.event_type,
            lk.writer or "",
            lk.fence or "",
            lk.chained_from or "",
            ", ".join(lk.verdicts),
            _missed(lk.missed_positions, lk.symmetry, lk.cause),
        )
        for lk in flagged[:TABLE_ROWS]
    )
    tables = []
    if rows:
        caption = "Flagged writes"
        if len(flagged) > TABLE_ROWS:
            caption += f" (the first {TABLE_ROWS} of {len(flagged):,})"
        caption += ": the root cause first, then by verdict and commit order"
        columns = (
            "commit",
            "log #",
            "type",
            "writer",
            "fence",
            "chained from",
            "verdict",
            "snapshot missed",
        )
        tables.append(Table(columns, rows, caption))
    tables.append(_what_if_table(info))
    intro = (
        "Every write in commit order (x) against its place in eventId order (y): without"
        " races the points lie on the diagonal. A grey line joins each fenced write to the"
        " event its fence named; a write whose fence is not the event committed just before"
        " it is a fence break, a fence that names an event that never landed is stuck. The"
        " table under it says, for each fence design, which writes it would have rejected."
    )
    if not info.fenced:
        intro += " This source recorded no fences; verdicts rest on known snapshots only."
    return Section(
        "fences", "Fence chain", intro, figures=(fences_figure(info),), tables=tuple(tables)
    )


_VERDICT_RANK = {"stale-snapshot-write": 0, "fence-break": 1, "stuck-fence": 2,
                 "unfenced-decision-write": 3}  # fmt: skip


def _missed(positions: Sequence[int], symmetry: str | None, cause: str | None) -> str:
    if not positions:
        return ""
    text = "#" + ", #".join(map(str, positions[:8])) + ("…" if len(positions) > 8 else "")
    extra = ", ".join(x for x in (symmetry, cause) if x)
    return f"{text} ({extra})" if extra else text


def _what_if_table(info: FencesInfo) -> Table:
    def positions(values: Sequence[int]) -> str:
        if not values:
            return "none"
        shown = "#" + ", #".join(map(str, values[:10]))
        return shown + (f" … ({len(values):,})" if len(values) > 10 else "")

    rows: list[tuple[Cell, ...]] = []
    for d in info.what_if:
        if d.prevented is None:
            outcome = "nothing corrupting to prevent"
        else:
            outcome = "would have prevented it" if d.prevented else "would NOT have prevented it"
        rows.append(
            (
                d.title,
                outcome,
                positions(d.rejected),
                positions(d.caught),
                positions(d.missed),
                positions(d.needless),
                f"{d.evaluated:,} known, {d.unknown:,} inferred",
            )
        )
    columns = (
        "design",
        "verdict",
        "rejects",
        "catches",
        "misses",
        "needless rejects",
        "decision writes",
    )
    return Table(columns, tuple(rows), "What each fence design would have done")


def diff_section(info: DiffInfo) -> Section:
    a, b = info.a.label, info.b.label
    tables = [_diff_summary(info)]
    if info.conflicts:
        tables.append(
            Table(
                ("correlation id", f"named in {a}", f"named in {b}"),
                tuple(
                    (cid, ", ".join(map(short_step, x)), ", ".join(map(short_step, y)))
                    for cid, x, y in info.conflicts
                ),
                "Correlation ids the two sides allocate differently (a correlation mismatch)",
            )
        )
    for events, caption in ((info.only_a, f"Only in {a}"), (info.only_b, f"Only in {b}")):
        if events:
            tables.append(_events_table(events, caption))
    if info.moved:
        tables.append(_events_table([m[0] for m in info.moved], f"Moved (positions in {a})"))
    intro = (
        f"{a} against {b}: events are matched by correlation id, type and occurrence, so the"
        " same event is found wherever it sits. " + _first_divergence(info)
    )
    return Section(
        "diff", f"Diff: {a} vs {b}", intro, figures=(diff_figure(info),), tables=tuple(tables)
    )


def _first_divergence(info: DiffInfo) -> str:
    if not info.first_divergence:
        return "The two lists agree."
    pos, ea, eb = info.first_divergence
    return (
        f"They part at position {pos}: {info.a.label} has {_short(ea)},"
        f" {info.b.label} has {_short(eb)}."
    )


def _diff_summary(info: DiffInfo) -> Table:
    rows: tuple[tuple[Cell, ...], ...] = (
        ("events", info.a.events, info.b.events),
        ("digest", info.a.digest or "", info.b.digest or ""),
        ("writes (log #)", _positions(info.a.write_positions), _positions(info.b.write_positions)),
    )
    return Table(("", info.a.label, info.b.label), rows)


def _positions(values: Sequence[int]) -> str:
    return ", ".join(f"#{v}" for v in values[:12]) + ("…" if len(values) > 12 else "") or "none"


def _short(e: DiffEvent | None) -> str:
    if e is None:
        return "(end of list)"
    return f"{e.event_type} {e.correlation_id or ''} {e.event_id}".replace("  ", " ")


def _events_table(events: Sequence[DiffEvent], caption: str) -> Table:
    if len(events) > TABLE_ROWS:
        caption += f" (first {TABLE_ROWS} of {len(events):,})"
    rows = tuple(
        (e.position, e.event_type, e.correlation_id or "", short_step(e.step_name), e.event_id)
        for e in events[:TABLE_ROWS]
    )
    return Table(("#", "type", "correlation id", "step", "event id"), rows, caption)
