"""The run report: one self-contained HTML page about one run, for the incident ticket.

`write_run_report` gathers every `*_info` of the run, draws each with its `*_figure` and
hands the sections to the page builder. The header says what run this is and how it ended;
the incident story comes first (with the replay swimlane), then the findings, root causes
first, each linking to the figures that show its witnesses; the timeline and the fence
chain open on the critical window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go

from forensics.analysis.ranks import DEFAULT_MIN_SEVERITY, rank, select
from forensics.errors import InputError
from forensics.model import Story
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.story import build_story
from forensics.report._query import Con, fetch, iso_ms, plural
from forensics.report.commit_order import commit_order_figure, commit_order_info
from forensics.report.diff import diff_info
from forensics.report.fences import fences_figure, fences_info
from forensics.report.findings import FindingInfo, findings_info, witness_map
from forensics.report.header import RunHeaderInfo, run_header_info
from forensics.report.page import Card, Cell, Link, Page, Section, write_page
from forensics.report.replays import replays_info
from forensics.report.replays_figure import replays_figure
from forensics.report.run_sections import diff_section, fences_section, replays_section
from forensics.report.story import story_section
from forensics.report.style import SEVERITY_COLOURS
from forensics.report.timeline import timeline_info
from forensics.report.timeline_figure import timeline_figure
from forensics.store.findings import run_results


@dataclass(frozen=True, slots=True)
class FindingFilter:
    """Which finding cards the run report shows (the story and the figures see them all)."""

    min_severity: str = DEFAULT_MIN_SEVERITY
    codes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def apply(self, findings: tuple[FindingInfo, ...]) -> tuple[FindingInfo, ...]:
        kept = select(findings, min_severity=self.min_severity, codes=self.codes or None,
                      exclude=self.exclude)  # fmt: skip
        return tuple(sorted(kept, key=rank))


RUN_FIGURES: dict[str, Callable[[Con, str], go.Figure]] = {
    "timeline": lambda con, run_id: timeline_figure(
        timeline_info(con, run_id, witnesses=witness_map(findings_info(con, run_id)))
    ),
    "commit-order": lambda con, run_id: commit_order_figure(commit_order_info(con, run_id)),
    "replays": lambda con, run_id: replays_figure(replays_info(run_replays(con, run_id))),
    "fences": lambda con, run_id: fences_figure(fences_info(run_replays(con, run_id))),
}


def write_run_report(
    con: Con,
    run_id: str,
    path: Path,
    *,
    diff: tuple[str, str] | None = None,
    now: datetime | None = None,
    shown: FindingFilter | None = None,
) -> Path:
    """Write the HTML report of `run_id` to `path`; returns `path`."""
    page = run_report_page(con, run_id, diff=diff, now=now, shown=shown)
    return write_page(page, Path(path))


def run_report_page(
    con: Con,
    run_id: str,
    *,
    diff: tuple[str, str] | None = None,
    now: datetime | None = None,
    shown: FindingFilter | None = None,
) -> Page:
    """The run report as page data (sections with their figures)."""
    require_run(con, run_id)
    header = run_header_info(con, run_id)
    findings = findings_info(con, run_id)
    rr: RunReplays = run_replays(con, run_id)
    stored, verdict = run_results(con, run_id)
    story = build_story(con, run_id, stored, verdict)
    sections = [
        story_section(rr, story),
        findings_section(header, (shown or FindingFilter()).apply(findings), len(findings)),
        _timeline_section(con, run_id, findings, story),
        _commit_order_section(con, run_id),
        replays_section(replays_info(rr)),
        fences_section(fences_info(rr), story),
    ]
    if diff is not None:
        sections.append(diff_section(diff_info(rr, *diff)))
    return Page(
        title=f"Run {run_id}",
        facts=header_facts(header),
        sections=tuple(sections),
        generated_at=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%SZ"),
        footer=("Written by forensics report. Times are UTC.",),
    )


def require_run(con: Con, run_id: str) -> None:
    """Raise an input error naming the run when the store does not hold it."""
    if not fetch(con, "SELECT 1 AS x FROM runs WHERE run_id = ?", [run_id]):
        raise InputError(f"no run {run_id!r} in the store", hint="list runs with `forensics runs`")


def header_facts(h: RunHeaderInfo) -> tuple[tuple[str, Cell], ...]:
    """The header's label/value pairs, in reading order."""
    verdict = h.verdict or "not analysed (run `forensics check`)"
    if h.verdict_reason:
        verdict += f": {h.verdict_reason}"
    findings = ", ".join(plural(n, sev) for sev, n in h.findings_by_severity) or "none"
    sources = "; ".join(
        f"{s.source_kind} {s.location} ({s.events:,} events, import {s.import_id})"
        for s in h.sources
    )
    span = f"{iso_ms(h.first_event_ms)} → {iso_ms(h.last_event_ms)}"
    return (
        ("workflow", h.workflow_name or "unknown"),
        ("status", h.status),
        ("verdict", verdict),
        ("findings", findings),
        (
            "counts",
            " · ".join(
                (
                    plural(h.event_count, "event"),
                    plural(h.steps, "step"),
                    plural(h.hooks, "hook"),
                    plural(h.waits, "wait"),
                    f"{h.staged_events:,} staged",
                    plural(h.conflicting_events, "conflicting copy").replace("copys", "copies"),
                )
            ),
        ),
        ("spec version", h.spec_version),
        ("events span", span),
        ("sources", sources),
    )


