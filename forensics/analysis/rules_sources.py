"""Detectors that compare sources with each other: copies of one event, entity rows vs events.

Both read store tables beside the log (`events` with its `conflict` flag, `entities`), limited
to the runs being analysed (`_fx_scope`). Like every detector they return `Hit`s and leave the
wording to `explain`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from forensics.analysis.hits import Hit, in_log_order
from forensics.analysis.scan import Scan
from forensics.store.ingest import canonical_json_sql, ms_sql

_COPIES: Final = f"""
SELECT run_id, event_id, array_agg(import_id ORDER BY import_id) AS imports,
    array_agg(source_kind ORDER BY import_id) AS kinds,
    array_agg(source_location ORDER BY import_id) AS locations,
    count(DISTINCT event_type) > 1 AS differ_type,
    count(DISTINCT coalesce(correlation_id, '')) > 1 AS differ_cid,
    count(DISTINCT coalesce(CAST({ms_sql("created_at")} AS VARCHAR), '')) > 1 AS differ_time,
    count(DISTINCT coalesce({canonical_json_sql("event_data")}, '')) > 1 AS differ_data,
    count(DISTINCT md5(payload_raw)) > 1 AS differ_payload
FROM events
WHERE conflict AND NOT staged AND run_id IN (SELECT run_id FROM _fx_scope)
GROUP BY run_id, event_id
ORDER BY run_id, event_id
"""
_FIELDS: Final = {
    "differ_type": "eventType",
    "differ_cid": "correlationId",
    "differ_time": "createdAt",
    "differ_data": "eventData",
    "differ_payload": "payload",
}


def conflicting_copies(scan: Scan) -> list[Hit]:
    """The same (run, event id) imported with different content from different sources, for
    example a JSON export and a database dump that disagree. The store keeps every copy;
    `run_log` and the detectors use one of them, so which source is right decides what the
    log really says."""
    hits = []
    for r in scan.rows(_COPIES):
        fields = [name for column, name in _FIELDS.items() if r[column]]
        evidence = {
            "import_ids": r["imports"],
            "source_kinds": r["kinds"],
            "locations": r["locations"],
            "differing_fields": fields,
        }
        hits.append(
            Hit(
                "conflicting-copies",
                "warning",
                r["run_id"],
                None,
                (r["event_id"],),
                (),
                None,
                evidence,
            )
        )
    return hits


_ENTITY_ROWS: Final = """
WITH ent AS (
    SELECT run_id, entity_id, kind, name, token, status, resume_at, source_location
    FROM entities WHERE run_id IN (SELECT run_id FROM _fx_scope)
),
ev AS (
    SELECT e.run_id, e.correlation_id AS cid, min(e.event_id) AS first_id,
        min(e.event_id) FILTER (WHERE e.event_type IN
            ('step_created', 'hook_created', 'hook_conflict', 'wait_created')) AS create_id,
        min(e.event_id) FILTER (WHERE e.event_type = 'step_completed') AS completed_id,
        min(e.event_id) FILTER (WHERE e.event_type = 'step_failed') AS failed_id,
        min(e.event_id) FILTER (WHERE e.event_type = 'wait_completed') AS wait_done_id,
        min(json_extract_string(e.event_data, '$.stepName')) AS name_lo,
        max(json_extract_string(e.event_data, '$.stepName')) AS name_hi,
        min(json_extract_string(e.event_data, '$.token'))
            FILTER (WHERE e.event_type IN ('hook_created', 'hook_conflict')) AS token,
        min(TRY_CAST(json_extract_string(e.event_data, '$.resumeAt') AS TIMESTAMPTZ))
            FILTER (WHERE e.event_type = 'wait_created') AS resume_at
    FROM events e
    SEMI JOIN ent k ON k.run_id = e.run_id AND k.entity_id = e.correlation_id
    WHERE NOT e.staged
    GROUP BY e.run_id, e.correlation_id
)
SELECT ent.*, ev.first_id, ev.create_id, ev.completed_id, ev.failed_id, ev.wait_done_id,
    ev.name_lo, ev.name_hi, ev.token AS event_token, ev.resume_at AS event_resume_at,
    ev.cid IS NOT NULL AS has_events, coalesce(f.n_events, 0) AS run_events
FROM ent
LEFT JOIN ev ON ev.run_id = ent.run_id AND ev.cid = ent.entity_id
LEFT JOIN _fx_facts f ON f.run_id = ent.run_id
ORDER BY ent.run_id, ent.entity_id, ent.source_location
"""


def entity_event_mismatch(scan: Scan) -> list[Hit]:
    """A step, hook or wait row of the source's entity tables that disagrees with the events:
    a row for an id with no events or no creation event (issue #3081), a completed wait with
    no `wait_completed` (issue #4210), a step whose status and terminal event disagree, or a
    name, token or resumeAt other than the events'. The two are written non-atomically, so
    which one a tool believes changes the story."""
    hits = []
    for r in scan.rows(_ENTITY_ROWS):
        problems = _entity_problems(r)
        if not problems or r["run_events"] == 0:
            continue
        ids = in_log_order(
            r["create_id"] or r["first_id"], r["completed_id"] or r["failed_id"], r["wait_done_id"]
        )
        evidence = {
            "kind": r["kind"],
            "row_status": r["status"],
            "problems": problems,
            "source": r["source_location"],
        }
        hits.append(
            Hit(
                "entity-event-mismatch",
                "warning",
                r["run_id"],
                r["entity_id"],
                ids,
                (),
                None,
                evidence,
            )
        )
    return hits


def _entity_problems(r: dict[str, Any]) -> list[str]:
    if not r["has_events"]:
        return ["row has no events"]
    problems = [] if r["create_id"] else ["no creation event"]
    status = (r["status"] or "").lower()
    if r["kind"] == "step":
        problems += _step_problems(r, status)
    elif r["kind"] == "wait":
        if status == "completed" and not r["wait_done_id"]:
            problems.append("row completed, no wait_completed event")
        if r["wait_done_id"] and status in ("waiting", "pending"):
            problems.append(f"wait_completed event, row {status}")
        if _ms(r["resume_at"]) not in (None, _ms(r["event_resume_at"])):
            problems.append("resumeAt differs from wait_created")
    elif r["token"] and r["event_token"] and r["token"] != r["event_token"]:
        problems.append("token differs from hook_created")
    return problems


def _step_problems(r: dict[str, Any], status: str) -> list[str]:
    problems = []
    if status == "completed" and not r["completed_id"]:
        problems.append("row completed, no step_completed event")
    if status == "failed" and not r["failed_id"]:
        problems.append("row failed, no step_failed event")
    if (r["completed_id"] or r["failed_id"]) and status in ("pending", "running"):
        problems.append(f"terminal event, row {status}")
    names = {r["name_lo"], r["name_hi"]} - {None}
    if r["name"] and names and r["name"] not in names:
        problems.append("name differs from the events' stepName")
    return problems


def _ms(value: datetime | None) -> int | None:
    return None if value is None else round(value.timestamp() * 1000)
