"""Explanations, rendered from a finding's data and its witness events, in the style of Elle.

Detection never writes prose; this module turns a `Hit` plus facts about its witness events
(type, time, log position) into a few sentences: the claim first, naming events by their log
position (`#205`), then what a replay of each runtime era did with it (eras are named E0-E4
and defined where they appear, so an event is never confused with an era), the era the run
itself is judged in, then the witness events in full. Change the wording here without
touching detectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from forensics.analysis.eras import ERA_NAMES, ERAS, span
from forensics.analysis.hits import Hit

Facts = Mapping[str, Mapping[str, Any]]
CAUSES = frozenset(
    {"stale-snapshot-write", "fence-break", "stuck-fence", "race-window", "trace-hole",
     "mint-commit-inversion", "guard-blind-spot"}
)  # fmt: skip
"""Codes that name why a log went wrong; the replay errors are the other codes' business."""


def describe(event_id: str, facts: Facts) -> str:
    f = facts.get(event_id) or {}
    parts = [str(f.get("event_type", "?"))]
    if f.get("at"):
        parts.append(str(f["at"]))
    if f.get("position"):
        parts.append(f"#{f['position']} in the log")
    return f"{event_id} ({', '.join(parts)})"


def _witnesses(hit: Hit, facts: Facts) -> str:
    if not hit.event_ids:
        return ""
    names = []
    for n, e in enumerate(hit.event_ids):
        f = facts.get(e) or {}
        when = f", {f['at']}" if f.get("at") else ""
        names.append(f"{_ref(hit, n, facts)} {f.get('event_type', '?')} {e}{when}")
    return "Witnesses: " + "; ".join(names) + "."


def _ref(hit: Hit, n: int, facts: Facts) -> str:
    """How sentences name witness n (0-based): its log position, else `event n+1`."""
    position = (
        (facts.get(hit.event_ids[n]) or {}).get("position") if n < len(hit.event_ids) else None
    )
    return f"#{position}" if position else f"event {n + 1}"


_WITNESS_TOKEN = re.compile(r"\bE([1-9][0-9]?)\b")


def _positions(text: str, hit: Hit, facts: Facts) -> str:
    """The detector sentences say E1, E2, … for witnesses; the reader sees log positions."""
    return _WITNESS_TOKEN.sub(lambda m: _ref(hit, int(m.group(1)) - 1, facts), text)


def _defined(eras: tuple[str, ...] | list[str]) -> str:
    """`E0-E2` with what those runtime eras are."""
    chosen = [e for e in ERAS if e in set(eras)]
    return f"runtime era {span(chosen)} ({'; '.join(ERA_NAMES[e] for e in chosen)})"


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
        wording = f" (worded as in {_defined(hit.fatal_in)})" if hit.fatal_in else ""
        end = "" if str(hit.replay_message).endswith(".") else "."
        return f"The runtime reported{wording}: `{hit.replay_message}`{end}"
    if not hit.fatal_in and hit.code in CAUSES:
        return (
            "This is a cause, not a replay error: no replay fails on this event itself, the"
            " replays fail on what it led to (the findings on the same entity)."
        )
    if not hit.fatal_in:
        return "No replay of any runtime era fails on this by itself."
    text = f"A replay in {_defined(hit.fatal_in)} stops with `{hit.replay_message}`"
    text += "" if str(hit.replay_message).endswith(".") else "."
    spared = [e for e in ERAS if e not in hit.fatal_in]
    if spared and hit.code in ("event-after-terminal", "multiple-terminals", "duplicate-creation"):
        text += f" {span(spared)} skips a repeat of an event class already consumed."
    elif spared and hit.code == "kind-prefix-mismatch":
        text += f" {span(spared)} parks it as an unclaimed event."
    return text


def _judged(hit: Hit) -> str:
    """Which era the run is judged in, and what that era does with this shape."""
    era = hit.evidence.get("judged_in")
    text = f"The run is judged in {era}." if era else ""
    if hit.evidence.get("inert_from_spec"):
        text += (
            f" From spec {hit.evidence['inert_from_spec']} (E4) the runtime treats every event"
            " of an entity after its terminal event as inert, so this is information, not a"
            " violation."
        )
    return text.strip()


