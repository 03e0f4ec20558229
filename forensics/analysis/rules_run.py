"""Run-level detectors (replay.md section 6, checks 9 and 16): lifecycle, failure messages, slots.

Each function has a stable code and a docstring defining its anomaly; it reads the suspect
runs' events in `_fx_ev` (every event of a suspect run is there) and `_fx_facts`, and returns
`Hit`s. The runtime's own failure message of a corrupted run is parsed, and the event it
blames is looked up in the log.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from forensics.analysis.eras import eras_of_message
from forensics.analysis.hits import Hit, in_log_order
from forensics.analysis.messages import Failure, error_message, parse_failure
from forensics.analysis.rules_entity import inert_from_spec_9
from forensics.analysis.scan import Scan
from forensics.analysis.sieve import CORRUPT_SQL, SLOT_ID
from forensics.analysis.vocab import OUT_OF_BAND, RUN_OPENING, RUN_TERMINAL, sql_list

_SUSPECTS: Final = "run_id IN (SELECT run_id FROM _fx_suspect_runs)"
_LIFECYCLE: Final = f"""
SELECT run_id, min(event_id) AS first_id,
    arg_min(event_type, event_id) AS first_type,
    min(event_id) FILTER (WHERE event_type IN {sql_list(RUN_OPENING)}) AS opening_id,
    array_agg(event_id ORDER BY event_id) FILTER (WHERE event_type IN {sql_list(RUN_TERMINAL)})
        AS term_ids,
    array_agg(event_type ORDER BY event_id) FILTER (WHERE event_type IN {sql_list(RUN_TERMINAL)})
        AS term_types
FROM _fx_ev WHERE {_SUSPECTS}
GROUP BY run_id ORDER BY run_id
"""
_AFTER_TERMINAL: Final = f"""
SELECT e.run_id, array_agg(e.event_id ORDER BY e.event_id) AS ids,
    array_agg(e.event_type ORDER BY e.event_id) AS types
FROM _fx_ev e
JOIN (SELECT run_id, min(event_id) AS term_id FROM _fx_ev
      WHERE event_type IN {sql_list(RUN_TERMINAL)} AND {_SUSPECTS} GROUP BY run_id) t
  ON t.run_id = e.run_id AND e.event_id > t.term_id
WHERE e.event_type NOT IN {sql_list(RUN_TERMINAL | {"noop"})}
GROUP BY e.run_id
"""
# After a cancellation, work already in flight may still report back.
_LATE_AFTER_CANCEL: Final = OUT_OF_BAND | {"step_started", "step_retrying", "attr_set"}


def run_lifecycle(scan: Scan) -> list[Hit]:
    """The run's own lifecycle is broken: no `run_created` (or, in 2025 logs,
    `workflow_started`) at all, or not first; more than one terminal event (`run_completed`,
    `run_failed`, `run_cancelled`); or events after the terminal one (after a cancellation,
    late reports of work in flight are expected and not counted). No replay runs once the run
    has ended, so no era fails on these, but the outcome or the log is not what it seems.
    A `noop` filling an abandoned slot is not an event of the run and never counts.
    Repeated `run_created`/`run_started` are harmless and not reported. From spec 9 (E4) the
    runtime treats events after the run's terminal event as inert: information only."""
    late = {r["run_id"]: r for r in scan.rows(_AFTER_TERMINAL)}
    hits: list[Hit] = []
    for r in scan.rows(_LIFECYCLE):
        hits.extend(_lifecycle_hits(r, late.get(r["run_id"])))
    return inert_from_spec_9(scan, hits, _after_run_terminal)


def _after_run_terminal(h: Hit) -> bool:
    return h.evidence.get("problem") in ("several-terminals", "events-after-terminal")


def _lifecycle_hits(r: dict[str, Any], late: dict[str, Any] | None) -> list[Hit]:
    terms = list(zip(r["term_ids"] or [], r["term_types"] or [], strict=True))
    hits = [h for h in (_opening_hit(r), _terminals_hit(r["run_id"], terms)) if h]
    if late is not None and terms:
        hit = _after_terminal_hit(r["run_id"], terms[0], late)
        if hit:
            hits.append(hit)
    return hits


def _hit(run_id: str, severity: str, ids: tuple[str, ...], evidence: dict[str, Any]) -> Hit:
    return Hit("run-lifecycle", severity, run_id, None, ids, (), None, evidence)


def _opening_hit(r: dict[str, Any]) -> Hit | None:
    if r["opening_id"] is None:
        evidence = {"problem": "no-run-created", "first_event_type": r["first_type"]}
        return _hit(r["run_id"], "warning", (r["first_id"],), evidence)
    if r["first_id"] < r["opening_id"]:
        evidence = {"problem": "run-created-not-first", "first_event_type": r["first_type"]}
        return _hit(r["run_id"], "warning", (r["first_id"], r["opening_id"]), evidence)
    return None


