"""Entity tables (runs, steps, hooks, waits) as the store's run and entity records.

Each row is first shaped like the SDK's own object (`runId`, `workflowName`, camelCase
names, `*_cbor` columns decoded with the same CBOR rules as eventData), then handed to the
converters world-local's files go through (`importers.records`), so entity records of both
worlds look alike and keep the same names in `extra`; NULL columns are left out, as the
SDK's JSON leaves out undefined members. When a row has both a jsonb and a CBOR copy of a
value, the CBOR copy wins and the jsonb one is kept as `<name>Json`. `workflow_event_slots`
rows are attached to their run as `eventSlots` (a row means the run uses slot ids).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from cbor2 import CBORDecoder, CBORTag

from forensics.decode import (
    DecodeError,
    decode_cbor,
    decode_legacy,
    is_devalue_document,
    to_jsonable,
)
from forensics.importers.postgres.decoding import plain_json
from forensics.importers.postgres.probe import HOOKS, RUNS, STEPS, WAITS
from forensics.importers.records import (
    HOOK_FIELDS,
    RUN_FIELDS,
    STEP_FIELDS,
    WAIT_FIELDS,
    Payloads,
    hook_from_dict,
    run_from_dict,
    step_from_dict,
    wait_from_dict,
)
from forensics.model import EntityRecord, EntityRow, Provenance, RunRecord, RunRow

Build = Callable[[dict[str, Any], Provenance, Payloads], Any]
BUILDERS: Final[dict[str, Build]] = {
    RUNS: run_from_dict,
    STEPS: step_from_dict,
    HOOKS: hook_from_dict,
    WAITS: wait_from_dict,
}
# Fields the builders turn into record columns: their times stay datetimes (no text round
# trip); every other time goes to `extra` as ISO-8601 text, as the SDK's JSON has it.
RECORD_FIELDS: Final[dict[str, frozenset[str]]] = {
    RUNS: RUN_FIELDS,
    STEPS: STEP_FIELDS,
    HOOKS: HOOK_FIELDS,
    WAITS: WAIT_FIELDS,
}
_RENAMES: Final[dict[str, dict[str, str]]] = {RUNS: {"id": "runId", "name": "workflowName"}}
_LEGACY_PAYLOADS: Final = frozenset({"input", "output", "metadata"})
_EPOCH_2000: Final = datetime(2000, 1, 1, tzinfo=UTC)
_PG_INFINITY: Final = (2**63 - 1, -(2**63))


@dataclass(frozen=True, slots=True)
class _Field:
    index: int  # position in the COPY row
    column: str
    name: str  # the SDK's name
    kind: str
    record_field: bool


class Shaper:
    """Shapes COPY rows of one table like the SDK's objects; names are worked out once."""

    def __init__(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        """`columns`: (name, kind) of each COPY column, as `selects.entity_plan` made them."""
        self.table = table
        self.names = [name for name, _ in columns]
        renames = _RENAMES.get(table, {})
        fields = RECORD_FIELDS.get(table, frozenset())
        plain: list[_Field] = []
        cbor: list[_Field] = []
        for index, (column, kind) in enumerate(columns):
            is_cbor = column.endswith("_cbor")
            base = column[:-5] if is_cbor else column
            name = renames.get(base) or _camel(base)
            field = _Field(index, column, name, kind, name in fields)
            (cbor if is_cbor else plain).append(field)
        self.plain, self.cbor = plain, cbor

    def shape(self, row: Sequence[Any]) -> dict[str, Any]:
        """The SDK-shaped object of one row (NULL columns left out)."""
        out: dict[str, Any] = {}
        for field in self.plain:
            value = row[field.index]
            if value is not None:
                out[field.name] = _plain(field, value)
        for field in self.cbor:
            blob = row[field.index]
            if blob is not None:
                if out.get(field.name) is not None:
                    out[field.name + "Json"] = out[field.name]
                out[field.name] = _cbor_value(blob)
        return out

    def raw(self, row: Sequence[Any]) -> dict[str, Any]:
        """The row as {column: value}, for quarantine."""
        return dict(zip(self.names, row, strict=True))


def records(
    shaper: Shaper,
    rows: Iterable[Sequence[Any]],
    provenance: Provenance,
    payloads: Payloads,
    slots: dict[str, list[dict[str, Any]]],
    reject: Callable[[dict[str, Any], str], None],
) -> list[RunRecord | EntityRecord]:
    """Run records (for `workflow_runs`) or entity records; bad rows go to `reject`."""
    build = BUILDERS[shaper.table]
    runs = shaper.table == RUNS
    out: list[RunRecord | EntityRecord] = []
    for row in rows:
        obj = shaper.shape(row)
        if runs and obj.get("runId") in slots:
            obj["eventSlots"] = slots[obj["runId"]]
        try:
            out.append(build(obj, provenance, payloads))
        except ValueError as exc:  # RecordError, or a time that does not parse
            reject(shaper.raw(row), str(exc))
    return out


def entity_job(
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    location: str,
    key: bytes | None,
    slots: dict[str, list[dict[str, Any]]],
) -> tuple[list[RunRow] | list[EntityRow], list[tuple[dict[str, Any], str]]]:
    """Run rows (for `workflow_runs`) or entity rows of one batch, flattened for the store,
    and (row, reason) of those that could not be built.

    Runs in a worker process for large imports, so it takes and returns plain data only:
    flat tuples cost a tenth of what records cost to send back."""
    rejects: list[tuple[dict[str, Any], str]] = []
    built = records(
        Shaper(table, columns),
        rows,
        Provenance(location),
        Payloads(key),
        slots,
        lambda row, reason: rejects.append((row, reason)),
    )
    return [record.row() for record in built], rejects


def slot_rows(shaper: Shaper, rows: Iterable[Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
    """`workflow_event_slots` rows grouped by run, without the run id."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        obj = shaper.shape(row)
        run_id = obj.pop("runId", None)
        if isinstance(run_id, str):
            out.setdefault(run_id, []).append(obj)
    return out


def _plain(field: _Field, value: Any) -> Any:
    """Times as datetimes (record fields) or ISO-8601 text; JSON parsed (spec-1 payload
    columns revived as events' payloads are); an `error` text holding JSON parsed."""
    kind = field.kind
    if kind == "time":
        if value in _PG_INFINITY:
            return None
        moment = _EPOCH_2000 + timedelta(microseconds=value)
        return moment if field.record_field else moment.isoformat().replace("+00:00", "Z")
    if kind == "json":
        parsed = orjson.loads(value)
        if field.column in _LEGACY_PAYLOADS and is_devalue_document(parsed):
            return decode_legacy(parsed).value
        return parsed
    if kind == "bytes":
        return to_jsonable(value)
    if field.column == "error" and isinstance(value, str) and value.startswith("{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _cbor_value(blob: bytes) -> Any:
    """A decoded CBOR column; payload bytes stay bytes (the builders decode those).

    Most such columns are one tag-64 byte string or plain JSON data: cbor2 reads those
    without our hooks, and they need no `to_jsonable` pass."""
    stream = io.BytesIO(blob)
    try:
        quick = CBORDecoder(stream).decode()
    except Exception:  # any decoder complaint: `decode_cbor` below names it
        quick = None
    whole = stream.tell() == len(blob)
    if whole and type(quick) is CBORTag and quick.tag == 64 and type(quick.value) is bytes:
        return quick.value
    if whole and type(quick) in (dict, list) and plain_json(blob, quick):
        return quick  # a map or list of plain JSON values (an execution context, say)
    try:
        value = decode_cbor(blob)
    except DecodeError as exc:
        return {"__invalid": str(exc)}
    return value if isinstance(value, bytes) else to_jsonable(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