def explain(hit: Hit, facts: Facts) -> str:
    """The explanation of one finding (`facts` maps witness event ids to type/at/position)."""
    parts = [
        _positions(_then(hit, facts), hit, facts),
        _eras(hit),
        _judged(hit),
        _witnesses(hit, facts),
    ]
    return " ".join(p for p in parts if p)


def _after_terminal(hit: Hit, facts: Facts) -> str:
    n = len(hit.evidence.get("late_events", []))
    more = f" ({n} events arrive after it in all)" if n > 1 else ""
    return (
        f"E2 ({_type(hit, 1, facts)}) arrives after E1, the entity's terminal event{more},"
        " so no replay consumer is left for it."
    )


def _duplicate(hit: Hit, facts: Facts) -> str:
    n = len(hit.event_ids)
    copies = ", ".join(f"E{k}" for k in range(2, n)) + (" and " if n > 2 else "") + f"E{n}"
    verb, writers = ("creates", "two writers") if n == 2 else ("create", f"{n} writers")
    if hit.evidence.get("names"):
        return (
            f"E1 creates the entity and {copies} {verb} it again under another name: {writers}"
            " created it from different branches, so a replay drawing it for one name fails"
            " on the copy of the other (see step-name-conflict)."
        )
    if hit.evidence.get("after_terminal"):
        return (
            f"E1 creates the entity and {copies} {verb} it again, after its terminal event, so"
            f" nothing consumes the copy: {writers} created the entity from the same log."
        )
    return (
        f"E1 creates the entity and {copies} {verb} it again before it ended; a replay"
        f" consumes the copies silently, but {writers} created the entity from the same log."
    )


_NOT_FATAL: dict[str, str] = {
    "several-terminals": "The run had already ended at its first terminal event, so no replay"
    " runs to read this one: what is wrong is the run's outcome, recorded more than once.",
    "events-after-terminal": "The run had ended before this event was written: no replay runs"
    " any more to read it.",
    "no-run-created": "The log is incomplete, so no replay of it can be judged.",
    "run-created-not-first": "The log is incomplete, so no replay of it can be judged.",
    "duplicate-creation": "The entity was still open, so a replay takes the copy silently;"
    " the copy shows that two writers created the entity.",
    "stuck-step": "Nothing in the log goes unconsumed: the step never finished.",
    "entity-event-mismatch": "A replay reads the events, not the entity rows: the rows disagree"
    " with the log.",
    "conflicting-copies": "The sources disagree on this event; what a replay read depends on"
    " the source it read.",
    "slot-hole": "Not named: a log with a hole is not replayed as imported (the 5.x runtime"
    " refuses a history whose positions are not contiguous).",
    "missing-creation": "No replay fails on a missing creation by itself.",
}


def not_fatal_sentence(code: str, evidence: Mapping[str, Any], severity: str) -> str:
    """What to say instead of an era list when no era's replay fails on a finding: per code
    and shape, so no pane claims a replay consumes what no replay reads."""
    key = str(evidence.get("problem") or code)
    if key in _NOT_FATAL:
        return _NOT_FATAL[key]
    if code in CAUSES:
        return (
            "This is a cause: no replay fails on it, the replays fail on what it led to"
            " (the findings on the same entity)."
        )
    if severity == "info":
        return "Information: no replay fails on it."
    return "No replay fails on this by itself."


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
    shown = {
        "commit order": f"E2 committed {abs(int(gap or 0))} ms before E1",
        "fence": "a fence names a snapshot tail below E1",
        "trace": "a traced replay loaded E2 without E1",
    }.get(str(hit.evidence.get("shown_by")), "")
    return (
        f"E1 and E2 resolve two entities that were open together, {abs(int(gap or 0))} ms"
        f" apart, and E3 is created right after; {shown}, so a replay could hold E2 without"
        " E1 and take the other branch, while every replay that holds both takes E1's."
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