def _terminals_hit(run_id: str, terms: list[tuple[str, str]]) -> Hit | None:
    if len(terms) < 2:
        return None
    evidence = {
        "problem": "several-terminals",
        "terminals": [{"event_id": i, "event_type": t} for i, t in terms],
    }
    return _hit(run_id, "error", (terms[0][0], terms[1][0]), evidence)


def _after_terminal_hit(run_id: str, term: tuple[str, str], late: dict[str, Any]) -> Hit | None:
    events = list(zip(late["ids"], late["types"], strict=True))
    if term[1] == "run_cancelled":
        events = [(i, t) for i, t in events if t not in _LATE_AFTER_CANCEL]
    if not events:
        return None
    evidence = {
        "problem": "events-after-terminal",
        "terminal_event_type": term[1],
        "late_events": [{"event_id": i, "event_type": t} for i, t in events],
    }
    return _hit(run_id, "warning", (term[0], events[0][0]), evidence)


_FAILURES: Final = f"""
SELECT run_id, event_id, json_extract_string(event_data, '$.errorCode') AS error_code,
    payload_decoded
FROM _fx_ev
WHERE event_type IN ('run_failed', 'workflow_failed') AND {CORRUPT_SQL}
ORDER BY run_id, event_id
"""


def corrupted_log_error(scan: Scan) -> list[Hit]:
    """A `run_failed` whose error says the log is corrupted (`CORRUPTED_EVENT_LOG`, or a
    message starting "Corrupted event log:", "Unconsumed event in event log:", "Replay could
    not consume event:", "Replay divergence:" or "Workflow replay diverged"): the runtime
    itself gave up on the log. The event it blames is parsed from the message and looked up;
    the finding says whether it exists and what the other detectors found on it."""
    hits = []
    for r in scan.rows(_FAILURES):
        payload = orjson.loads(r["payload_decoded"]) if r["payload_decoded"] else None
        message = error_message(payload) or ""
        failure = parse_failure(message)
        blamed = _blamed_event(scan, r["run_id"], failure)
        evidence: dict[str, Any] = {
            "error_code": r["error_code"],
            "message": message,
            "parsed": failure.as_dict(),
            "blamed_event": blamed,
            "blamed_event_exists": blamed is not None,
        }
        hits.append(
            Hit(
                "corrupted-log-error",
                "error",
                r["run_id"],
                failure.correlation_id,
                in_log_order(r["event_id"], blamed),
                eras_of_message(message),
                message or None,
                evidence,
            )
        )
    return hits


def _blamed_event(scan: Scan, run_id: str, failure: Failure) -> str | None:
    """The event a failure message names, by its id or else by type, entity and step name."""
    if failure.event_id:
        found = scan.rows(
            "SELECT event_id FROM _fx_ev WHERE run_id = ? AND event_id = ?",
            [run_id, failure.event_id],
        )
        return str(found[0]["event_id"]) if found else None
    if not (failure.correlation_id and failure.event_type):
        return None
    rows = scan.rows(
        "SELECT event_id, json_extract_string(event_data, '$.stepName') AS step_name"
        " FROM _fx_ev WHERE run_id = ? AND correlation_id = ? AND event_type = ?"
        " ORDER BY event_id",
        [run_id, failure.correlation_id, failure.event_type],
    )
    for row in rows:
        if failure.kind != "step-mismatch" or row["step_name"] == failure.name_in_log:
            return str(row["event_id"])
    return None


def slot_hole(scan: Scan) -> list[Hit]:
    """A slot log (spec 6 and later: event ids are slot numbers from 1) with a slot missing
    below its highest non-`noop` event: the storage layer fills an abandoned slot with a
    `noop`, so a hole is an event the log lost or an import left out."""
    rows = scan.rows(
        "SELECT run_id, array_agg(event_id ORDER BY event_id) AS ids,"
        " array_agg(event_type ORDER BY event_id) AS types FROM _fx_ev"
        " WHERE run_id IN (SELECT run_id FROM _fx_facts WHERE n_slot_rows > 0"
        f" AND n_slot_rows <> coalesce(slot_hi, 0)) AND {SLOT_ID}"
        " GROUP BY run_id ORDER BY run_id"
    )
    hits = []
    for r in rows:
        slots = {int(i[-26:]): i for i in r["ids"]}
        real = [int(i[-26:]) for i, t in zip(r["ids"], r["types"], strict=True) if t != "noop"]
        top = max(real, default=0)
        missing = [n for n in range(1, top) if n not in slots]
        if not missing:
            continue
        around = in_log_order(slots.get(missing[0] - 1), slots.get(_next_present(missing, slots)))
        evidence = {"missing_slots": _ranges(missing), "highest_slot": top}
        hits.append(Hit("slot-hole", "warning", r["run_id"], None, around, (), None, evidence))
    return hits


def _next_present(missing: list[int], slots: dict[int, str]) -> int:
    n = missing[0]
    while n not in slots:
        n += 1
    return n


def _ranges(numbers: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out