# Which figures show what a finding of each detector family is about (the timeline always).
FAMILY_FIGURES = {
    "timing": (
        ("commit order", "#commit-order"),
        ("replays", "#replays"),
        ("fence chain", "#fences"),
    ),
    "run": (("replays", "#replays"), ("fence chain", "#fences")),
    "identity": (("replays", "#replays"), ("fence chain", "#fences")),
    "lifecycle": (("replays", "#replays"),),
}


def findings_section(
    header: RunHeaderInfo, findings: tuple[FindingInfo, ...], total: int | None = None
) -> Section:
    cards = tuple(_card(n, f) for n, f in enumerate(findings, start=1))
    hidden = (total or len(findings)) - len(findings)
    if header.verdict is None:
        intro = (
            "This run has not been analysed: run `forensics check`, then write the report again."
        )
    elif not findings:
        intro = f"No findings: the analysis says {header.verdict}."
        if header.verdict_reason:
            intro += f" {header.verdict_reason}."
    else:
        intro = (
            f"The analysis says {header.verdict}"
            + (f" ({header.verdict_reason})" if header.verdict_reason else "")
            + ". Each finding names its witness events (ringed in red on the timeline) and"
            " links to the figures that show them; the root cause comes first."
        )
    if hidden:
        intro += (
            f" {hidden} more (info, or left out by code) are not shown: write the report with"
            " --min-severity info to see them."
        )
    return Section("findings", "Findings", intro, cards=cards)


def _card(n: int, f: FindingInfo) -> Card:
    where = ", ".join(
        f"#{p} {e}" if p is not None else f"{e} (not in the log)"
        for e, p in zip(f.event_ids, f.positions, strict=True)
    )
    body = [f.explanation] if f.explanation else []
    if f.fatal_in:
        body.append(
            f"Fatal in {', '.join(f.fatal_in)}"
            + (f"; a replay would report: {f.replay_message}" if f.replay_message else ".")
        )
    if f.invariants:
        body.append(f"Breaks world-sim invariant {', '.join(f.invariants)}.")
    body.append(f"Witness events: {where}." if where else "No witness event.")
    links = (
        Link("timeline", "#timeline"),
        *(Link(text, href) for text, href in FAMILY_FIGURES.get(f.family, ())),
    )
    title = f.code + (f" on {f.correlation_id}" if f.correlation_id else "")
    colour = SEVERITY_COLOURS.get(f.severity, "#777777")
    return Card(f"finding-{n}", f.severity, colour, title, tuple(body), links)


def _timeline_section(
    con: Con, run_id: str, findings: tuple[FindingInfo, ...], story: Story | None = None
) -> Section:
    focus = tuple(m.event.position for m in story.window if m.event) if story else ()
    info = timeline_info(con, run_id, witnesses=witness_map(findings), focus=focus)
    return Section(
        anchor="timeline",
        title="Timeline",
        intro=(
            "One lane per correlation id in order of first appearance. Bars are lifecycle"
            " phases (pending → running → retrying → terminal; a hook open until disposed;"
            " a wait sleeping until completed), markers are events at their createdAt,"
            " diamonds are waits' resumeAt, red rings are the witness events of findings."
            " Hover a marker for its log position and event id."
        ),
        figures=(timeline_figure(info),),
    )


def _commit_order_section(con: Con, run_id: str) -> Section:
    info = commit_order_info(con, run_id)
    return Section(
        anchor="commit-order",
        title="Commit order vs log order",
        intro=(
            "Each event's write time against its position in eventId order, which is the"
            " order every replay reads. Without races the points rise left to right. A red"
            " segment joins an event that was committed late (its id was minted earlier) to a"
            " later-sorted event that was already written: a reader between the two commits"
            " saw a log that the final order contradicts."
        ),
        figures=(commit_order_figure(info),),
    )
