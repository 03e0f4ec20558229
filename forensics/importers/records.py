"""Run, step, hook and wait objects as world-local stores them (and the CLI prints them).

Shared by the world-local, inspect and Postgres importers: each builder turns one object
into a `RunRecord` or `EntityRecord`, keeping fields without a column in `extra` with their
binary payloads decoded.
"""

from __future__ import annotations

from typing import Any

from forensics.decode import DecodeError, decode_payload, unwrap_binary
from forensics.importers.base import RecordError
from forensics.importers.normalize import int_field, parse_time
from forensics.model import EntityRecord, EventRecord, Provenance, RunRecord

# Fields that have a column of their own; the rest of a run or entity object goes to `extra`.
RUN_FIELDS = frozenset(
    [
        "runId",
        "workflowName",
        "status",
        "deploymentId",
        "specVersion",
        "createdAt",
        "startedAt",
        "completedAt",
        "error",
        "errorCode",
    ]
)
STEP_FIELDS = frozenset(
    [
        "runId",
        "stepId",
        "stepName",
        "status",
        "attempt",
        "createdAt",
        "startedAt",
        "completedAt",
        "specVersion",
    ]
)
HOOK_FIELDS = frozenset(["runId", "hookId", "token", "createdAt", "specVersion"])
WAIT_FIELDS = frozenset(
    [
        "runId",
        "waitId",
        "correlationId",
        "status",
        "resumeAt",
        "createdAt",
        "completedAt",
        "specVersion",
    ]
)


class Payloads:
    """Decodes the binary fields of run and entity objects (input, output, error, …).

    World-local's run and step files repeat the payload bytes of their events (a step's
    `input` is its `step_created` input, and so on), so payloads already decoded from event
    files are remembered, up to `limit` of them, and not decoded twice.
    """

    def __init__(self, key: bytes | None, limit: int = 0) -> None:
        self.key = key
        self.limit = limit
        self.seen: dict[bytes, tuple[Any, str]] = {}

    def remember(self, record: EventRecord) -> None:
        if record.payload_raw is not None and len(self.seen) < self.limit:
            self.seen[record.payload_raw] = (record.payload_decoded, record.payload_format)

    def decode(self, value: Any) -> tuple[Any, str | None]:
        """A JSON-safe value: binary payloads decoded (with their format), others as they are."""
        try:
            raw = unwrap_binary(value)
        except DecodeError as exc:  # a binary marker whose data is not base64
            return {"__invalid": str(exc), "value": value}, "invalid"
        if raw is None:
            return value, None
        if (known := self.seen.get(raw)) is not None:
            return known
        decoded = decode_payload(raw, self.key)  # its value is JSON-safe already
        return decoded.value, decoded.format


def _extra(d: dict[str, Any], known: frozenset[str], payloads: Payloads) -> dict[str, Any] | None:
    extra: dict[str, Any] = {}
    formats: dict[str, str] = {}
    for name, value in d.items():
        if name in known:
            continue
        extra[name], fmt = payloads.decode(value)
        if fmt is not None:
            formats[name] = fmt
    if formats:
        extra["payloadFormats"] = formats
    return extra or None


def _req(d: dict[str, Any], name: str) -> str:
    value = d.get(name)
    if not isinstance(value, str) or not value:
        raise RecordError(f"missing {name}" if value is None else f"{name} is not a string")
    return value


def _opt(d: dict[str, Any], name: str) -> str | None:
    value = d.get(name)
    return None if value is None else str(value)


def _int(d: dict[str, Any], name: str) -> int | None:
    return int_field(d.get(name), name)


def run_from_dict(d: dict[str, Any], provenance: Provenance, payloads: Payloads) -> RunRecord:
    """A run object as world-local stores it (or the CLI prints it) to a `RunRecord`."""
    run_id = _req(d, "runId")
    times = [parse_time(d.get(f), f) for f in ("createdAt", "startedAt", "completedAt")]
    spec = _int(d, "specVersion")
    error, _fmt = payloads.decode(d.get("error"))
    code = d.get("errorCode")
    if code is None and isinstance(error, dict):
        code = error.get("code")
    return RunRecord(
        run_id=run_id,
        provenance=provenance,
        workflow_name=_opt(d, "workflowName"),
        status=_opt(d, "status"),
        deployment_id=_opt(d, "deploymentId"),
        spec_version=spec,
        created_at=times[0],
        started_at=times[1],
        completed_at=times[2],
        error_code=None if code is None else str(code),
        error=error,
        extra=_extra(d, RUN_FIELDS, payloads),
    )


def step_from_dict(d: dict[str, Any], provenance: Provenance, payloads: Payloads) -> EntityRecord:
    """A step object (`steps/<runId>-<stepId>.json`, `inspect steps`) to an `EntityRecord`."""
    return EntityRecord(
        run_id=_req(d, "runId"),
        entity_id=_req(d, "stepId"),
        kind="step",
        provenance=provenance,
        name=_opt(d, "stepName"),
        status=_opt(d, "status"),
        attempt=_int(d, "attempt"),
        created_at=parse_time(d.get("createdAt"), "createdAt"),
        started_at=parse_time(d.get("startedAt"), "startedAt"),
        completed_at=parse_time(d.get("completedAt"), "completedAt"),
        spec_version=_int(d, "specVersion"),
        extra=_extra(d, STEP_FIELDS, payloads),
    )


def hook_from_dict(d: dict[str, Any], provenance: Provenance, payloads: Payloads) -> EntityRecord:
    """A hook object (`hooks/<hookId>.json`, `inspect hooks`) to an `EntityRecord`."""
    return EntityRecord(
        run_id=_req(d, "runId"),
        entity_id=_req(d, "hookId"),
        kind="hook",
        provenance=provenance,
        token=_opt(d, "token"),
        created_at=parse_time(d.get("createdAt"), "createdAt"),
        spec_version=_int(d, "specVersion"),
        extra=_extra(d, HOOK_FIELDS, payloads),
    )


def wait_from_dict(d: dict[str, Any], provenance: Provenance, payloads: Payloads) -> EntityRecord:
    """A wait object (`waits/<runId>-<correlationId>.json`) to an `EntityRecord`.

    `waitId` is `<runId>-<correlationId>`; the entity id is the correlation id, which is what
    the wait's events carry.
    """
    run_id = _req(d, "runId")
    wait_id = d.get("waitId")
    cid = d.get("correlationId")
    if isinstance(wait_id, str) and wait_id.startswith(run_id + "-"):
        entity_id = wait_id[len(run_id) + 1 :]
    elif isinstance(cid, str) and cid:
        entity_id = cid
    else:
        entity_id = _req(d, "waitId")
    return EntityRecord(
        run_id=run_id,
        entity_id=entity_id,
        kind="wait",
        provenance=provenance,
        status=_opt(d, "status"),
        created_at=parse_time(d.get("createdAt"), "createdAt"),
        completed_at=parse_time(d.get("completedAt"), "completedAt"),
        resume_at=parse_time(d.get("resumeAt"), "resumeAt"),
        spec_version=_int(d, "specVersion"),
        extra=_extra(d, WAIT_FIELDS, payloads),
    )
