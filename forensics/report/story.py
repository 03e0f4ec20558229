"""The top of the run report: the incident story, told as `forensics story` tells it.

The section's intro is the headline; under it the root cause, the writers, the critical
window in commit order, the blast radius, what each fence design would have done and the
other findings, as tables, then the replay swimlane. A healthy run gets its one line.
"""

from __future__ import annotations

import plotly.graph_objects as go

from forensics.model import Story, StoryEvent
from forensics.replay.replays import RunReplays
from forensics.report.page import Cell, Link, Section, Table
from forensics.report.swimlane import swimlane_figure, swimlane_info


def _ref(e: StoryEvent | None) -> str:
    return f"#{e.position} {e.label}" if e else ""


def _clock(at: object) -> str:
    return f"{at:%H:%M:%S.%f}"[:-3] if at is not None else ""


def story_section(rr: RunReplays, story: Story) -> Section:
    """The story as the report's first section (with the swimlane when replays took part)."""
    cause = story.root_cause
    if cause is None:
        return Section("story", "What happened", story.headline)
    tables = [
        Table(("code", "event", "what went wrong", "finding"),
              ((cause.code, _ref(cause.event), cause.summary, Link("details", "#findings")),),
              "Root cause"),
        _writers(story),
        _window(story),
        Table(("failed replays", "first failure", "last failure", "similar runs"),
              ((story.blast_radius.failed_replays, _clock(story.blast_radius.first_failure_at),
                _clock(story.blast_radius.last_failure_at),
                ", ".join(story.blast_radius.similar_runs) or "none"),), "Blast radius"),
        Table(("design", "would reject the write", "would have prevented it"),
              tuple((d.design, _yes(d.would_reject), _yes(d.prevents))
                    for d in story.prevention), "What would have prevented it"),
        Table(("code", "severity", "count"), tuple(story.other_findings) or (("none", "", 0),),
              "Everything else (details under Findings)"),
    ]  # fmt: skip
    figures: tuple[go.Figure, ...] = ()
    if story.writers:
        figures = (swimlane_figure(swimlane_info(rr, story)),)
    intro = f"{story.headline} {story.exactness_note}."
    return Section("story", "What happened", intro, figures=figures, tables=tuple(tables))


def _yes(value: bool | None) -> str:
    return "cannot tell" if value is None else "yes" if value else "no"


def _writers(story: Story) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for w in story.writers:
        missed = ", ".join(
            _ref(e) + (f" ({ms} ms before)" if ms is not None else "") for e, ms in w.missed
        )
        who = w.replay + (f" (+{len(w.replays) - 1})" if len(w.replays) > 1 else "")
        snap = "exact" if w.exact else "inferred"
        rows.append((w.role, who, f"{w.loaded} events, {snap}", _ref(w.tail), missed, w.note))
    columns = ("role", "replay", "snapshot", "tail", "missed", "what it did")
    return Table(columns, tuple(rows), "Writers: who raced whom")


def _window(story: Story) -> Table:
    rows = tuple(
        (_clock(m.at), m.kind, _ref(m.event) if m.kind != "read" else "", m.writer or "", m.note)
        for m in story.window
    )
    return Table(("time", "kind", "event", "writer", "note"), rows,
                 "Critical window in commit order")  # fmt: skip
