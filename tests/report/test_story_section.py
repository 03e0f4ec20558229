"""The run report tells the story first: headline, tables, the replay swimlane, and figures
that open on the critical window."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import DRAIN_SYNC

from forensics.analysis.engine import check
from forensics.model import Story
from forensics.replay.replays import run_replays
from forensics.replay.story import build_story
from forensics.report.fences import fences_info
from forensics.report.findings import findings_info, witness_map
from forensics.report.run_report import FindingFilter, run_report_page, write_run_report
from forensics.report.run_sections import fences_section
from forensics.report.swimlane import swimlane_figure, swimlane_info
from forensics.report.timeline import timeline_info
from forensics.store import Store
from forensics.store.findings import run_results


@pytest.fixture(scope="module")
def con(
    demo_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The sample store with every run checked (the CLI checks a run before its report)."""
    path = tmp_path_factory.mktemp("story-report") / "checked.duckdb"
    shutil.copy(demo_db, path)
    with Store(path) as store:
        check(store)
        yield store.con


def _story(con: duckdb.DuckDBPyConnection, run_id: str) -> Story:
    findings, verdict = run_results(con, run_id)
    return build_story(con, run_id, findings, verdict)


def test_the_story_is_the_top_of_the_page(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    page = run_report_page(con, DRAIN_SYNC)
    assert [s.anchor for s in page.sections][:3] == ["story", "findings", "timeline"]
    story = page.sections[0]
    assert story.intro.startswith("Failed with CORRUPTED_EVENT_LOG")
    captions = [t.caption for t in story.tables]
    assert captions[:3] == [
        "Root cause",
        "Writers: who raced whom",
        "Critical window in commit order",
    ]
    assert story.tables[0].rows[0][0] == "stale-snapshot-write"
    assert len(story.figures) == 1  # the swimlane
    html = write_run_report(con, DRAIN_SYNC, tmp_path / "r.html").read_text()
    assert html.index('<section id="story">') < html.index('<section id="findings">')
    assert html.count("<script src=") == 0  # still one offline file


def test_the_swimlane_draws_each_replay_and_joins_the_racing_writes(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rr = run_replays(con, DRAIN_SYNC)
    story = _story(con, DRAIN_SYNC)
    info = swimlane_info(rr, story)
    assert info.lanes[:2] == ("r3", "r4")
    assert info.roles["r3"] == "stale"
    kinds = {(m.lane, m.kind) for m in info.marks}
    assert ("r3", "stale write") in kinds and ("r5", "failure") in kinds
    # r3 missed the hook's receipt (from outside); r4 missed r3's creation
    assert [(a.lane, b.lane) for a, b in info.races] == [("r3", "outside"), ("r4", "r3")]
    assert info.lanes[-1] == "outside"
    assert info.focus is not None
    fig = swimlane_figure(info)
    assert fig.layout.xaxis.range is not None


def test_the_timeline_opens_on_the_critical_window(con: duckdb.DuckDBPyConnection) -> None:
    story = _story(con, DRAIN_SYNC)
    focus = tuple(m.event.position for m in story.window if m.event)
    info = timeline_info(
        con, DRAIN_SYNC, witnesses=witness_map(findings_info(con, DRAIN_SYNC)), focus=focus
    )
    assert info.focus is not None
    lo, hi, t0, t1 = info.focus
    assert lo <= hi and t0 <= t1


def test_flagged_writes_rank_the_root_cause_first(con: duckdb.DuckDBPyConnection) -> None:
    story = _story(con, DRAIN_SYNC)
    section = fences_section(fences_info(run_replays(con, DRAIN_SYNC)), story)
    flagged = section.tables[0]
    assert story.root_cause is not None
    assert flagged.rows[0][1] == story.root_cause.event.position
    assert "the root cause first" in (flagged.caption or "")


def test_finding_cards_follow_the_severity_and_code_filters(
    con: duckdb.DuckDBPyConnection,
) -> None:
    page = run_report_page(con, DRAIN_SYNC, shown=FindingFilter(min_severity="error"))
    findings = next(s for s in page.sections if s.anchor == "findings")
    assert {c.badge for c in findings.cards} == {"error"}
    assert findings.cards[0].title.startswith("stale-snapshot-write")  # the root cause first
    assert "more (info, or left out by code) are not shown" in findings.intro
    page = run_report_page(con, DRAIN_SYNC, shown=FindingFilter(codes=("race-window",)))
    cards = next(s for s in page.sections if s.anchor == "findings").cards
    assert [c.title for c in cards] == ["race-window"]
