"""The event vocabulary the detectors reason with: kinds, lifecycles and who writes what.

One place says which event types create, resolve or end an entity, which are written by a
replay (their position records a decision) and which arrive out of band, so the SQL of every
detector and the Python that judges eras agree on the same sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

KINDS: Final = ("step", "hook", "wait")

CREATION: Final = frozenset({"step_created", "hook_created", "hook_conflict", "wait_created"})
"""Events that open an entity (`hook_conflict` stands in for `hook_created`)."""

TERMINAL: Final = frozenset({"step_completed", "step_failed", "hook_disposed", "wait_completed"})
"""Events after which an entity's replay consumer is gone."""

RUN_TERMINAL: Final = frozenset(
    {"run_completed", "run_failed", "run_cancelled", "workflow_completed", "workflow_failed"}
)
RUN_OPENING: Final = frozenset({"run_created", "workflow_started"})
"""What a complete log starts with (2025 logs began with `workflow_started`)."""

RESOLUTION: Final = frozenset({"step_completed", "step_failed", "hook_received", "wait_completed"})
"""Events that wake a suspended workflow: each starts a new replay, so a new suspension."""

OUT_OF_BAND: Final = frozenset({"hook_received", "step_completed", "step_failed", "run_cancelled"})
REPLAY_ORIGIN: Final = frozenset(
    {
        "step_created",
        "hook_created",
        "wait_created",
        "hook_disposed",
        "wait_completed",
        "run_completed",
        "run_failed",
    }
)
"""Writes a replay decided from the log it had loaded (their place in the log is a decision)."""

CORRUPTION_CODES: Final = frozenset({"CORRUPTED_EVENT_LOG"})
CORRUPTION_PREFIXES: Final = (
    "Corrupted event log:",
    "Unconsumed event in event log:",
    "Replay could not consume event:",
    "Replay divergence:",
    "Workflow replay diverged",
)

# Event classes for the E3 rule "a repeat of an already-consumed class is skipped".
_CLASS: Final = {
    "step_created": "create",
    "hook_created": "create",
    "hook_conflict": "create",
    "wait_created": "create",
    "step_started": "start",
    "step_retrying": "retry",
    "hook_received": "receive",
    "step_completed": "end",
    "step_failed": "end",
    "hook_disposed": "end",
    "wait_completed": "end",
}


def event_class(event_type: str) -> str:
    """The consumer-facing class of an event type (unknown types are their own class)."""
    return _CLASS.get(event_type, event_type)


def kind_of(event_type: str) -> str | None:
    """`step`, `hook` or `wait` for entity events, else None."""
    head = event_type.split("_", 1)[0]
    return head if head in KINDS and "_" in event_type else None


def sql_list(names: Iterable[str]) -> str:
    """A SQL list literal of fixed vocabulary words, e.g. `('a', 'b')`."""
    return "(" + ", ".join(f"'{n}'" for n in sorted(names)) + ")"
