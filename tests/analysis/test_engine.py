"""`check` as a whole: only stale runs are analysed again, ids are stable, filters, storage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dsl import RUN, ev
from findings_dsl import completed, e, load, opening, step

from forensics.analysis.engine import check
from forensics.analysis.hits import finding_id
from forensics.analysis.scan import Settings
from forensics.store import Store

OTHER = "wrun_01M7YNNAST44YFK7BMMFBCW7YQ"
NAME = {"stepName": "step//./workflows/demo//work"}


def _late_start(run: str = RUN) -> list[object]:
    return [
        *opening(run=run),
        *step(3, "step_A", run=run),
        ev(6, "step_started", "step_A", NAME, run=run),
        completed(7, run=run),
    ]


def test_only_stale_runs_are_analysed_again(tmp_store: Store) -> None:
    load(tmp_store, _late_start())
    assert check(tmp_store).analysed == 1
    assert check(tmp_store).analysed == 0
    load(tmp_store, [*opening(run=OTHER), completed(3, run=OTHER)], where="second")
    assert check(tmp_store).analysed == 1
    load(tmp_store, _late_start(), where="same events again")
    assert check(tmp_store).analysed == 0
    load(tmp_store, [ev(8, "run_completed", run=OTHER)], where="one more event")
    assert check(tmp_store).analysed == 1
    assert check(tmp_store, settings=Settings(race_window_ms=10)).analysed == 2


def test_results_are_stored_for_sql(tmp_store: Store) -> None:
    load(tmp_store, _late_start())
    check(tmp_store)
    assert tmp_store.query("SELECT code, event_ids, fatal_in FROM findings")[1] == [
        ("event-after-terminal", [e(5), e(6)], ["E0", "E1", "E2"])
    ]
    assert tmp_store.query("SELECT run_id, verdict, reason FROM run_verdicts")[1] == [
        (RUN, "anomalous", None)
    ]


def test_finding_ids_are_stable_across_stores(tmp_path: Path) -> None:
    ids = []
    for name in ("one", "two"):
        with Store(tmp_path / f"{name}.duckdb") as store:
            load(store, _late_start(), where=name)
            ids.append([f.finding_id for f in check(store).findings])
    expected = finding_id("event-after-terminal", RUN, (e(5), e(6)), "step_A")
    assert ids == [[expected], [expected]]
    assert expected.startswith("F") and len(expected) == 17


def test_code_run_and_date_filters(tmp_store: Store) -> None:
    load(tmp_store, _late_start())
    load(tmp_store, _late_start(run=OTHER), where="other")
    assert {f.run_id for f in check(tmp_store, run_ids=[OTHER]).findings} == {OTHER}
    assert [v.run_id for v in check(tmp_store, run_ids=[OTHER]).runs] == [OTHER]
    filtered = check(tmp_store, codes=["stuck-step"])
    assert (filtered.findings, filtered.anomalous, len(filtered.runs)) == ((), False, 2)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    assert check(tmp_store, since=later).runs == ()
    assert len(check(tmp_store, since=datetime(2020, 1, 1, tzinfo=UTC)).runs) == 2


def test_explanations_are_rendered_from_the_witness(tmp_store: Store) -> None:
    load(tmp_store, _late_start())
    [finding] = check(tmp_store).findings
    assert finding.explanation == (
        "#6 (step_started) arrives after #5, the entity's terminal event, so no replay"
        " consumer is left for it. A replay in runtime era E0-E2 (E0 (up to Nov 2025, workflow"
        " 4.0 betas, spec 1); E1 (Apr-May 2026, workflow 4.x, spec 2-5); E2 (Jun-Jul 2026,"
        " workflow 4.x)) stops with `Unconsumed event in event log: eventType=step_started,"
        f" correlationId=step_A, eventId={e(6)}. This indicates a corrupted or invalid event"
        " log.` E3-E4 skips a repeat of an event class already consumed."
        " The run is judged in E1-E2 (workflow 4.x, spec 3)."
        f" Witnesses: #5 step_completed {e(5)}, 09:00:00.005; #6 step_started {e(6)},"
        " 09:00:00.006."
    )
    assert finding.evidence["events"][1] == {
        "event_id": e(6),
        "event_type": "step_started",
        "correlation_id": "step_A",
        "created_at": "2026-11-21T09:00:00.006Z",
        "position": 6,
    }
