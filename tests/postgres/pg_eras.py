"""Three world-postgres schema eras, written from the documented column lists, and one log.

- `jsonb`: the oldest era. Enums in `public`, eventData only as `payload jsonb` (spec-1
  devalue-flattened payloads), no `spec_version`, no waits table, no creation index.
- `cbor`: the shape of the real capture. `payload_cbor bytea` beside `payload`,
  `spec_version`, `created_at timestamp` (naive, UTC), key `(id)`, creation unique index.
- `newest`: `timestamptz`, key `(run_id, id)`, slot event ids, `seq`, `step_name`,
  `workflow_name`, `occurred_at`, `resume_id`, `resume_payload_digest`, an unknown column,
  `workflow_event_slots`, run `error_code` and `attributes`.

`LOG` is one run's events as the SDK means them; `insert_log` writes them in an era's
encoding (JSON for `jsonb`, cbor-x style CBOR otherwise: tag 64 around payload bytes, tag 1
dates, `undefined`). The expected store rows are written out in the tests, not derived here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import orjson
import psycopg
from cbor2 import CBORTag

ERAS = ("jsonb", "cbor", "newest")
RUN = "wrun_01KSNVVXH82P5GM40D6F9152JF"
FAILED_RUN = "wrun_01KSNVVXH82P5GM40D6F9152JG"  # newest era: a run row without events
WORKFLOW = "workflow//./src/workflows/order//orderWorkflow"
CHARGE = "step//./src/workflows/order//charge"
T0 = datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=UTC)
RESUME_AT = datetime(2026, 11, 21, 9, 0, 5, 250000, tzinfo=UTC)
ULID_IDS = [f"wevt_01KSNVVXJ{n:016d}" for n in range(1, 11)]
SLOT_IDS = [f"evnt_{n:026d}" for n in range(1, 11)]
STEP, WAIT, HOOK = (
    f"{k}_01KSNVVXJB0000000000000{n}" for k, n in (("step", 1), ("wait", 2), ("hook", 3))
)


@dataclass(frozen=True)
class Payload:
    """Payload bytes as devalue text: `devl` + text in CBOR eras, the flat array in JSON."""

    devalue: str


UNDEFINED = cbor2.undefined

# (event type, correlation id, eventData or None)
LOG: list[tuple[str, str | None, dict[str, Any] | None]] = [
    (
        "run_created",
        None,
        {"deploymentId": "dpl_1", "workflowName": WORKFLOW, "input": Payload('[[1],"ord-1"]')},
    ),
    ("run_started", None, None),
    (
        "step_created",
        STEP,
        {"stepName": CHARGE, "input": Payload('[{"args":1},[2],{"amount":3},12.5]')},
    ),
    ("step_started", STEP, {"stepName": CHARGE, "attempt": 1}),
    ("step_completed", STEP, {"stepName": CHARGE, "result": Payload('[{"ok":1},true]')}),
    ("wait_created", WAIT, {"resumeAt": RESUME_AT}),
    ("hook_created", HOOK, {"token": "tok-1", "metadata": UNDEFINED}),
    ("wait_completed", WAIT, {"resumeAt": RESUME_AT}),
    ("hook_received", HOOK, {"token": "tok-1", "payload": Payload('[{"approved":1},true]')}),
    ("run_completed", None, {"output": Payload('["done"]')}),
]

_JSONB_DDL = """
CREATE TYPE public.status AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');
CREATE TYPE public.step_status AS ENUM ('pending', 'running', 'completed', 'failed');
CREATE SCHEMA workflow;
CREATE TABLE workflow.workflow_events (
    id varchar PRIMARY KEY, type varchar NOT NULL, correlation_id varchar,
    created_at timestamp DEFAULT now() NOT NULL, run_id varchar NOT NULL, payload jsonb);
CREATE TABLE workflow.workflow_runs (
    id varchar PRIMARY KEY, output jsonb, deployment_id varchar NOT NULL,
    status public.status NOT NULL, name varchar NOT NULL, input jsonb, error text,
    created_at timestamp DEFAULT now() NOT NULL, updated_at timestamp DEFAULT now() NOT NULL,
    completed_at timestamp, started_at timestamp);
CREATE TABLE workflow.workflow_steps (
    run_id varchar NOT NULL, step_id varchar PRIMARY KEY, step_name varchar NOT NULL,
    status public.step_status NOT NULL, input jsonb, output jsonb, error text,
    attempt integer NOT NULL, started_at timestamp, completed_at timestamp,
    created_at timestamp DEFAULT now() NOT NULL, updated_at timestamp DEFAULT now() NOT NULL,
    retry_after timestamp);
CREATE TABLE workflow.workflow_hooks (
    run_id varchar NOT NULL, hook_id varchar PRIMARY KEY, token varchar NOT NULL,
    owner_id varchar NOT NULL, project_id varchar NOT NULL, environment varchar NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL, metadata jsonb);
