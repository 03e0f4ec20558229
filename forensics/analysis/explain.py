"""Explanations, rendered from a finding's data and its witness events, in the style of Elle.

Detection never writes prose; this module turns a `Hit` plus facts about its witness events
(type, time, log position) into a few sentences: "Let E1 = … Then E2 = … so …", followed by
what a replay of each era did with it. Change the wording here without touching detectors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from forensics.analysis.eras import ERAS, span
from forensics.analysis.hits import Hit

Facts = Mapping[str, Mapping[str, Any]]


def describe(event_id: str, facts: Facts) -> str:
    f = facts.get(event_id) or {}
    parts = [str(f.get("event_type", "?"))]
    if f.get("at"):
        parts.append(str(f["at"]))
    if f.get("position"):
        parts.append(f"#{f['position']} in the log")
    return f"{event_id} ({', '.join(parts)})"


def _let(hit: Hit, facts: Facts) -> str:
    names = [f"E{i} = {describe(e, facts)}" for i, e in enumerate(hit.event_ids, 1)]
    if not names:
        return f"Let X = {hit.correlation_id or hit.run_id}."
    return "Let " + ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] + "."


def _type(hit: Hit, index: int, facts: Facts) -> str:
    if index >= len(hit.event_ids):
        return "?"
    return str((facts.get(hit.event_ids[index]) or {}).get("event_type", "?"))


def _then(hit: Hit, facts: Facts) -> str:
    render = _THEN.get(hit.code)
    if render is None:  # plug-in detectors (replay) carry their own sentence
        text = str(hit.evidence.get("explanation", "")).strip()
        return text if not text or text.endswith(".") else text + "."
    return render(hit, facts)


def _eras(hit: Hit) -> str:
    if hit.code == "corrupted-log-error":
        wording = f" (worded as in {span(hit.fatal_in)})" if hit.fatal_in else ""
        end = "" if str(hit.replay_message).endswith(".") else "."
        return f"The runtime reported{wording}: `{hit.replay_message}`{end}"
    if not hit.fatal_in:
        return "No replay fails on this by itself."
    text = f"A replay of {span(hit.fatal_in)} stops with `{hit.replay_message}`"
    text += "" if str(hit.replay_message).endswith(".") else "."
    spared = [e for e in ERAS if e not in hit.fatal_in]
    if spared and hit.code in ("event-after-terminal", "multiple-terminals", "duplicate-creation"):
        text += f" {span(spared)} skips a repeat of an event class already consumed."
    elif spared and hit.code == "kind-prefix-mismatch":
        text += f" {span(spared)} parks it as an unclaimed event."
    return text


def explain(hit: Hit, facts: Facts) -> str:
    """The explanation of one finding (`facts` maps witness event ids to type/at/position)."""
    parts = [_let(hit, facts), _then(hit, facts), _eras(hit)]
    return " ".join(p for p in parts if p)


def _after_terminal(hit: Hit, facts: Facts) -> str:
    n = len(hit.evidence.get("late_events", []))
    more = f" ({n} events arrive after it in all)" if n > 1 else ""
    return (
        f"Then E2 = {_type(hit, 1, facts)} for the same entity arrives after its terminal "
        f"event E1{more}, so no replay consumer is left for it."
    )


def _duplicate(hit: Hit, facts: Facts) -> str:
    if hit.evidence.get("after_terminal"):
        return (
            "Then E2 creates the same entity again after its terminal event, so nothing "
            "consumes it: two writers created the entity from the same log."
        )
    return (
        "Then E2 creates the same entity again before it ended; a replay consumes the copy "
        "silently, but two writers created the entity from the same log."
    )


def _names(hit: Hit, facts: Facts) -> str:
    names = list(hit.evidence.get("names", {}))
    return (
        f'E1 binds {hit.correlation_id} to "{names[0]}" and E2 to "{names[-1]}": two '
        "replays that took different branches drew the same id, so a replay drawing it "
        "for one name refuses the event of the other."
    )


def _run_lifecycle(hit: Hit, facts: Facts) -> str:
    problem = hit.evidence.get("problem")
    return {
        "no-run-created": "The log has no run_created: it starts with E1, so only part of "
        "the run is here or its creation was lost.",
        "run-created-not-first": "E1 sorts before the run's creation E2.",
        "several-terminals": "Then E2 ends the run a second time: the run's outcome is "
        "recorded twice, differently or not.",
        "events-after-terminal": "Then E2 is written after the run ended at E1; no replay "
        "runs any more to consume it.",
    }.get(str(problem), "")


def _corrupted(hit: Hit, facts: Facts) -> str:
    ev = hit.evidence
    blamed = ev.get("blamed_event")
    if blamed is None:
        return (
            "The run failed because its runtime found the log corrupted, but the event "
            "its message names is not in the imported log."
        )
    others = ", ".join(ev.get("findings_on_event", [])) or "nothing else"
    return (
        f"The run failed because its runtime found the log corrupted, and the event its "
        f"message blames, {blamed}, is in the log; the other detectors found: {others}."
    )


def _simple(sentence: str) -> Callable[[Hit, Facts], str]:
    return lambda hit, facts: sentence


def _inversion(hit: Hit, facts: Facts) -> str:
    ms = hit.evidence.get("inversion_ms")
    return (
        f"E1 sorts before E2 but was committed {ms} ms after it: a replay that read the "
        "log in between saw E2 without E1, and later replays see E1 first."
    )


def _race(hit: Hit, facts: Facts) -> str:
    gap = hit.evidence.get("gap_ms")
    return (
        f"E1 and E2 resolve two entities that were open together, {gap} ms apart, and E3 "
        "is created right after: the branch E3 belongs to may have been chosen on a "
        "snapshot holding only E1, while every later replay sees both."
    )


_THEN: dict[str, Callable[[Hit, Facts], str]] = {
    "kind-prefix-mismatch": _simple(
        "E1's type names another kind of entity than its "
        "correlation id, so the consumer drawn for that id "
        "never takes it."
    ),
    "missing-creation": _simple(
        "E1 is the entity's first event but not its creation: the "
        "log never created what it goes on to use."
    ),
    "event-after-terminal": _after_terminal,
    "duplicate-creation": _duplicate,
    "multiple-terminals": _simple(
        "Then E2 ends the entity a second time after E1 already did, so no consumer is left for it."
    ),
    "step-name-conflict": _names,
    "token-mismatch": _simple(
        "E1 and E2 carry different tokens for one hook, and the hook "
        "consumer expects the one it was created with."
    ),
    "resume-at-mismatch": _simple(
        "E2 completes the wait with another resumeAt than E1 created it with."
    ),
    "hook-self-conflict": _simple(
        "Then E2 records a conflict for the token E1 had just "
        "claimed for this same run: its suspension was processed "
        "twice, and the workflow sees a HookConflictError."
    ),
    "stuck-step": _simple(
        "The step was started at E1 and again at E2 with no retry between "
        "and never finished, although its run did."
    ),
    "run-lifecycle": _run_lifecycle,
    "corrupted-log-error": _corrupted,
    "slot-hole": _simple(
        "Slots are missing between E1 and E2, and no noop fills them: "
        "events were lost or not imported."
    ),
    "correlation-body-reuse": _simple(
        "E1 and E2 are two entities sharing one ULID body "
        "under different prefixes, which one replay never "
        "draws: two replays took different branches."
    ),
    "correlation-prefix-mismatch": _simple(
        "E1's entity id carries another time prefix than "
        "the run's other ids, so no replay of this run "
        "draws it."
    ),
    "ordinal-regression": _simple(
        "E2 was created with a lower ordinal than E1, which an "
        "earlier suspension wrote: its replay numbered from a "
        "shorter log."
    ),
    "seed-mismatch": _simple(
        "The run's ids do not start at the seeded first body, so "
        "ordinals are counted from the smallest body seen."
    ),
    "mint-commit-inversion": _inversion,
    "guard-blind-spot": _simple(
        "The out-of-band event sorts before the replay's write but "
        "was not committed when that write was decided, and the "
        "stateUpdatedAt guard compares only millisecond times, so "
        "it let the write through."
    ),
    "race-window": _race,
    "entity-event-mismatch": lambda hit, facts: (
        f"The source's {hit.evidence.get('kind')} row for {hit.correlation_id} disagrees "
        f"with its events: {'; '.join(hit.evidence.get('problems', []))}."
    ),
    "conflicting-copies": lambda hit, facts: (
        "Two imports hold different copies of E1 (differing in "
        f"{', '.join(hit.evidence.get('differing_fields', [])) or 'metadata'})."
    ),
}
