"""`forensics ids RUN`: one run's correlation ids, their ordinals, the seed and hook tokens.

Reads the run's creation events (one copy per event id, log order), finds the `startedAt`
the seed is built from (the run record; without one, a search around the `run_started`
event's time), and hands the ids to `analyse_ids`. `ids_rows` turns the report into rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from forensics.analysis.ids import IdReport, analyse_ids, find_started_at, parse_correlation_id
from forensics.analysis.rules_ids import creation_order
from forensics.analysis.seed import int_to_body
from forensics.analysis.versions import LINE_4, Line, line_of_run
from forensics.analysis.vocab import CREATION, RESOLUTION, sql_list
from forensics.store import Store

_EVENTS: Final = f"""
SELECT event_id, event_type, correlation_id,
    json_extract_string(event_data, '$.token') AS token,
    json_extract_string(event_data, '$.workflowName') AS workflow_name, created_at,
    json_extract_string(event_data, '$.executionContext.workflowCoreVersion') AS core_version,
    json_extract_string(event_data, '$.deploymentId') AS deployment, spec_version
FROM (
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY import_id) AS copy_no
    FROM events
    WHERE run_id = ? AND NOT staged
      AND event_type IN {sql_list(CREATION | RESOLUTION | {"run_created", "run_started"})}
) e
WHERE copy_no = 1
ORDER BY event_id
"""


@dataclass(frozen=True)
class RunIds:
    """The report plus what it was computed from."""

    report: IdReport
    created_by: dict[str, str]
    batch_of: dict[str, int]
    line: Line = LINE_4


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else round(moment.timestamp() * 1000)


def ids_report(store: Store, run_id: str) -> RunIds:
    rows = store.con.execute(_EVENTS, [run_id]).fetchall()
    record = store.con.execute(
        "SELECT workflow_name, started_at FROM run_records WHERE run_id = ?", [run_id]
    ).fetchall()
    workflow = (record[0][0] if record else None) or next(
        (r[4] for r in rows if r[1] == "run_created" and r[4]), ""
    )
    order, created_by, batch_of = creation_order(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    )
    tokens = {r[2]: r[3] for r in rows if r[1] in ("hook_created", "hook_conflict") and r[3]}
    started = _ms(record[0][1]) if record else None
    if started is None:
        started = _search_started(run_id, workflow, rows, order)
    report = analyse_ids(run_id, workflow, started, order, tokens, batch_of=batch_of)
    line = line_of_run(store.con, run_id)  # the Python SDK and the executor's spec included
    return RunIds(report, created_by, batch_of, line)


def _search_started(run_id: str, workflow: str, rows: list[Any], order: list[str]) -> int | None:
    """Without a run record: the seed time near `run_started` that reproduces the first body."""
    approx = next((r[5] for r in rows if r[1] == "run_started" and r[5]), None)
    bodies = [p.body for p in map(parse_correlation_id, order) if p.scheme == "ulid"]
    if approx is None or not bodies or not workflow:
        return None
    return find_started_at(
        run_id, workflow, _ms(approx) or 0, min(b for b in bodies if b is not None)
    )


ID_COLUMNS = [
    "correlation_id",
    "kind",
    "scheme",
    "ordinal",
    "ordinal_source",
    "seed_match",
    "batch",
    "created_by",
    "token_seen",
    "token_predicted",
    "token_auto",
]


def ids_rows(view: RunIds) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
    """Columns, one row per id, and a summary of the run's id structure."""
    r = view.report
    rows = [
        (
            e.correlation_id,
            e.kind,
            e.scheme,
            e.ordinal,
            e.ordinal_source,
            None if e.ordinal_source in (None, "counter") else e.ordinal_source == "seed",
            view.batch_of.get(e.correlation_id),
            view.created_by.get(e.correlation_id),
            e.token_seen,
            e.token_predicted,
            e.token_auto,
        )
        for e in r.entries
    ]
    known = view.line.seed_known
    started = None
    if r.started_at_ms is not None:
        moment = datetime.fromtimestamp(r.started_at_ms / 1000, UTC)
        started = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{r.started_at_ms % 1000:03d}Z"
    summary = {
        "run_id": r.run_id,
        "workflow_name": r.workflow_name,
        "scheme": r.scheme,
        "started_at": started,
        "started_at_source": r.started_at_source,
        "time_prefixes": list(r.time_prefixes),
        "seed_b0": int_to_body(r.seed_b0) if r.seed_b0 is not None and known else None,
        "seed_status": _seed_status(r.seed_matches) if known else _UNKNOWN_SEED.format(view.line),
        "missing_ordinals": list(r.missing_ordinals),
        "shared_bodies": [list(g) for g in r.shared_bodies],
        "ordinal_regressions": [list(p) for p in r.ordinal_regressions],
        "repeated_ids": list(r.repeated_ids),
        "auto_token_hooks": list(r.auto_token_hooks),
    }
    return ID_COLUMNS, rows, summary


_UNKNOWN_SEED: Final = "not reproducible ({0.name}: the seed is not in the log)"


def _seed_status(matches: bool | None) -> str:
    if matches is None:
        return "unknown"
    return "matches" if matches else "does not match"
