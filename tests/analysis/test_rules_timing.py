"""Timing detectors: mint vs commit inversions, guard blind spots and race windows."""

from __future__ import annotations

import json
from pathlib import Path

from dsl import RUN, ev
from findings_dsl import at, completed, e, found, load, opening, step

from forensics.analysis.engine import check
from forensics.analysis.scan import Settings
from forensics.importers.trace import import_traces
from forensics.store import Store

NAME = {"stepName": "step//./workflows/demo//work"}


def test_empty_log_has_no_timing_findings(tmp_store: Store) -> None:
    assert found(tmp_store) == []


def test_a_late_commit_is_an_inversion_and_a_guard_blind_spot(tmp_store: Store) -> None:
    events = [
        *opening(),
        ev(3, "step_created", "step_A", NAME),
        ev(4, "step_started", "step_A", NAME),
        ev(5, "step_completed", "step_A", NAME, write_time=at(5, seconds=2)),
        *step(6, "step_B"),
        completed(9),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == [
        ("guard-blind-spot", "warning", None, (e(5), e(6)), (), None),
        ("mint-commit-inversion", "warning", None, (e(5), e(6)), (), None),
    ]
    inversion = check(tmp_store, codes=["mint-commit-inversion"]).findings[0].evidence
    assert (inversion["inversion_ms"], inversion["tolerance_ms"]) == (1999, 1000)


def test_inversions_within_the_tolerance_are_not_reported(tmp_store: Store) -> None:
    events = [
        *opening(),
        *step(3, "step_A"),
        ev(6, "step_created", "step_B", NAME, created_at=at(6, milliseconds=900)),
        ev(7, "step_started", "step_B", NAME, created_at=at(7, milliseconds=900)),
        ev(8, "step_completed", "step_B", NAME),
        completed(9),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == []
    # both late commits sort before step 8; one finding per earlier-committed event
    assert found(tmp_store, settings=Settings(inversion_tolerance_ms=100)) == [
        ("mint-commit-inversion", "warning", None, (e(6), e(8)), (), None)
    ]


def _race(gap_ms: int, *, hook_written_ms: int | None = None) -> list[object]:
    """A hook and a sleep resolving `gap_ms` apart; the hook's write lands `hook_written_ms`
    after its creation time when given (a commit that lags its mint)."""
    late = None if hook_written_ms is None else at(100 + hook_written_ms)
    return [
        *opening(),
        ev(3, "hook_created", "hook_H", {"token": "t"}),
        ev(4, "wait_created", "wait_W", {"resumeAt": "2026-11-21T09:00:30.000Z"}),
        ev(100, "hook_received", "hook_H", {"token": "t"}, write_time=late),
        ev(101, "wait_completed", "wait_W", {"resumeAt": "2026-11-21T09:00:30.000Z"},
           created_at=at(100 + gap_ms)),
        ev(102, "step_created", "step_S", NAME, created_at=at(110 + gap_ms)),
    ]  # fmt: skip


def test_race_window_when_the_second_resolution_committed_first(tmp_store: Store) -> None:
    load(tmp_store, _race(5, hook_written_ms=8))  # the sleep's completion was visible alone
    result = check(tmp_store)
    assert [(f.code, f.severity, f.event_ids) for f in result.findings] == [
        ("race-window", "warning", (e(100), e(101), e(102)))
    ]
    assert result.findings[0].evidence["gap_ms"] == -3
    assert result.findings[0].evidence["shown_by"] == "commit order"


def test_close_resolutions_in_commit_order_are_no_race(tmp_store: Store) -> None:
    """A snapshot holding only the first-sorted resolution picks the branch every later
    replay picks: closeness alone proves nothing (the real 4.8.9 logs have such pairs)."""
    load(tmp_store, _race(5))
    assert found(tmp_store) == []


def test_no_race_when_the_resolutions_are_far_apart(tmp_store: Store) -> None:
    load(tmp_store, _race(130))
    assert found(tmp_store) == []
    assert [v.verdict for v in check(tmp_store).runs] == ["ok"]


def test_parallel_steps_resolving_together_are_not_a_race(tmp_store: Store) -> None:
    events = [
        *opening(),
        *[ev(3 + i, "step_created", f"step_{i}", NAME) for i in range(3)],
        *[ev(10 + i, "step_completed", f"step_{i}", NAME) for i in range(3)],
        ev(20, "step_created", "step_9", NAME),
    ]
    load(tmp_store, events)
    assert (found(tmp_store), RUN) == ([], RUN)


def _traced(tmp_store: Store, tmp_path: Path, loaded: list[int]) -> None:
    """One traced replay of the `_race(5)` run that loaded the events numbered `loaded`."""
    events = [
        {"i": e(n), "t": t, **({"c": c} if c else {})}
        for n, t, c in ((1, "run_created", None), (2, "run_started", None),
                        (3, "hook_created", "hook_H"), (4, "wait_created", "wait_W"),
                        (100, "hook_received", "hook_H"), (101, "wait_completed", "wait_W"))
        if n in loaded
    ]  # fmt: skip
    line = {"k": "replay_start", "runId": RUN, "inv": 1, "pid": 8, "eventCount": len(events),
            "workflowName": "workflow//./workflows/demo//flow", "events": events}  # fmt: skip
    (tmp_path / "t.log").write_text("WF_TRACE " + json.dumps(line) + "\n")
    import_traces(tmp_store, [tmp_path / "t.log"])


def test_race_window_when_a_traced_replay_loaded_the_second_resolution_alone(
    tmp_store: Store, tmp_path: Path
) -> None:
    load(tmp_store, _race(5))  # in commit order: only the trace shows the race
    _traced(tmp_store, tmp_path, [1, 2, 3, 4, 101])
    (finding,) = check(tmp_store, codes=["race-window"]).findings
    assert finding.event_ids == (e(100), e(101), e(102))
    assert finding.evidence["shown_by"] == "trace"


def test_no_race_when_every_traced_replay_that_loaded_the_second_loaded_the_first(
    tmp_store: Store, tmp_path: Path
) -> None:
    load(tmp_store, _race(5))
    _traced(tmp_store, tmp_path, [1, 2, 3, 4, 100, 101])
    assert check(tmp_store, codes=["race-window"]).findings == ()
