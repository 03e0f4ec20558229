"""Run-level detectors: lifecycle, the runtime's corrupted-log errors, slot holes; verdicts."""

from __future__ import annotations

import json

from dsl import RUN, ev
from findings_dsl import E012, completed, e, found, load, opening, step, unconsumed, verdicts

from forensics.analysis.engine import check
from forensics.store import Store


def test_empty_log_gives_no_lifecycle_finding(tmp_store: Store) -> None:
    assert found(tmp_store) == []


def test_log_without_run_created_is_inconclusive(tmp_store: Store) -> None:
    load(tmp_store, [ev(2, "run_started"), *step(3, "step_A"), completed(6)])
    problem = check(tmp_store).findings[0].evidence["problem"]
    assert (found(tmp_store), problem) == (
        [("run-lifecycle", "warning", None, (e(2),), (), None)],
        "no-run-created",
    )
    assert verdicts(tmp_store) == {
        RUN: ("inconclusive", "the log has no run_created: only part of the run was imported")
    }


def test_several_terminals_and_events_after_the_terminal(tmp_store: Store) -> None:
    events = [
        *opening(),
        completed(3),
        *step(4, "step_A"),
        ev(7, "run_failed", None, {"errorCode": "USER_ERROR"}),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == [
        ("run-lifecycle", "error", None, (e(3), e(7)), (), None),
        ("run-lifecycle", "warning", None, (e(3), e(4)), (), None),
    ]


def test_late_reports_after_a_cancellation_are_benign(tmp_store: Store) -> None:
    name = {"stepName": "s"}
    events = [
        *opening(),
        ev(3, "step_created", "step_A", name),
        ev(4, "step_started", "step_A", name),
        ev(5, "wait_created", "wait_W", {"resumeAt": "2026-11-21T10:00:00.000Z"}),
        ev(6, "run_cancelled"),
        ev(7, "step_completed", "step_A", name),
    ]
    load(tmp_store, events)
    assert (found(tmp_store), verdicts(tmp_store)) == ([], {RUN: ("ok", None)})


def _failed(n: int, message: str, code: str = "CORRUPTED_EVENT_LOG") -> object:
    payload = {"message": message, "stack": f"Error: {message}"}
    return ev(n, "run_failed", None, {"errorCode": code}, payload_field="error",
              payload_decoded=payload, payload_format="devl")  # fmt: skip


def test_corrupted_log_error_names_an_event_that_exists(tmp_store: Store) -> None:
    message = unconsumed("step_started", "step_A", 6)
    events = [*opening(), *step(3, "step_A"), ev(6, "step_started", "step_A", {"stepName": "x"}),
              _failed(7, message, "RUNTIME_ERROR")]  # fmt: skip
    load(tmp_store, events)
    result = check(tmp_store, codes=["corrupted-log-error"])
    evidence = {k: v for k, v in result.findings[0].evidence.items() if k != "events"}
    assert [(f.code, f.event_ids, f.fatal_in, f.replay_message) for f in result.findings] == [
        ("corrupted-log-error", (e(6), e(7)), ("E0", "E1"), message)
    ]
    assert evidence == {
        "error_code": "RUNTIME_ERROR",
        "message": message,
        "parsed": {"kind": "unconsumed", "event_type": "step_started",
                   "correlation_id": "step_A", "event_id": e(6)},
        "blamed_event": e(6),
        "blamed_event_exists": True,
        "findings_on_event": ["event-after-terminal", "step-name-conflict"],
        "judged_in": "E1-E2 (workflow 4.x, spec 3)",
    }  # fmt: skip


def test_corrupted_log_error_by_step_names_and_missing_events(tmp_store: Store) -> None:
    mismatch = (
        'Corrupted event log: step event step_created for step_A belongs to "a",'
        ' but the current step consumer is "b"'
    )
    diverged = (
        "Workflow replay diverged 4 times after 3 recovery replays; latest divergent event was"
        " evnt_gone. Last divergence: Replay could not consume event: eventType=step_completed,"
        " correlationId=step_B, eventId=evnt_gone."
    )
    runs = {"wrun_1": mismatch, "wrun_2": diverged}
    for run, message in runs.items():
        events = [
            ev(1, "run_created", run=run),
            ev(2, "step_created", "step_A", {"stepName": "a"}, run=run),
            ev(3, "run_failed", None, {"errorCode": "CORRUPTED_EVENT_LOG"}, run=run,
               payload_decoded={"message": message}),
        ]  # fmt: skip
        load(tmp_store, events, where=run)
    result = check(tmp_store)
    assert [(f.run_id, f.event_ids, f.fatal_in, f.evidence["blamed_event"]) for f in
            result.findings] == [
        ("wrun_1", (e(2), e(3)), ("E0", "E1"), e(2)),
        ("wrun_2", (e(3),), ("E2", "E3", "E4"), None),
    ]  # fmt: skip
    assert json.dumps(result.findings[1].evidence["parsed"], sort_keys=True) == json.dumps(
        {"kind": "unconsumed", "event_type": "step_completed", "correlation_id": "step_B",
         "event_id": "evnt_gone", "divergences": 4, "recovery_replays": 3}, sort_keys=True
    )  # fmt: skip


def _slot(n: int) -> str:
    return f"evnt_{n:026d}"


def test_slot_hole_below_the_highest_real_event(tmp_store: Store) -> None:
    kinds = {1: "run_created", 2: "run_started", 4: "noop", 6: "run_completed", 8: "noop"}
    events = [ev(n, t, event_id=_slot(n), spec_version=6) for n, t in kinds.items()]
    load(tmp_store, events)
    result = check(tmp_store)
    assert [(f.code, f.event_ids, f.evidence["missing_slots"]) for f in result.findings] == [
        ("slot-hole", (_slot(2), _slot(4)), [[3, 3], [5, 5]])
    ]
    assert verdicts(tmp_store) == {RUN: ("inconclusive", "slots are missing from the log")}


def test_a_run_record_without_events_is_inconclusive(tmp_store: Store) -> None:
    from findings_dsl import record

    load(tmp_store, [], runs=[record(status="running")])
    assert verdicts(tmp_store) == {RUN: ("inconclusive", "no events of this run are in the store")}


__all__ = ["E012"]
