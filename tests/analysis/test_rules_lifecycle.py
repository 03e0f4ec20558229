"""Entity lifecycle detectors: kind prefixes, creation first, nothing after the terminal,
duplicate creations, several terminals, stuck steps; each from an empty log up."""

from __future__ import annotations

from dsl import ev
from findings_dsl import (
    AFTER_TERMINAL,
    ALL,
    E012,
    completed,
    e,
    found,
    load,
    opening,
    step,
    unconsumed,
    verdicts,
)

from forensics.analysis.engine import check
from forensics.store import Store


def test_empty_store_has_no_runs_and_no_findings(tmp_store: Store) -> None:
    result = check(tmp_store)
    assert (result.runs, result.findings, result.anomalous) == ((), (), False)


def test_healthy_log_is_ok(tmp_store: Store) -> None:
    load(tmp_store, [*opening(), *step(3, "step_A"), *step(6, "step_B"), completed(9)])
    assert found(tmp_store) == []
    assert verdicts(tmp_store) == {"wrun_01M7YNNASS8KVC54EGYKZ763NW": ("ok", None)}


def test_kind_prefix_mismatch(tmp_store: Store) -> None:
    events = [
        *opening(),
        *step(3, "step_A"),
        ev(6, "hook_received", "step_A", {"token": "t"}),
        ev(7, "step_started", None, {"stepName": "x"}),
        completed(8),
    ]
    load(tmp_store, events)
    # Findings come per run by severity, then code, then witness.
    assert found(tmp_store) == [
        ("event-after-terminal", "error", "step_A", (e(5), e(6)), E012,
         unconsumed("hook_received", "step_A", 6)),
        ("kind-prefix-mismatch", "error", "step_A", (e(6),), E012,
         unconsumed("hook_received", "step_A", 6)),
        ("kind-prefix-mismatch", "error", None, (e(7),), ALL, unconsumed("step_started", None, 7)),
    ]  # fmt: skip


def test_missing_creation(tmp_store: Store) -> None:
    events = [
        *opening(),
        *step(3, "step_A"),
        ev(6, "step_started", "step_B", {"stepName": "b"}),
        ev(7, "step_completed", "step_B", {"stepName": "b"}),
        ev(8, "wait_completed", "wait_C", {"resumeAt": "2026-11-21T09:00:01.000Z"}),
        ev(9, "wait_created", "wait_C", {"resumeAt": "2026-11-21T09:00:01.000Z"}),
        completed(10),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == [
        # the wait's creation comes after its terminal event: nothing consumes it then
        ("event-after-terminal", "error", "wait_C", (e(8), e(9)), AFTER_TERMINAL,
         unconsumed("wait_created", "wait_C", 9)),
        ("missing-creation", "warning", "step_B", (e(6),), (), None),
        ("missing-creation", "warning", "wait_C", (e(8), e(9)), (), None),
    ]  # fmt: skip


def test_event_after_terminal_per_era(tmp_store: Store) -> None:
    events = [
        *opening(),
        *step(3, "step_A"),
        ev(6, "step_started", "step_A", {"stepName": "step//./workflows/demo//work"}),
        ev(7, "step_created", "step_R", {"stepName": "r"}),
        ev(8, "step_completed", "step_R", {"stepName": "r"}),
        ev(9, "step_retrying", "step_R", {"stepName": "r"}),
        ev(10, "hook_created", "hook_H", {"token": "t"}),
        ev(11, "hook_disposed", "hook_H", {"token": "t"}),
        ev(12, "hook_received", "hook_H", {"token": "t"}),
        completed(13),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == [
        ("event-after-terminal", "error", "step_A", (e(5), e(6)), E012,
         unconsumed("step_started", "step_A", 6)),
        # a retry was never consumed before, so even E3 has no use for it
        ("event-after-terminal", "error", "step_R", (e(8), e(9)), AFTER_TERMINAL,
         unconsumed("step_retrying", "step_R", 9)),
        ("event-after-terminal", "error", "hook_H", (e(11), e(12)), E012,
         unconsumed("hook_received", "hook_H", 12)),
    ]  # fmt: skip


def test_duplicate_creation_before_and_after_terminal(tmp_store: Store) -> None:
    name = {"stepName": "step//./workflows/demo//work"}
    events = [
        *opening(),
        ev(3, "step_created", "step_A", name),
        ev(4, "step_created", "step_A", name),
        ev(5, "step_started", "step_A", name),
        ev(6, "step_completed", "step_A", name),
        *step(7, "step_B"),
        ev(10, "step_created", "step_B", name),
        completed(11),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == [
        ("duplicate-creation", "error", "step_B", (e(7), e(10)), E012,
         unconsumed("step_created", "step_B", 10)),
        ("event-after-terminal", "error", "step_B", (e(9), e(10)), E012,
         unconsumed("step_created", "step_B", 10)),
        ("duplicate-creation", "warning", "step_A", (e(3), e(4)), (), None),
    ]  # fmt: skip


def test_multiple_terminals(tmp_store: Store) -> None:
    name = {"stepName": "step//./workflows/demo//work"}
    events = [*opening(), *step(3, "step_A"), ev(6, "step_failed", "step_A", name), completed(7)]
    load(tmp_store, events)
    assert found(tmp_store) == [
        ("event-after-terminal", "error", "step_A", (e(5), e(6)), E012,
         unconsumed("step_failed", "step_A", 6)),
        ("multiple-terminals", "error", "step_A", (e(5), e(6)), E012,
         unconsumed("step_failed", "step_A", 6)),
    ]  # fmt: skip


def test_stuck_step_only_once_the_run_ended(tmp_store: Store) -> None:
    name = {"stepName": "step//./workflows/demo//work"}
    stuck = [ev(n, t, "step_S", name) for n, t in
             ((3, "step_created"), (4, "step_started"), (5, "step_started"))]  # fmt: skip
    recovered = [ev(n, t, "step_R", name) for n, t in
                 ((6, "step_created"), (7, "step_started"), (8, "step_started"),
                  (9, "step_completed"))]  # fmt: skip
    load(tmp_store, [*opening(), *stuck, *recovered])
    assert found(tmp_store) == []
    load(tmp_store, [completed(10)], where="later")
    assert found(tmp_store) == [("stuck-step", "warning", "step_S", (e(4), e(5)), (), None)]
