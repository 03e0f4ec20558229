"""Entity lifecycle detectors (replay.md section 6, checks 2-8 and 15) over the suspects' events.

Each detector is a function with a stable code: its docstring defines the anomaly, its SQL
finds the witness events in `_fx_ev` (exact event ids, log order), and it returns `Hit`s with
the eras whose replay fails on the shape and what that replay said. Nothing here renders text
for people beyond the runtime's own messages; explanations are `explain`'s job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final

from forensics.analysis.eras import (
    ERAS,
    step_mismatch_message,
    unconsumed_eras,
    unconsumed_message,
)
from forensics.analysis.hits import Hit, in_log_order, unconsumed
from forensics.analysis.scan import Scan
from forensics.analysis.sieve import ENTITY_EVENT
from forensics.analysis.versions import (
    LINE_4,
    SPEC_SINGLE_ORCHESTRATOR,
    Line,
    run_judgements,
    run_lines,
)
from forensics.analysis.vocab import CREATION, TERMINAL, sql_list

_CREATE_ONLY: Final = sql_list(CREATION - {"hook_conflict"})
# One row per suspect entity (the sieve's per-entity tests flagged it) with its events in log
# order; the other entities of a run that is a suspect as a whole need not be read here.
_ENTITY_EVENTS: Final = f"""
SELECT e.run_id, e.correlation_id AS cid,
    array_agg(e.event_id ORDER BY e.event_id) AS ids,
    array_agg(e.event_type ORDER BY e.event_id) AS types,
    array_agg(CASE WHEN starts_with(e.event_type, 'step_')
                   THEN json_extract_string(e.event_data, '$.stepName')
                   WHEN starts_with(e.event_type, 'hook_')
                   THEN json_extract_string(e.event_data, '$.token')
                   WHEN starts_with(e.event_type, 'wait_')
                   THEN json_extract_string(e.event_data, '$.resumeAt') END
              ORDER BY e.event_id) AS idents,
    array_agg(epoch_us(e.created_at) // 1000 ORDER BY e.event_id) AS ms
FROM _fx_ev e
SEMI JOIN _fx_suspect_ent s ON s.run_id = e.run_id AND s.cid = e.correlation_id
WHERE {ENTITY_EVENT.replace("event_type", "e.event_type")}
GROUP BY e.run_id, e.correlation_id
ORDER BY e.run_id, min(e.event_id)
"""


def entity_rows(scan: Scan) -> list[dict[str, Any]]:
    """The suspect entities' events, shared by the detectors of this module."""
    return scan.rows(_ENTITY_EVENTS)


def kind_prefix_mismatch(scan: Scan) -> list[Hit]:
    """A `step_*`, `hook_*` or `wait_*` event whose correlation id belongs to another kind
    (or has none): the consumer drawn for that id takes only its own kind of event, so none
    takes this one and every era but E3 (which parks an unclaimed `hook_received` or
    `wait_completed`) fails the replay on it."""
    rows = scan.rows(
        f"SELECT run_id, correlation_id, event_id, event_type FROM _fx_ev WHERE {ENTITY_EVENT}"
        " AND (correlation_id IS NULL OR NOT starts_with(correlation_id,"
        " split_part(event_type, '_', 1) || '_')) ORDER BY run_id, event_id"
    )
    hits = []
    for r in rows:
        fatal, message = unconsumed(r["event_type"], r["correlation_id"], r["event_id"])
        kind = str(r["event_type"]).split("_", 1)[0]
        evidence = {"event_type": r["event_type"], "expected_prefix": kind + "_"}
        hits.append(
            Hit(
                "kind-prefix-mismatch",
                "error",
                r["run_id"],
                r["correlation_id"],
                (r["event_id"],),
                fatal,
                message,
                evidence,
            )
        )
    return hits


def missing_creation(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """An entity whose first event in the log is not its creation event (`step_created`,
    `hook_created`/`hook_conflict`, `wait_created`). The consumers accept it, so no era
    fails on it, but some writer recorded an entity the log never created: a lost write,
    or only part of the log imported. Runs of 2025 logs, which had no `step_created`, are
    exempt for steps, and so is a creation written in the same write as the events sorted
    before it by a world whose ids do not follow causal order (world-local 5.x with ULIDs)."""
    legacy = {
        r["run_id"]
        for r in scan.rows("SELECT run_id FROM _fx_facts WHERE n_legacy > 0 OR n_step_created = 0")
    }
    lines = run_lines(scan)
    hits = []
    for e in entities:
        if e["types"][0] in CREATION or (e["cid"].startswith("step_") and e["run_id"] in legacy):
            continue
        at = next((i for i, t in enumerate(e["types"]) if t in CREATION), None)
        later = None if at is None else e["ids"][at]
        if _one_write(e, at, lines.get(e["run_id"], LINE_4)):
            continue
        evidence = {"first_event_type": e["types"][0], "created_later": later is not None}
        hits.append(
            Hit(
                "missing-creation",
                "warning",
                e["run_id"],
                e["cid"],
                in_log_order(e["ids"][0], later),
                (),
                None,
                evidence,
            )
        )
    return hits


def _one_write(e: dict[str, Any], at: int | None, line: Line) -> bool:
    """The creation was written together with the events sorted before it (same `createdAt`
    millisecond) by a world that mints the ids of one write in any order."""
    ms = e.get("ms")
    return bool(line.one_write_any_id_order and at is not None and ms and ms[0] == ms[at])


def event_after_terminal(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """Any event of an entity after its terminal event (`step_completed`/`step_failed`,
    `hook_disposed`, `wait_completed`): the entity's consumer is gone, so the event has none.
    E0-E2 fail the replay on the first such event; E3 skips a repeat of a class the consumer
    already took and parks an unclaimed `hook_received` or `wait_completed`. From spec 9 (E4)
    the late events are inert: the finding is kept as information only."""
    hits = []
    for e in entities:
        ids, types = e["ids"], e["types"]
        term = next((i for i, t in enumerate(types) if t in TERMINAL), None)
        if term is None or term == len(ids) - 1:
            continue
        before = types[: term + 1]
        late = list(zip(ids[term + 1 :], types[term + 1 :], strict=True))
        fatal, message = _first_fatal(late, before, e["cid"])
        evidence = {
            "terminal_event_type": types[term],
            "late_events": [{"event_id": i, "event_type": t} for i, t in late],
            "consumed_before": sorted(set(before)),
        }
        hits.append(
            Hit(
                "event-after-terminal",
                "error",
                e["run_id"],
                e["cid"],
                (ids[term], late[0][0]),
                fatal,
                message,
                evidence,
            )
        )
    return inert_from_spec_9(scan, hits)


def _after_terminal(h: Hit) -> bool:
    return h.evidence.get("after_terminal") is not False


def inert_from_spec_9(
    scan: Scan, hits: list[Hit], after: Callable[[Hit], bool] = _after_terminal
) -> list[Hit]:
    """Hits about events after an entity's terminal event (`after` says which), as a run
    judged in E4 sees them: its replay treats those events as inert, so they are information,
    not a violation."""
    if not any(after(h) for h in hits):
        return hits
    judged = run_judgements(scan)
    out = []
    for h in hits:
        j = judged.get(h.run_id)
        if j is None or not j.inert_after_terminal or not after(h):
            out.append(h)
            continue
        evidence = {**h.evidence, "inert_from_spec": SPEC_SINGLE_ORCHESTRATOR}
        out.append(dataclasses.replace(h, severity="info", evidence=evidence))
    return out


def _first_fatal(
    late: list[tuple[str, str]], before: list[str], cid: str
) -> tuple[tuple[str, ...], str | None]:
    """Union of the eras fatal for any late event; the message of the earliest era."""
    per_event = [(i, t, unconsumed_eras(t, before, after_terminal=True)) for i, t in late]
    fatal = tuple(era for era in ERAS if any(era in eras for _, _, eras in per_event))
    if not fatal:
        return (), None
    event_id, event_type, _ = next(p for p in per_event if fatal[0] in p[2])
    return fatal, unconsumed_message(fatal[0], event_type, cid, event_id)


def duplicate_creation(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """More than one creation event (`step_created`, `hook_created`, `wait_created`) for one
    correlation id. Before the entity's terminal event the consumer silently takes the copy
    (duplicate processing, e.g. without the unique index); after it nothing consumes the copy
    and E0-E2 fail the replay on it. Different names on the copies are also reported as
    `step-name-conflict`."""
    hits = []
    for e in entities:
        pairs = list(zip(e["ids"], e["types"], strict=True))
        creations = [i for i, t in pairs if t in CREATION and t != "hook_conflict"]
        if len(creations) >= 2:
            hits.append(_duplicate_hit(e, pairs, creations))
    return inert_from_spec_9(scan, hits)


def _duplicate_hit(e: dict[str, Any], pairs: list[tuple[str, str]], creations: list[str]) -> Hit:
    """Every copy is a witness. Copies under different names are not taken silently: the
    replay fails as `step-name-conflict` says, and this finding says the same."""
    term = next((i for i, t in pairs if t in TERMINAL), None)
    dup = creations[1]
    evidence: dict[str, Any] = {"creations": creations}
    witnesses = tuple(creations)
    names = _creation_names(e, creations)
    if len(set(names.values())) > 1:
        first, other = creations[0], next(c for c in creations if names[c] != names[creations[0]])
        message = step_mismatch_message(
            "E0", dict(pairs)[first], e["cid"], names[first] or "", names[other] or ""
        )
        evidence["names"] = names
        evidence["after_terminal"] = False
        return Hit("duplicate-creation", "error", e["run_id"], e["cid"], witnesses, ERAS,
                   message, evidence)  # fmt: skip
    if term is None or dup < term:
        evidence["after_terminal"] = False
        return Hit("duplicate-creation", "warning", e["run_id"], e["cid"], witnesses, (),
                   None, evidence)  # fmt: skip
    before = [t for i, t in pairs if i <= term]
    fatal, message = unconsumed(dict(pairs)[dup], e["cid"], dup, before, after_terminal=True)
    evidence["after_terminal"] = term
    return Hit("duplicate-creation", "error", e["run_id"], e["cid"], witnesses, fatal,
               message, evidence)  # fmt: skip


def _creation_names(e: dict[str, Any], creations: list[str]) -> dict[str, str | None]:
    """The step name (or hook token) each creation carries, when the entity rows say."""
    idents = e.get("idents") or [None] * len(e["ids"])
    by_id = dict(zip(e["ids"], idents, strict=True))
    types = dict(zip(e["ids"], e["types"], strict=True))
    return {c: by_id.get(c) if types.get(c) == "step_created" else None for c in creations}


def multiple_terminals(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """More than one terminal event for one entity (e.g. two `step_completed` after an
    at-least-once redelivery, or `step_completed` then `step_failed`). The second has no
    consumer: E0-E2 fail the replay on it; E3 skips the repeated class (logging a
    `step_failed` after `step_completed` as an error); E4 (spec 9) treats it as inert."""
    hits = []
    for e in entities:
        terms = [(i, t) for i, t in zip(e["ids"], e["types"], strict=True) if t in TERMINAL]
        if len(terms) < 2:
            continue
        (first, _), (second, second_type) = terms[0], terms[1]
        before = [t for i, t in zip(e["ids"], e["types"], strict=True) if i <= first]
        fatal, message = unconsumed(second_type, e["cid"], second, before, after_terminal=True)
        evidence = {"terminals": [{"event_id": i, "event_type": t} for i, t in terms]}
        hits.append(
            Hit(
                "multiple-terminals",
                "error",
                e["run_id"],
                e["cid"],
                (first, second),
                fatal,
                message,
                evidence,
            )
        )
    return inert_from_spec_9(scan, hits)


def stuck_step(scan: Scan, entities: list[dict[str, Any]]) -> list[Hit]:
    """A step with more than one `step_started`, no `step_retrying` and no terminal event in a
    run that is not running any more (issue #4199: present in every corrupted run examined,
    in no healthy one). Extra starts before a terminal are benign crash recovery; here the
    step never finished although its run did."""
    ended = {
        r["run_id"]
        for r in scan.rows(
            "SELECT run_id FROM _fx_facts WHERE run_term_id IS NOT NULL"
            " OR record_status IN ('completed', 'failed', 'cancelled')"
        )
    }
    hits = []
    for e in entities:
        types = e["types"]
        if e["run_id"] not in ended or not e["cid"].startswith("step_"):
            continue
        starts = [i for i, t in zip(e["ids"], types, strict=True) if t == "step_started"]
        if len(starts) < 2 or "step_retrying" in types or any(t in TERMINAL for t in types):
            continue
        evidence = {"starts": starts}
        hits.append(
            Hit(
                "stuck-step",
                "warning",
                e["run_id"],
                e["cid"],
                (starts[0], starts[1]),
                (),
                None,
                evidence,
            )
        )
    return hits
