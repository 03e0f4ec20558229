"""Each schema era imports into exactly the rows the store should hold, and says which era.

The same one-run log (`pg_eras.LOG`) is written in the oldest jsonb-only era, the CBOR era
with naive timestamps (the real capture's shape) and the newest era (time zones, composite
key, slot ids, extra columns, `workflow_event_slots`); the expected rows are spelled out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from forensics.model import ImportSummary
from forensics.store import Store
from tests.postgres.pg_eras import (
    CHARGE,
    FAILED_RUN,
    HOOK,
    RUN,
    SLOT_IDS,
    STEP,
    T0,
    ULID_IDS,
    WAIT,
    WORKFLOW,
)

pytestmark = pytest.mark.postgres

EVENT_COLUMNS = (
    "event_id, event_type, correlation_id, created_at, occurred_at, spec_version, resume_id,"
    " event_data, payload_field, payload_format, payload_decoded, extra"
)
RESUME_AT = "2026-11-21T09:00:05.250Z"
# (type, correlation id, eventData without payload, payload field, decoded payload)
BASE: list[tuple[str, str | None, dict[str, Any] | None, str | None, Any]] = [
    ("run_created", None, {"deploymentId": "dpl_1", "workflowName": WORKFLOW}, "input", ["ord-1"]),
    ("run_started", None, None, None, None),
    ("step_created", STEP, {"stepName": CHARGE}, "input", {"args": [{"amount": 12.5}]}),
    ("step_started", STEP, {"stepName": CHARGE, "attempt": 1}, None, None),
    ("step_completed", STEP, {"stepName": CHARGE}, "result", {"ok": True}),
    ("wait_created", WAIT, {"resumeAt": RESUME_AT}, None, None),
    ("hook_created", HOOK, {"token": "tok-1"}, None, None),
    ("wait_completed", WAIT, {"resumeAt": RESUME_AT}, None, None),
    ("hook_received", HOOK, {"token": "tok-1"}, "payload", {"approved": True}),
    ("run_completed", None, {}, "output", "done"),
]


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def expected_events(era: str) -> list[tuple[Any, ...]]:
    rows = []
    ids = SLOT_IDS if era == "newest" else ULID_IDS
    for n, (event_type, cid, data, field, value) in enumerate(BASE):
        fmt = "absent" if field is None else ("legacy-json" if era == "jsonb" else "devl")
        spec = {"jsonb": None, "cbor": 3, "newest": 7}[era]
        occurred = at(10 * n - 3) if era == "newest" else None
        resume = "rsm_1" if era == "newest" and event_type == "hook_received" else None
        extra = None
        if era == "newest":
            extra = {"seq": n + 1, "shard": "eu-1", "workflow_name": WORKFLOW}
            if cid == STEP:
                extra["step_name"] = CHARGE
            if event_type == "hook_received":
                extra["resume_payload_digest"] = "sha256:ab12"
        rows.append(
            (
                ids[n],
                event_type,
                cid,
                at(10 * n),
                occurred,
                spec,
                resume,
                data,
                field,
                fmt,
                value,
                extra,
            )
        )
    return rows


def stored_events(store: Store) -> list[tuple[Any, ...]]:
    _, rows = store.query(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY event_id")
    return [_loads(row, (7, 10, 11)) for row in rows]


def _loads(row: tuple[Any, ...], json_columns: tuple[int, ...]) -> tuple[Any, ...]:
    return tuple(
        json.loads(v) if i in json_columns and v is not None else v for i, v in enumerate(row)
    )


@pytest.mark.parametrize("era", ["jsonb", "cbor", "newest"])
def test_events_of_every_era(
    era: str,
    era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., ImportSummary],
    tmp_store: Store,
) -> None:
    summary = run_pg_import(pg_admin.dsn(era_db(era)))
    assert (summary.read, summary.stored, summary.quarantined, summary.status) == (10, 10, 0, "ok")
    assert stored_events(tmp_store) == expected_events(era)


ERA_NOTES = {
    "jsonb": (
        "schema workflow: events: payload, created_at timestamp without time zone, key (id),"
        " no creation unique index; tables workflow_runs, workflow_steps, workflow_hooks"
    ),
    "cbor": (
        "schema workflow: events: payload+payload_cbor, created_at timestamp without time"
        " zone, key (id), creation unique index, spec_version; tables workflow_runs,"
        " workflow_steps, workflow_hooks, workflow_waits"
    ),
    "newest": (
        "schema workflow: events: payload+payload_cbor, created_at timestamp with time zone,"
        " key (run_id, id), creation unique index, spec_version, seq, occurred_at, resume_id;"
        " tables workflow_runs, workflow_steps, workflow_hooks, workflow_waits,"
        " workflow_event_slots"
    ),
}
NO_INDEX = (
    "no unique index on entity creation events: duplicate step_created, hook_created or"
    " wait_created rows were possible in this schema"
)


@pytest.mark.parametrize("era", ["jsonb", "cbor", "newest"])
def test_the_import_names_the_era(
    era: str, era_db: Callable[[str], str], pg_admin: Any, run_pg_import: Callable[..., Any]
) -> None:
    summary = run_pg_import(pg_admin.dsn(era_db(era)))
    expected = (ERA_NOTES[era], NO_INDEX) if era == "jsonb" else (ERA_NOTES[era],)
    assert summary.notes == expected


def expected_runs(era: str) -> list[tuple[Any, ...]]:
    extra: dict[str, Any] = {"output": "done", "input": ["ord-1"]}
    extra["updatedAt"] = "2026-11-21T09:00:00.213456Z"
    if era != "jsonb":
        extra["payloadFormats"] = {"input": "devl", "output": "devl"}
    if era == "newest":
        extra.update(attributes={"team": "payments"}, eventSlots=[{"seqInBand": 10}])
    spec = None if era == "jsonb" else 3
    runs = [(RUN, "completed", WORKFLOW, "dpl_1", spec, at(0), at(10), at(90), None, None, extra)]
    if era == "newest":
        failed_extra = {"updatedAt": "2026-11-21T09:00:00.723456Z"}
        error = {"message": "boom", "stack": "Error: boom"}
        runs.append(
            (
                FAILED_RUN,
                "failed",
                WORKFLOW,
                "dpl_1",
                7,
                at(500),
                None,
                at(600),
                "USER_ERROR",
                error,
                failed_extra,
            )
        )
    return runs


@pytest.mark.parametrize("era", ["jsonb", "cbor", "newest"])
def test_run_records_of_every_era(
    era: str,
    era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., Any],
    tmp_store: Store,
) -> None:
    run_pg_import(pg_admin.dsn(era_db(era)))
    _, rows = tmp_store.query(
        "SELECT run_id, status, workflow_name, deployment_id, spec_version, created_at,"
        " started_at, completed_at, error_code, error, extra FROM run_records ORDER BY run_id"
    )
    assert [_loads(r, (9, 10)) for r in rows] == expected_runs(era)


def expected_entities(era: str) -> list[tuple[Any, ...]]:
    spec = None if era == "jsonb" else 3
    step_extra: dict[str, Any] = {"updatedAt": "2026-11-21T09:00:00.163456Z"}
    hook_extra: dict[str, Any] = {"ownerId": "o", "projectId": "p", "environment": "e"}
    if era != "jsonb":
        step_extra.update(
            input={"args": [{"amount": 12.5}]},
            output={"ok": True},
            payloadFormats={"input": "devl", "output": "devl"},
        )
        hook_extra["isWebhook"] = False
    rows = [
        ("hook", HOOK, None, "tok-1", None, None, at(60), None, None, None, spec, hook_extra),
        (
            "step",
            STEP,
            CHARGE,
            None,
            "completed",
            1,
            at(20),
            at(30),
            at(40),
            None,
            spec,
            step_extra,
        ),
    ]
    if era != "jsonb":
        wait_extra = {"updatedAt": "2026-11-21T09:00:00.193456Z"}
        rows.append(
            (
                "wait",
                WAIT,
                None,
                None,
                "completed",
                None,
                at(50),
                None,
                at(70),
                at(5127),
                3,
                wait_extra,
            )
        )
    return rows


@pytest.mark.parametrize("era", ["jsonb", "cbor", "newest"])
def test_entities_of_every_era(
    era: str,
    era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., Any],
    tmp_store: Store,
) -> None:
    run_pg_import(pg_admin.dsn(era_db(era)))
    _, rows = tmp_store.query(
        "SELECT kind, entity_id, name, token, status, attempt, created_at, started_at,"
        " completed_at, resume_at, spec_version, extra FROM entities WHERE run_id = ?"
        " ORDER BY kind",
        [RUN],
    )
    assert [_loads(r, (11,)) for r in rows] == expected_entities(era)
