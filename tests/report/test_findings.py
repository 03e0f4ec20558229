"""The run report's findings: what `forensics check` stored, with witness positions, on the
timeline and in the page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from forensics.analysis.engine import check
from forensics.report import write_run_report
from forensics.report.findings import findings_info, witness_map
from forensics.report.timeline import timeline_info
from forensics.store import Store
from tests.report.conftest import DRAIN_SYNC


@pytest.fixture
def checked(demo_db: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path / "checked.duckdb"
    shutil.copy(demo_db, path)
    with Store(path) as store:
        check(store, run_ids=[DRAIN_SYNC])
        yield store.con


def test_findings_of_the_drain_sync_run(checked: duckdb.DuckDBPyConnection) -> None:
    found = findings_info(checked, DRAIN_SYNC)
    step = "step_01KSP9BZCDHNR22RCXDDE6MB2J"
    wait = "wait_01KSP9BZCDHNR22RCXDDE6MB2H"
    # the sample's fences (lastKnownEventId) feed the replay engine's findings too
    assert [(f.code, f.family, f.severity, f.correlation_id, f.positions) for f in found] == [
        ("corrupted-log-error", "run", "error", step, (10, 14)),
        ("duplicate-creation", "lifecycle", "error", step, (10, 11)),
        ("fence-break", "replay", "error", wait, (7, 8, 9)),
        ("fence-break", "replay", "error", step, (9, 10, 11)),
        ("replay-mapping-conflict", "replay", "error", step, (10, 11)),
        ("stale-snapshot-write", "replay", "error", step, (8, 9, 10)),
        ("step-name-conflict", "identity", "error", step, (10, 11)),
        ("race-window", "timing", "warning", None, (8, 9, 10)),
    ]
    assert found[0].event_ids == (
        "evnt_01KSP9N4KE696JQ7MBCVNHK30F",
        "evnt_01KSP9N4ZY6K8YKN3WWZYXZFKB",
    )
    assert all(f.explanation for f in found)
    assert all("Witnesses: #" in f.explanation for f in found if f.family != "replay")
    assert not any("Let E1" in f.explanation for f in found)
    # upstream's simulator names the rule the step-name conflict breaks; the others have none
    assert {f.code: f.invariants for f in found if f.invariants} == {
        "step-name-conflict": ("step.created-once",),
        "duplicate-creation": ("step.created-once",),
    }
    assert witness_map(found)["evnt_01KSP9N4KE696JQ7MBCVNHK30F"] == (
        "corrupted-log-error",
        "duplicate-creation",
        "fence-break",
        "replay-mapping-conflict",
        "stale-snapshot-write",
        "step-name-conflict",
        "race-window",
    )


def test_witnesses_are_ringed_on_the_timeline(checked: duckdb.DuckDBPyConnection) -> None:
    info = timeline_info(
        checked, DRAIN_SYNC, witnesses=witness_map(findings_info(checked, DRAIN_SYNC))
    )
    stale = ("fence-break", "stale-snapshot-write", "race-window")
    assert [(m.position, m.witness_of) for m in info.marks if m.witness_of] == [
        (7, ("fence-break",)),
        (8, stale),
        (9, stale),
        (10, ("corrupted-log-error", "duplicate-creation", "fence-break",
              "replay-mapping-conflict", "stale-snapshot-write", "step-name-conflict",
              "race-window")),
        (11, ("duplicate-creation", "fence-break", "replay-mapping-conflict",
              "step-name-conflict")),
        (14, ("corrupted-log-error",)),
    ]  # fmt: skip


def test_page_lists_findings_first_with_links(
    checked: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    html = write_run_report(checked, DRAIN_SYNC, tmp_path / "r.html").read_text()
    assert html.index('<section id="findings">') < html.index('<section id="timeline">')
    assert "<dd>anomalous</dd>" in html
    assert "<dd>7 errors, 1 warning</dd>" in html
    card = html[html.index('id="finding-8"') :]
    card = card[: card.index("</div></div>")]
    assert "race-window" in card
    assert "Witness events: #8 evnt_01KSP9N4JXABVJAZVNQ1HPWS34" in card
    assert [a for a in ("#timeline", "#commit-order", "#replays", "#fences") if a in card] == [
        "#timeline",
        "#commit-order",
        "#replays",
        "#fences",
    ]


def test_unanalysed_run_says_what_to_do(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    html = write_run_report(con, DRAIN_SYNC, tmp_path / "r.html").read_text()
    assert "This run has not been analysed: run `forensics check`" in html.replace("&#x27;", "'")
    assert "<dd>not analysed (run `forensics check`)</dd>" in html.replace("&#x27;", "'")
