"""Header, commit-order, replay, fence and diff data of sample runs, compared whole."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from forensics.demo import SAMPLES_DIR
from forensics.errors import UsageError
from forensics.replay.replays import run_replays
from forensics.report.commit_order import Inversion, commit_order_info
from forensics.report.diff import DiffEvent, DiffSide, diff_info
from forensics.report.fences import ChainLink, DesignWhatIf, fences_info
from forensics.report.header import RunHeaderInfo, SourceInfo, run_header_info
from forensics.report.replays import DigestGroup, ReplayPoint, replays_info
from forensics.store import Store
from tests.dsl import T0, ev
from tests.report.conftest import STALE_TICK
from tests.report.test_timeline import ms

SELF_CONFLICT = "wrun_01M7YP121JCEJ8H18WADNSZSWS"


def test_header_of_the_self_conflict_run(con: duckdb.DuckDBPyConnection) -> None:
    assert run_header_info(con, SELF_CONFLICT) == RunHeaderInfo(
        run_id=SELF_CONFLICT,
        workflow_name="workflow//./workflows/demo//hookWorkflow",
        status="running",
        spec_version=3,
        first_event_ms=1795252324402,
        last_event_ms=1795252324700,
        event_count=7,
        steps=1,
        hooks=1,
        waits=0,
        staged_events=1,  # the resumeHook() waiting under .locks, not in the log
        conflicting_events=0,
        sources=(SourceInfo(5, "world-local", str(SAMPLES_DIR / "world-local-data"), 8),),
        verdict=None,
        verdict_reason=None,
        findings_by_severity=(),
    )


def test_commit_order_of_the_stale_tick_run(con: duckdb.DuckDBPyConnection) -> None:
    info = commit_order_info(con, STALE_TICK)
    assert info.basis == "write time"  # the incident dump records when each item was written
    assert info.positions == info.ranks == (1, 2, 3, 4, 5, 6, 7, 8)
    assert info.times_ms[4:6] == (ms("2026-05-27T14:03:11.215Z"), ms("2026-05-27T14:03:11.220Z"))
    assert (info.inversions, info.max_lag_ms, info.note) == ((), 0, None)


def test_commit_order_finds_late_commits(tmp_store: Store) -> None:
    late = T0 + timedelta(milliseconds=50)
    with tmp_store.begin_import("test", "dsl") as session:
        session.add_events(
            [
                ev(1, "run_created"),
                ev(2, "step_created", "step_A", {"stepName": "a"}, created_at=late),  # minted first
                ev(3, "step_started", "step_A"),
                ev(4, "step_completed", "step_A"),
                ev(5, "run_completed"),
            ]
        )
        session.finish()
    info = commit_order_info(tmp_store.con, "wrun_01M7YNNASS8KVC54EGYKZ763NW")
    ids = [e.event_id for e in (ev(2, "x"), ev(3, "x"), ev(4, "x"), ev(5, "x"))]
    assert info.basis == "createdAt"
    assert info.inversions == (
        Inversion(2, ids[0], "step_created", 3, ids[1], "step_started", 47),
        Inversion(2, ids[0], "step_created", 4, ids[2], "step_completed", 46),
        Inversion(2, ids[0], "step_created", 5, ids[3], "run_completed", 45),
    )
    assert info.ranks == (1, 5, 2, 3, 4)
    assert (
        commit_order_info(
            tmp_store.con, "wrun_01M7YNNASS8KVC54EGYKZ763NW", tolerance_ms=46
        ).inversions
        == info.inversions[:1]
    )
    sampled = commit_order_info(tmp_store.con, "wrun_01M7YNNASS8KVC54EGYKZ763NW", max_points=2)
    assert sampled.positions == (1, 2, 3, 4, 5)  # every inversion's events are kept
    assert sampled.note is None


def test_replays_of_the_stale_tick_run(con: duckdb.DuckDBPyConnection) -> None:
    info = replays_info(run_replays(con, STALE_TICK))
    assert (info.traced, info.reconstructed, info.commit_basis) == (0, 2, "write time")
    t = ms("2026-05-27T14:02:41.208Z")
    assert info.replays[0] == ReplayPoint(
        "r1",
        1,
        "reconstructed",
        "g1",
        "b409ceba53436e32",
        2,
        "evnt_01KSMVX8449JMWTAF2RFYFRWHD",
        t,
        "suspended",
        None,
        (3, 4),
        (t, ms("2026-05-27T14:02:41.390Z")),
        2,
    )
    second = info.replays[1]
    assert (second.loaded, second.log_length_then, second.outcome) == (4, 5, "failed")
    assert second.problem == (
        "step consumer mismatch on step_01KSMVX842381PH1A6YQHQSRRH: the log says note,"
        " the replay allocated processApproval"
    )
    assert info.groups[1] == DigestGroup(
        "g2",
        "e0844269c995eb52",
        4,
        "evnt_01KSMVX8B98FF9Z0JXXTVWFC74",
        1,
        (("failed", 1),),
        ms("2026-05-27T14:03:11.220Z"),
        ms("2026-05-27T14:03:11.220Z"),
    )
    assert [n for _, n in info.log_length] == list(range(1, 9))


def test_fence_chain_of_the_stale_tick_run(con: duckdb.DuckDBPyConnection) -> None:
    info = fences_info(run_replays(con, STALE_TICK))
    assert (len(info.links), info.fenced) == (8, 5)
    assert info.links[5] == ChainLink(
        rank=6,
        position=6,
        event_id="evnt_01KSMVY5FJEXPKK7QBF4H03VFR",
        event_type="wait_completed",
        writer_class="replay-origin",
        writer="r2",
        fence="evnt_01KSMVX8B98FF9Z0JXXTVWFC74",
        fence_position=4,
        fence_source="imported",
        chained_from="evnt_01KSMVY5FC5TV5JPFT1BECJ6WX",
        verdicts=("fence-break", "stale-snapshot-write"),
        missed_positions=(5,),
        symmetry="symmetric",
        cause=None,
    )
    assert info.what_if == (
        DesignWhatIf("tail", "tail fence (lastKnownEventId)", (6,), (6, 7, 8), (), (), 5, 0, True),
        DesignWhatIf(
            "state-updated-at", "stateUpdatedAt", (6, 7, 8), (6, 7, 8), (), (), 5, 0, True
        ),
        DesignWhatIf(
            "state-event-count", "stateEventCount", (6, 7, 8), (6, 7, 8), (), (), 5, 0, True
        ),
        DesignWhatIf(
            "in-band", "in-band count (expectedSeqInBand)", (), (), (6, 7, 8), (), 5, 0, False
        ),
    )


def test_diff_of_two_replays(con: duckdb.DuckDBPyConnection) -> None:
    info = diff_info(run_replays(con, STALE_TICK), "r1", "r2")
    assert info.a == DiffSide("r1", "replay", 2, "b409ceba53436e32", (3, 4))
    assert info.b == DiffSide("r2", "replay", 4, "e0844269c995eb52", (6, 7, 8))
    hook = DiffEvent(
        3,
        "evnt_01KSMVX85KXSM4GKYRQDJ72FDJ",
        "hook_created",
        "hook_01KSMVX842381PH1A6YQHQSRRF",
        None,
    )
    wait = DiffEvent(
        4,
        "evnt_01KSMVX8B98FF9Z0JXXTVWFC74",
        "wait_created",
        "wait_01KSMVX842381PH1A6YQHQSRRG",
        None,
    )
    assert (info.shared, info.only_a, info.only_b, info.moved) == (
        ((1, 1), (2, 2)),
        (),
        (hook, wait),
        (),
    )
    assert info.first_divergence == (3, None, hook)
    with pytest.raises(UsageError, match="is not a replay id"):
        diff_info(run_replays(con, STALE_TICK), "r1", "nope")
