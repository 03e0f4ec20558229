"""The runs table of a DynamoDB layout: which attribute holds which run field, items to records.

The public AWS World designs keep one item per run in `workflow_runs`, named like the SDK's run
object (`runId`, `status`, `workflowName`, …). `RUN_ROLES` gives those defaults; `--run-map
role=attribute` overrides them. The run's error may be CBOR bytes (as cbor-x writes it), a
map or JSON text; every attribute no role claims is kept in `extra`, like event items.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Final

import orjson

from forensics.decode import decode_cbor, decode_field, to_jsonable
from forensics.decode.errors import DecodeError
from forensics.errors import UsageError
from forensics.importers.base import RecordError
from forensics.importers.mapping import extra_value
from forensics.importers.normalize import int_field, parse_time
from forensics.model import Provenance, RunRecord

RUN_ROLES: Final[dict[str, str]] = {
    "run_id": "runId",
    "workflow_name": "workflowName",
    "status": "status",
    "deployment_id": "deploymentId",
    "spec_version": "specVersion",
    "created_at": "createdAt",
    "started_at": "startedAt",
    "completed_at": "completedAt",
    "error_code": "errorCode",
    "error": "error",
}


def resolve_run_roles(overrides: dict[str, str] | None) -> dict[str, str]:
    """`RUN_ROLES` with `role=attribute` overrides; an empty attribute unmaps a role."""
    roles = dict(RUN_ROLES)
    for role, given in (overrides or {}).items():
        if role not in RUN_ROLES:
            raise UsageError(
                f"unknown runs-table role {role!r}", hint="roles: " + ", ".join(RUN_ROLES)
            )
        if given.strip():
            roles[role] = given.strip()
        elif role == "run_id":
            raise UsageError("role run_id cannot be unmapped", hint="--run-map run_id=NAME")
        else:
            roles.pop(role)
    return roles


def item_to_run(
    item: dict[str, object], roles: dict[str, str], provenance: Provenance
) -> RunRecord:
    """One deserialized runs-table item as a run record; `RecordError` says what is wrong."""
    run_id = item.get(roles["run_id"])
    if not isinstance(run_id, str) or not run_id:
        raise RecordError(
            f"missing run id: expected text attribute {roles['run_id']!r} "
            f"(item has {', '.join(sorted(item)) or 'no attributes'}; "
            "change it with --run-map run_id=NAME)"
        )
    claimed = set(roles.values())
    return RunRecord(
        run_id=run_id,
        provenance=provenance,
        workflow_name=_text(item, roles, "workflow_name"),
        status=_text(item, roles, "status"),
        deployment_id=_text(item, roles, "deployment_id"),
        spec_version=_int(item, roles, "spec_version"),
        created_at=_time(item, roles, "created_at"),
        started_at=_time(item, roles, "started_at"),
        completed_at=_time(item, roles, "completed_at"),
        error_code=_text(item, roles, "error_code"),
        error=_error(item.get(roles.get("error", ""))),
        extra={k: extra_value(v) for k, v in item.items() if k not in claimed} or None,
    )


def _value(item: dict[str, object], roles: dict[str, str], role: str) -> object:
    attribute = roles.get(role)
    return item.get(attribute) if attribute else None


def _text(item: dict[str, object], roles: dict[str, str], role: str) -> str | None:
    value = _value(item, roles, role)
    if value is None or value == "":
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"{roles[role]} ({role}) must be text, got {str(value)[:60]}")


def _int(item: dict[str, object], roles: dict[str, str], role: str) -> int | None:
    return int_field(_value(item, roles, role), f"{roles[role]} ({role})")


def _time(item: dict[str, object], roles: dict[str, str], role: str) -> Any:
    value = _value(item, roles, role)
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        value = float(value) if "." in value else int(value)  # epoch numbers stored as text
    return parse_time(value, roles.get(role, role))


def _error(value: object) -> object:
    """The run's error as JSON: CBOR bytes decoded, payload bytes decoded, text parsed."""
    if value is None:
        return None
    if isinstance(value, bytes):
        if value and 0x80 <= value[0] <= 0xDB:  # a CBOR array, map or tag: cbor-x output
            with suppress(DecodeError):
                inner = decode_cbor(value)
                if not isinstance(inner, bytes):  # a Uint8Array holds payload bytes
                    return to_jsonable(inner)
                value = inner
        return decode_field(value).value
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return to_jsonable(value)
