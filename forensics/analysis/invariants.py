"""Upstream's names for what a finding breaks: the log invariants of `@workflow/world-sim`.

The engine's own simulator checks every log it produces against named rules
(`run.terminal-is-last`, `step.terminal-once`, ...). A finding that breaks one of them says
so by that name too, so an engineer can search upstream's code and issues with the words
its maintainers use. A code maps to one rule, or to a rule chosen by the witness events'
types or the finding's `problem`; codes without an upstream counterpart map to none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

# code -> the rule it always breaks
_FIXED: Final[Mapping[str, str]] = {
    "hook-self-conflict": "hook.token-unique",
    "resume-at-mismatch": "wait.resume-at-stable",
    "step-name-conflict": "step.created-once",
    "mint-commit-inversion": "log.monotonic-order",
    "conflicting-copies": "log.unique-event-id",
}
# code -> {type of the event that breaks it: rule}
_BY_TYPE: Final[Mapping[str, Mapping[str, str]]] = {
    "missing-creation": {
        "step_started": "step.started-after-created",
        "step_completed": "step.terminal-after-created",
        "step_failed": "step.terminal-after-created",
        "hook_received": "hook.received-after-created",
        "wait_completed": "wait.completed-after-created",
    },
    "event-after-terminal": {
        "step_started": "step.no-restart-after-terminal",
        "step_completed": "step.terminal-once",
        "step_failed": "step.terminal-once",
        "hook_received": "hook.no-receive-after-dispose",
        "hook_disposed": "hook.dispose-once",
        "wait_completed": "wait.completed-once",
    },
    "multiple-terminals": {
        "step_completed": "step.terminal-once",
        "step_failed": "step.terminal-once",
        "hook_disposed": "hook.dispose-once",
        "wait_completed": "wait.completed-once",
    },
    "duplicate-creation": {
        "step_created": "step.created-once",
        "wait_created": "wait.created-once",
    },
    "entity-event-mismatch": {"step": "step.entity-matches-log", "run": "run.entity-matches-log"},
}
_RUN_PROBLEMS: Final[Mapping[str, str]] = {
    "several-terminals": "run.terminal-is-last",
    "events-after-terminal": "run.terminal-is-last",
    "no-run-created": "run.created-first",
    "run-created-not-first": "run.created-first",
}

# Every rule a finding can name, with what it demands (for README and `explain`).
RULES: Final[Mapping[str, str]] = {
    "log.monotonic-order": "the log's order is the order its events were appended",
    "log.unique-event-id": "one event per event id",
    "run.created-first": "the log opens with run_created",
    "run.created-once": "one run_created",
    "run.terminal-is-last": "nothing but a running step's result after the run's terminal event",
    "run.entity-matches-log": "the run row's status is the log's",
    "step.created-once": "one step_created per step",
    "step.started-after-created": "no step_started before step_created",
    "step.terminal-after-created": "no step result before step_created",
    "step.terminal-once": "one step_completed or step_failed",
    "step.no-restart-after-terminal": "no step_started after the step finished",
    "step.entity-matches-log": "the step row's status is the log's",
    "hook.token-unique": "a token belongs to one live hook",
    "hook.received-after-created": "no hook_received before hook_created",
    "hook.no-receive-after-dispose": "no hook_received after hook_disposed",
    "hook.dispose-once": "one hook_disposed",
    "wait.created-once": "one wait_created per wait",
    "wait.completed-after-created": "no wait_completed before wait_created",
    "wait.completed-once": "one wait_completed",
    "wait.resume-at-stable": "wait_completed carries the resumeAt of wait_created",
}


def invariants_of(code: str, evidence: Mapping[str, Any]) -> tuple[str, ...]:
    """The world-sim rules a finding of `code` with `evidence` breaks (often one, maybe none);
    none for late events a spec-9 run treats as inert (`inert_from_spec`): no violation."""
    if evidence.get("inert_from_spec"):
        return ()
    if code in _FIXED:
        return (_FIXED[code],)
    if code == "run-lifecycle":
        rule = _RUN_PROBLEMS.get(str(evidence.get("problem")))
        return (rule,) if rule else ()
    by_type = _BY_TYPE.get(code)
    if by_type is None:
        return ()
    keys = [str(evidence.get("kind", "")), *_event_types(evidence.get("events"))]
    found = [by_type[k] for k in keys if k in by_type]
    return tuple(dict.fromkeys(found[-1:] if code != "missing-creation" else found[:1]))


def _event_types(events: object) -> list[str]:
    if not isinstance(events, Sequence):
        return []
    return [str(e.get("event_type")) for e in events if isinstance(e, Mapping)]
