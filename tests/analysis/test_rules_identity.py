"""Identity detectors: step names, hook tokens, wait resumeAt and hook self-conflicts."""

from __future__ import annotations

from dsl import ev
from findings_dsl import ALL, completed, e, found, load, opening

from forensics.store import Store

DRAIN = "step//./workflows/inventory//drainQueue"
SYNC = "step//./workflows/inventory//syncInventory"


def test_empty_log_has_no_identity_findings(tmp_store: Store) -> None:
    assert found(tmp_store) == []


def test_two_step_created_with_different_names(tmp_store: Store) -> None:
    events = [
        *opening(),
        ev(3, "step_created", "step_K", {"stepName": DRAIN}),
        ev(4, "step_created", "step_K", {"stepName": SYNC}),
        ev(5, "step_started", "step_K", {"stepName": DRAIN}),
        ev(6, "step_completed", "step_K", {"stepName": DRAIN}),
        completed(7),
    ]
    load(tmp_store, events)
    mismatch = (
        f'Corrupted event log: step event step_created for step_K belongs to "{DRAIN}",'
        f' but the current step consumer is "{SYNC}"'
    )
    assert found(tmp_store) == [
        ("duplicate-creation", "error", "step_K", (e(3), e(4)), ALL, mismatch),
        ("step-name-conflict", "error", "step_K", (e(3), e(4)), ALL, mismatch),
    ]  # one witness, one verdict: both say every era's replay fails on it


def test_a_later_events_step_name_disagrees(tmp_store: Store) -> None:
    events = [
        *opening(),
        ev(3, "step_created", "step_K", {"stepName": DRAIN}),
        ev(4, "step_started", "step_K", {"stepName": DRAIN}),
        ev(5, "step_completed", "step_K", {"stepName": SYNC}),
        completed(6),
    ]
    load(tmp_store, events)
    mismatch = (
        f'Corrupted event log: step event step_created for step_K belongs to "{DRAIN}",'
        f' but the current step consumer is "{SYNC}"'
    )
    assert found(tmp_store) == [
        ("step-name-conflict", "error", "step_K", (e(3), e(5)), ALL, mismatch)
    ]


def test_token_mismatch(tmp_store: Store) -> None:
    events = [
        *opening(),
        ev(3, "hook_created", "hook_H", {"token": "approval:1"}),
        ev(4, "hook_received", "hook_H", {"token": "approval:2"}),
        completed(5),
    ]
    load(tmp_store, events)
    mismatch = (
        'Corrupted event log: hook event hook_received for hook_H belongs to token "approval:2",'
        ' but the current hook consumer expects "approval:1"'
    )
    assert found(tmp_store) == [("token-mismatch", "error", "hook_H", (e(3), e(4)), ALL, mismatch)]


def test_resume_at_mismatch_but_not_an_early_wake_up(tmp_store: Store) -> None:
    events = [
        *opening(),
        ev(3, "wait_created", "wait_W", {"resumeAt": "2026-11-21T09:06:48.797Z"}),
        ev(4, "wait_completed", "wait_W", {"resumeAt": "2026-11-21T09:06:48.798Z"}),
        # wakeUp(): completed long before resumeAt, with the same resumeAt: benign
        ev(5, "wait_created", "wait_U", {"resumeAt": "2026-11-21T10:00:00.000Z"}),
        ev(6, "wait_completed", "wait_U", {"resumeAt": "2026-11-21T10:00:00Z"}),
        completed(7),
    ]
    load(tmp_store, events)
    mismatch = (
        "Replay divergence: wait_completed event for wait_W has resumeAt"
        ' "2026-11-21T09:06:48.798Z", but the current wait consumer expects'
        ' "2026-11-21T09:06:48.797Z"'
    )
    assert found(tmp_store) == [
        ("resume-at-mismatch", "error", "wait_W", (e(3), e(4)), ("E2", "E3", "E4"), mismatch)
    ]


def test_hook_self_conflict(tmp_store: Store) -> None:
    events = [
        *opening(),
        ev(3, "hook_created", "hook_H", {"token": "approval:1"}),
        ev(4, "hook_conflict", "hook_H", {"token": "approval:1"}),
        ev(5, "hook_created", "hook_J", {"token": "approval:2"}),
        ev(6, "hook_conflict", "hook_J", {"token": "approval:3"}),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == [
        ("hook-self-conflict", "error", "hook_H", (e(3), e(4)), (), None),
        (
            "token-mismatch",
            "error",
            "hook_J",
            (e(5), e(6)),
            ALL,
            "Corrupted event log: hook event hook_conflict for hook_J belongs to token"
            ' "approval:3", but the current hook consumer expects "approval:2"',
        ),
    ]
