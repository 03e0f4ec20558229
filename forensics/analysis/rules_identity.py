"""Identity detectors (replay.md section 6, checks 5-8): names, tokens and resumeAt per entity.

A replay's consumer is drawn with an identity (a step's name, a hook's token, a wait's
resumeAt) and fails on an event of its id that carries another. These detectors read the
suspect entities' events (see `rules_entity.entity_rows`) and report the first disagreement,
with the message a replay of the first fatal era printed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from forensics.analysis.eras import (
    ERAS,
    resume_at_mismatch_message,
    step_mismatch_message,
    token_mismatch_message,
)
from forensics.analysis.hits import Hit, in_log_order
from forensics.analysis.scan import Scan

Named = tuple[str, str, str]  # event id, event type, identity

_STEP_TYPES: Final = frozenset(
    {"step_created", "step_started", "step_retrying", "step_completed", "step_failed"}
)
_HOOK_TYPES: Final = frozenset({"hook_created", "hook_conflict", "hook_received", "hook_disposed"})
_WAIT_TYPES: Final = frozenset({"wait_created", "wait_completed"})


def _named(e: dict[str, Any], types: frozenset[str]) -> list[Named]:
    return [
        (i, t, n)
        for i, t, n in zip(e["ids"], e["types"], e["idents"], strict=True)
        if n is not None and t in types
    ]


def step_name_conflict(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """One step id bound to different step names, by two `step_created` or by a later
    event's `stepName`: two replays that took different branches wrote into one log. A
    replay drawing the id for one name fails on the first event carrying the other, in
    every era (the step consumer mismatch). The message assumes what the known incidents
    show: later replays draw the name written last, so the first event is the one refused."""
    hits = []
    for e in entities:
        named = _named(e, _STEP_TYPES)
        names = list(dict.fromkeys(n for _, _, n in named))
        if len(names) < 2:
            continue
        first = named[0]
        other = next(x for x in named if x[2] != first[2])
        message = step_mismatch_message("E0", first[1], e["cid"], first[2], other[2])
        evidence = {
            "names": {n: [i for i, _, m in named if m == n] for n in names},
            "failing_event": first[0],
            "consumer_name": other[2],
        }
        hits.append(
            Hit(
                "step-name-conflict",
                "error",
                e["run_id"],
                e["cid"],
                (first[0], other[0]),
                ERAS,
                message,
                evidence,
            )
        )
    return hits


def token_mismatch(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """A hook whose events carry different tokens. The hook consumer expects the token the
    hook was created with and fails, in every era, on the first event naming another."""
    hits = []
    for e in entities:
        named = _named(e, _HOOK_TYPES)
        other = next((x for x in named if x[2] != named[0][2]), None) if named else None
        if other is None:
            continue
        base = named[0]
        message = token_mismatch_message("E0", other[1], e["cid"], other[2], base[2])
        evidence = {"expected_token": base[2], "seen_token": other[2]}
        hits.append(
            Hit(
                "token-mismatch",
                "error",
                e["run_id"],
                e["cid"],
                in_log_order(base[0], other[0]),
                ERAS,
                message,
                evidence,
            )
        )
    return hits


def resume_at_mismatch(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """A `wait_completed` whose `resumeAt` differs (at millisecond precision) from the one its
    `wait_created` recorded. From E2 the wait consumer compares the two and fails the replay;
    earlier runtimes did not compare them. Completing a wait before its `resumeAt` (as
    `wakeUp()` does) is not this: the recorded value stays the same."""
    hits = []
    for e in entities:
        named = [(i, t, _ms(n)) for i, t, n in _named(e, _WAIT_TYPES)]
        created = next((x for x in named if x[1] == "wait_created"), None)
        if created is None:
            continue
        other = next((x for x in named if x[1] == "wait_completed" and x[2] != created[2]), None)
        if other is None:
            continue
        message = resume_at_mismatch_message(e["cid"], _iso(other[2]), _iso(created[2]))
        evidence = {"created_resume_at": _iso(created[2]), "completed_resume_at": _iso(other[2])}
        hits.append(
            Hit(
                "resume-at-mismatch",
                "error",
                e["run_id"],
                e["cid"],
                in_log_order(created[0], other[0]),
                ("E2", "E3", "E4"),
                message,
                evidence,
            )
        )
    return hits


def _ms(text: str) -> str:
    """A resumeAt as epoch milliseconds (text), or the text itself when it is not a time."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return str(round(moment.timestamp() * 1000))


def _iso(ms: str) -> str:
    """`Date.prototype.toISOString()` of epoch milliseconds given as text."""
    if not ms.lstrip("-").isdigit():
        return ms
    moment = datetime.fromtimestamp(int(ms) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def hook_self_conflict(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """`hook_created` then `hook_conflict` with the same token for one hook of one run: the
    storage layer processed the run's suspension twice and recorded the second as a conflict
    with the run itself. No replay fails on it, but the workflow receives a HookConflictError
    for its own token and usually fails."""
    hits = []
    for e in entities:
        named = _named(e, frozenset({"hook_created", "hook_conflict"}))
        created = next((x for x in named if x[1] == "hook_created"), None)
        if created is None:
            continue
        clash = next(
            (
                x
                for x in named
                if x[1] == "hook_conflict" and x[2] == created[2] and x[0] > created[0]
            ),
            None,
        )
        if clash is None:
            continue
        evidence = {"token": created[2]}
        hits.append(
            Hit(
                "hook-self-conflict",
                "error",
                e["run_id"],
                e["cid"],
                (created[0], clash[0]),
                (),
                None,
                evidence,
            )
        )
    return hits