"""

_CBOR_DDL = """
CREATE SCHEMA workflow;
CREATE TYPE workflow.status AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');
CREATE TYPE workflow.step_status AS ENUM ('pending', 'running', 'completed', 'failed',
    'cancelled');
CREATE TYPE workflow.wait_status AS ENUM ('waiting', 'completed');
CREATE TABLE workflow.workflow_events (
    id varchar PRIMARY KEY, type varchar NOT NULL, correlation_id varchar,
    created_at timestamp DEFAULT now() NOT NULL, run_id varchar NOT NULL, payload jsonb,
    payload_cbor bytea, spec_version integer);
CREATE UNIQUE INDEX workflow_events_entity_creation_unique ON workflow.workflow_events
    (run_id, correlation_id, type)
    WHERE type IN ('step_created', 'hook_created', 'wait_created');
CREATE TABLE workflow.workflow_runs (
    id varchar PRIMARY KEY, output jsonb, deployment_id varchar NOT NULL,
    status workflow.status NOT NULL, name varchar NOT NULL, execution_context jsonb,
    input jsonb, error text, created_at timestamp DEFAULT now() NOT NULL,
    updated_at timestamp DEFAULT now() NOT NULL, completed_at timestamp, started_at timestamp,
    output_cbor bytea, execution_context_cbor bytea, input_cbor bytea, expired_at timestamp,
    spec_version varchar, error_cbor bytea);
CREATE TABLE workflow.workflow_steps (
    run_id varchar NOT NULL, step_id varchar PRIMARY KEY, step_name varchar NOT NULL,
    status workflow.step_status NOT NULL, input jsonb, output jsonb, error text,
    attempt integer NOT NULL, started_at timestamp, completed_at timestamp,
    created_at timestamp DEFAULT now() NOT NULL, updated_at timestamp DEFAULT now() NOT NULL,
    retry_after timestamp, input_cbor bytea, output_cbor bytea, error_cbor bytea,
    spec_version integer);
CREATE TABLE workflow.workflow_hooks (
    run_id varchar NOT NULL, hook_id varchar PRIMARY KEY, token varchar NOT NULL,
    owner_id varchar NOT NULL, project_id varchar NOT NULL, environment varchar NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL, metadata jsonb, metadata_cbor bytea,
    spec_version integer, is_webhook boolean DEFAULT true);
CREATE TABLE workflow.workflow_waits (
    wait_id varchar PRIMARY KEY, run_id varchar NOT NULL, status workflow.wait_status NOT NULL,
    resume_at timestamp, completed_at timestamp, created_at timestamp DEFAULT now() NOT NULL,
    updated_at timestamp DEFAULT now() NOT NULL, spec_version integer);
