"""How each era of the runtime judged a log, and what its replay said when it failed.

The same log can be fatal in one era and benign in another (event-model.md section 8): up to
E2 any event of an entity after its terminal event has no consumer and fails the replay; E3
(the 5.x line) skips a repeat of an event class the consumer already took and parks unclaimed
out-of-band events; E4 (spec 9, the single-orchestrator model) treats every event of an
entity after its terminal event as inert. `ERA_RULES` names the release that brought each
behaviour an era stands for. This module turns those rules into `fatal_in` tuples and renders
each era's replay error in the runtime's own wording, so a finding can quote what an engineer
would have seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from forensics.analysis.vocab import event_class

ERAS: Final = ("E0", "E1", "E2", "E3", "E4")
ERA_NAMES: Final = {
    "E0": "E0 (up to Nov 2025, workflow 4.0 betas, spec 1)",
    "E1": "E1 (Apr-May 2026, workflow 4.x, spec 2-5)",
    "E2": "E2 (Jun-Jul 2026, workflow 4.x)",
    "E3": "E3 (Aug 2026 on, workflow 5.x, spec 5-8)",
    "E4": "E4 (workflow 5.x, spec 9 on)",
}
ERA_RULES: Final = (
    ("E0", "strict walk; an unconsumed event is a plain runtime error", "workflow 4.0.1-beta.2"),
    ("E1", "`step_created` consumed by the replay; `CORRUPTED_EVENT_LOG` fails the run at once",
     "workflow 4.x, spec 2"),
    ("E2", "replay divergence, up to 3 recovery replays; `stateUpdatedAt` guard", "workflow 4.x"),
    ("E3", "repeats of a consumed event class skipped; unclaimed out-of-band events parked;"
     " the log read in commit order; correlation ids from the run id's time", "workflow 5.0.0"),
    ("E3", "slot event ids: the dense 1-based position, allocated at commit", "spec 6"),
    ("E3", "sealed log: a `noop` fills an abandoned slot; the replay steps over it", "spec 7"),
    ("E3", "`events.createBatch`: a suspension's `step_created`/`wait_created` fan-out (and a"
     " born-running `step_created` + `step_started`, or a sequential step transition) in one"
     " write at consecutive slots",
     "workflow 5.x (`WORKFLOW_BATCH_TRANSITIONS`, on by default), slot runs only"),
    ("E3", "`hook_disposed{forceClaimedBy}` understood (capability only)", "spec 8"),
    ("E3", "`run_started` attests `executorSpecVersion`; a backend may raise a running run"
     " across capability-only versions", "world-vercel, spec 8"),
    ("E4", "single orchestrator: in-band fence (`expectedSeqInBand`); any event of an entity"
     " after its terminal event is inert", "spec 9"),
)  # fmt: skip
"""(era, behaviour, the release or spec version that brought it): README's eras table."""
PARKED_IN_E3: Final = frozenset({"hook_received", "wait_completed", "attr_set", "run_cancelled"})
RECOVERY_REPLAYS: Final = 3
"""E2 re-queues a diverged run this many times before failing it."""

_STRICT: Final = ("E0", "E1", "E2")


def unconsumed_eras(
    event_type: str, consumed_before: Iterable[str] = (), *, after_terminal: bool = False
) -> tuple[str, ...]:
    """Eras whose replay fails on an event that no live consumer claims.

    `consumed_before` are the types the entity's consumer took before it finished; in E3 a
    repeat of one of their classes is skipped and an unclaimed out-of-band event is parked.
    An event after its entity's terminal event is inert in E4 (spec 9).
    """
    classes = {event_class(t) for t in consumed_before}
    if event_type in PARKED_IN_E3 or event_class(event_type) in classes:
        return _STRICT
    return ERAS[:-1] if after_terminal else ERAS


def span(eras: Iterable[str]) -> str:
    """`E1-E2`, `E0-E4`, `E2` or `no era` for a set of eras."""
    chosen = [e for e in ERAS if e in set(eras)]
    if not chosen:
        return "no era"
    if len(chosen) == 1:
        return chosen[0]
    indexes = [ERAS.index(e) for e in chosen]
    if indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{chosen[0]}-{chosen[-1]}"
    return ", ".join(chosen)


def unconsumed_message(era: str, event_type: str, cid: str | None, event_id: str) -> str:
    """What a replay of `era` reports for an event nobody consumed.

    The runtime formats an absent correlation id as JavaScript prints it: `undefined`.
    """
    c = cid if cid is not None else "undefined"
    fields = f"eventType={event_type}, correlationId={c}, eventId={event_id}"
    if era in ("E0", "E1"):
        return (
            f"Unconsumed event in event log: {fields}. This indicates a corrupted or invalid"
            " event log."
        )
    return f"Replay could not consume event: {fields}."


def step_mismatch_message(era: str, event_type: str, cid: str, in_log: str, in_replay: str) -> str:
    """The step consumer mismatch: the event names one step, the replay drew another."""
    head = "Corrupted event log" if era in ("E0", "E1") else "Replay divergence"
    return (
        f'{head}: step event {event_type} for {cid} belongs to "{in_log}",'
        f' but the current step consumer is "{in_replay}"'
    )


def token_mismatch_message(era: str, event_type: str, cid: str, in_log: str, in_replay: str) -> str:
    head = "Corrupted event log" if era in ("E0", "E1") else "Replay divergence"
    return (
        f'{head}: hook event {event_type} for {cid} belongs to token "{in_log}",'
        f' but the current hook consumer expects "{in_replay}"'
    )


def resume_at_mismatch_message(cid: str, in_log: str, in_replay: str) -> str:
    """E2 on: a `wait_completed` whose resumeAt differs from the one the replay computed."""
    return (
        f'Replay divergence: wait_completed event for {cid} has resumeAt "{in_log}",'
        f' but the current wait consumer expects "{in_replay}"'
    )


def diverged_message(event_id: str, divergence: str) -> str:
    """How an E2 run fails once its recovery replays diverged at the same event."""
    return (
        f"Workflow replay diverged {RECOVERY_REPLAYS + 1} times after {RECOVERY_REPLAYS}"
        f" recovery replays; latest divergent event was {event_id}. Last divergence: {divergence}"
    )


def eras_of_message(message: str) -> tuple[str, ...]:
    """The eras whose runtime words a failure this way (empty when the wording says nothing)."""
    if message.startswith(
        ("Replay could not consume event:", "Replay divergence:", "Workflow replay diverged")
    ):
        return ("E2", "E3", "E4")
    if message.startswith(("Unconsumed event in event log:", "Corrupted event log:")):
        return ("E0", "E1")
    return ()
