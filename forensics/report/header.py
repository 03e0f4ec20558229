"""The run report's header: what run this is, how it ended, what the store holds of it.

`run_header_info` gathers the run's identity (id, workflow, status, spec version), its
counts (events by kind of entity, staged events, conflicting copies), the imports its events
came from, and its stored verdict with findings counted by severity when `forensics check`
has analysed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from forensics.report._query import Con, fetch, has_table


@dataclass(frozen=True, slots=True)
class SourceInfo:
    import_id: int
    source_kind: str
    location: str
    events: int


@dataclass(frozen=True, slots=True)
class RunHeaderInfo:
    run_id: str
    workflow_name: str | None
    status: str
    spec_version: int | None
    first_event_ms: int | None
    last_event_ms: int | None
    event_count: int
    steps: int
    hooks: int
    waits: int
    staged_events: int
    conflicting_events: int
    sources: tuple[SourceInfo, ...]
    verdict: str | None  # None: never analysed
    verdict_reason: str | None
    findings_by_severity: tuple[tuple[str, int], ...]


_RUN_SQL = """
SELECT r.run_id, r.workflow_name, r.status, r.spec_version, r.event_count,
       epoch_ms(r.first_event_at) AS first_ms, epoch_ms(r.last_event_at) AS last_ms,
       (SELECT count(DISTINCT correlation_id) FROM run_log l
         WHERE l.run_id = r.run_id AND correlation_id LIKE 'step\\_%' ESCAPE '\\') AS steps,
       (SELECT count(DISTINCT correlation_id) FROM run_log l
         WHERE l.run_id = r.run_id AND correlation_id LIKE 'hook\\_%' ESCAPE '\\') AS hooks,
       (SELECT count(DISTINCT correlation_id) FROM run_log l
         WHERE l.run_id = r.run_id AND correlation_id LIKE 'wait\\_%' ESCAPE '\\') AS waits,
       (SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND e.staged) AS staged,
       (SELECT count(*) FROM event_conflicts c WHERE c.run_id = r.run_id) AS conflicts
FROM runs r WHERE r.run_id = ?
"""
_SOURCES_SQL = """
SELECT e.import_id, i.source_kind, i.location, count(*) AS events
FROM events e JOIN imports i USING (import_id)
WHERE e.run_id = ? GROUP BY ALL ORDER BY e.import_id
"""


def run_header_info(con: Con, run_id: str) -> RunHeaderInfo:
    """The header facts of `run_id` (which must be in the store)."""
    r = fetch(con, _RUN_SQL, [run_id])[0]
    sources = tuple(
        SourceInfo(int(s["import_id"]), str(s["source_kind"]), str(s["location"]), int(s["events"]))
        for s in fetch(con, _SOURCES_SQL, [run_id])
    )
    verdict, reason, severities = _analysis(con, run_id)
    return RunHeaderInfo(
        run_id=run_id,
        workflow_name=r["workflow_name"],
        status=str(r["status"]),
        spec_version=r["spec_version"],
        first_event_ms=r["first_ms"],
        last_event_ms=r["last_ms"],
        event_count=int(r["event_count"]),
        steps=int(r["steps"]),
        hooks=int(r["hooks"]),
        waits=int(r["waits"]),
        staged_events=int(r["staged"]),
        conflicting_events=int(r["conflicts"]),
        sources=sources,
        verdict=verdict,
        verdict_reason=reason,
        findings_by_severity=severities,
    )


def _analysis(con: Con, run_id: str) -> tuple[str | None, str | None, tuple[tuple[str, int], ...]]:
    if not has_table(con, "run_verdicts"):
        return None, None, ()
    rows = fetch(con, "SELECT verdict, reason FROM run_verdicts WHERE run_id = ?", [run_id])
    counts = fetch(
        con,
        "SELECT severity, count(*) AS n FROM findings WHERE run_id = ? GROUP BY severity"
        " ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END",
        [run_id],
    )
    severities = tuple((str(c["severity"]), int(c["n"])) for c in counts)
    if not rows:
        return None, None, severities
    return rows[0]["verdict"], rows[0]["reason"], severities