"""

# The newest era: every time zone aware, a composite key, slot bookkeeping, extra columns.
_NEWEST_DDL = (
    _CBOR_DDL.replace("timestamp DEFAULT", "timestamptz DEFAULT")
    .replace("timestamp,", "timestamptz,")
    .replace("timestamp)", "timestamptz)")
    .replace(
        "id varchar PRIMARY KEY, type varchar",
        "id varchar NOT NULL, type varchar",
    )
    .replace(
        "payload_cbor bytea, spec_version integer);",
        "payload_cbor bytea, spec_version integer, resume_id varchar,"
        " resume_payload_digest varchar, seq bigint, step_name varchar, workflow_name varchar,"
        " occurred_at timestamptz, shard varchar, PRIMARY KEY (run_id, id));",
    )
    .replace(
        "spec_version varchar, error_cbor bytea);",
        "spec_version varchar, error_cbor bytea, error_code varchar, attributes jsonb);",
    )
    + "CREATE TABLE workflow.workflow_event_slots (run_id varchar PRIMARY KEY,"
    " seq_in_band bigint NOT NULL);"
)

DDL = {"jsonb": _JSONB_DDL, "cbor": _CBOR_DDL, "newest": _NEWEST_DDL}


def create_era(conn: psycopg.Connection[tuple[object, ...]], era: str) -> None:
    conn.execute(DDL[era].encode())


def _cbor_value(value: Any) -> Any:
    if isinstance(value, Payload):
        return CBORTag(64, b"devl" + value.devalue.encode())
    if isinstance(value, dict):
        return {k: _cbor_value(v) for k, v in value.items()}
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, Payload):
        return orjson.loads(value.devalue)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items() if v is not UNDEFINED}
    return value


def encode_cbor(data: dict[str, Any]) -> bytes:
    """eventData as cbor-x writes it (Dates as tag 1 with epoch seconds, like cbor-x)."""
    return bytes(cbor2.dumps(_cbor_value(data), datetime_as_timestamp=True))


def event_rows(
    era: str, *, run: str = RUN, ids: list[str] | None = None, start: datetime = T0
) -> list[dict[str, Any]]:
    """The rows of `LOG` for `era` (column -> value), in log order, 10 ms apart."""
    ids = ids or (SLOT_IDS if era == "newest" else ULID_IDS)
    rows = []
    for n, ((event_type, cid, data), event_id) in enumerate(zip(LOG, ids, strict=True)):
        created = start + timedelta(milliseconds=10 * n)
        row: dict[str, Any] = {
            "id": event_id,
            "type": event_type,
            "correlation_id": cid,
            "created_at": created,
            "run_id": run,
        }
        if era == "jsonb":
            row["payload"] = orjson.dumps(_json_value(data)).decode() if data else None
        else:
            row["payload_cbor"] = encode_cbor(data) if data else None
            row["spec_version"] = 3 if era == "cbor" else 7
        if era == "newest":
            row.update(
                seq=n + 1,
                workflow_name=WORKFLOW,
                shard="eu-1",
                occurred_at=created - timedelta(milliseconds=3),
            )
            if cid == STEP:
                row["step_name"] = CHARGE
            if event_type == "hook_received":
                row.update(resume_id="rsm_1", resume_payload_digest="sha256:ab12")
        if era == "cbor":
            row["created_at"] = created.replace(tzinfo=None)  # a naive column holds UTC
        rows.append(row)
    return rows


def insert(
    conn: psycopg.Connection[tuple[object, ...]], table: str, rows: list[dict[str, Any]]
) -> None:
    for row in rows:
        columns = ", ".join(row)
        marks = ", ".join(["%s"] * len(row))
        conn.execute(
            f"INSERT INTO workflow.{table} ({columns}) VALUES ({marks})".encode(),
            list(row.values()),
        )


def entity_rows(era: str) -> dict[str, list[dict[str, Any]]]:
    """One completed run with its step, hook and wait, in the era's columns."""
    naive = era != "newest"

    def t(ms: int) -> datetime:
        moment = T0 + timedelta(milliseconds=ms)
        return moment.replace(tzinfo=None) if naive else moment

    run: dict[str, Any] = {
        "id": RUN,
        "deployment_id": "dpl_1",
        "status": "completed",
        "name": WORKFLOW,
        "created_at": t(0),
        "updated_at": t(90),
        "started_at": t(10),
        "completed_at": t(90),
    }
    step: dict[str, Any] = {
        "run_id": RUN,
        "step_id": STEP,
        "step_name": CHARGE,
        "status": "completed",
        "attempt": 1,
        "created_at": t(20),
        "updated_at": t(40),
        "started_at": t(30),
        "completed_at": t(40),
    }
    hook: dict[str, Any] = {
        "run_id": RUN,
        "hook_id": HOOK,
        "token": "tok-1",
        "owner_id": "o",
        "project_id": "p",
        "environment": "e",
        "created_at": t(60),
    }
    if era == "jsonb":
        run.update(input=orjson.dumps([[1], "ord-1"]).decode(), output='["done"]')
        return {"workflow_runs": [run], "workflow_steps": [step], "workflow_hooks": [hook]}
    run.update(
        input_cbor=_tagged('[[1],"ord-1"]'), output_cbor=_tagged('["done"]'), spec_version="3"
    )
    step.update(
        input_cbor=_tagged('[{"args":1},[2],{"amount":3},12.5]'),
        output_cbor=_tagged('[{"ok":1},true]'),
        spec_version=3,
    )
    hook.update(spec_version=3, is_webhook=False)
    wait = {
        "wait_id": f"{RUN}-{WAIT}",
        "run_id": RUN,
        "status": "completed",
        "resume_at": t(5127),
        "completed_at": t(70),
        "created_at": t(50),
        "updated_at": t(70),
        "spec_version": 3,
    }
    if era == "newest":
        run.update(error_code=None, attributes='{"team": "payments"}')
    out = {
        "workflow_runs": [run],
        "workflow_steps": [step],
        "workflow_hooks": [hook],
        "workflow_waits": [wait],
    }
    if era == "newest":
        out["workflow_event_slots"] = [{"run_id": RUN, "seq_in_band": 10}]
        failed = {
            "id": FAILED_RUN,
            "deployment_id": "dpl_1",
            "status": "failed",
            "name": WORKFLOW,
            "created_at": t(500),
            "updated_at": t(600),
            "completed_at": t(600),
            "error_cbor": bytes(cbor2.dumps({"message": "boom", "stack": "Error: boom"})),
            "error_code": "USER_ERROR",
            "spec_version": "7",
        }
        out["workflow_runs"].append(failed)
    return out


def _tagged(devalue: str) -> bytes:
    return bytes(cbor2.dumps(CBORTag(64, b"devl" + devalue.encode())))
