"""DynamoDB attribute mappings: which item attribute plays which event role.

The hosted backend's table layout is not public and the public designs differ, so every
DynamoDB reader (the scan/export dump importer, a live-table importer) goes through a
`Mapping`: role -> attribute name, plus the key schema the layout was designed with (given as
roles, so `--map` overrides move the keys too). Named presets cover the known layouts. This
module also turns DynamoDB typed values into plain Python and a plain item into an
`EventRecord`; attributes no role claims are kept in `extra`, so nothing in a dump is lost.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

import orjson

from forensics.decode import (
    PAYLOAD_FIELDS,
    b64decode,
    decode_cbor,
    decode_payload,
    to_jsonable,
)
from forensics.decode.errors import DecodeError
from forensics.errors import UsageError
from forensics.importers.base import RecordError
from forensics.importers.normalize import int_field, parse_time, split_payload
from forensics.model import EventRecord, Provenance

ROLES: Final[dict[str, str]] = {
    "run_id": "run id (wrun_…)",
    "event_id": "event id (evnt_…/wevt_…)",
    "event_type": "event type (run_created, step_completed, …)",
    "correlation_id": "step/hook/wait id the event belongs to",
    "created_at": "the event's createdAt (ISO-8601 text or epoch s/ms)",
    "write_time": "when the backend wrote the item, if it differs from createdAt",
    "occurred_at": "client-side occurredAt",
    "spec_version": "spec version (number)",
    "payload": "eventData (CBOR bytes, JSON text or map) or only the payload bytes",
    "fence": "the tail event id the writer fenced on (lastKnownEventId)",
    "state_updated_at": "the run's stateUpdatedAt the writer saw",
    "resume_id": "hook_received dedup key",
}
REQUIRED_ROLES: Final = ("run_id", "event_id", "event_type")
DEFAULT_PRESET: Final = "aws-world-1371"

# Roles named like the event's own fields: the layout of every public design.
_EVENT_FIELDS: Final[dict[str, str]] = {
    "run_id": "runId",
    "event_id": "eventId",
    "event_type": "eventType",
    "correlation_id": "correlationId",
    "created_at": "createdAt",
    "occurred_at": "occurredAt",
    "spec_version": "specVersion",
    "payload": "eventData",
    "resume_id": "resumeId",
}
_INT_RE: Final = re.compile(r"-?[0-9]+")
_FLOAT_RE: Final = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_CBOR_START: Final = frozenset(range(0xA0, 0xC0)) | frozenset(range(0xD8, 0xDC))


@dataclass(frozen=True)
class SecondaryIndex:
    """A GSI of the layout, by role (so overrides rename its attributes too)."""

    name: str
    hash_role: str
    range_role: str | None = None


@dataclass(frozen=True)
class Mapping:
    """Role -> attribute name for one events table, with the key schema it was designed with.

    Roles missing from `roles` are not mapped (their values stay unknown). The key schema is
    informative for dumps and tells a live importer how to query by run.
    """

    preset: str
    description: str
    roles: dict[str, str]
    hash_role: str = "run_id"
    range_role: str | None = "event_id"
    indexes: tuple[SecondaryIndex, ...] = ()
    table: str = "workflow_events"
    overrides: dict[str, str] = field(default_factory=dict)

    def attribute(self, role: str) -> str | None:
        return self.roles.get(role)

    @property
    def hash_key(self) -> str:
        return self.roles[self.hash_role]

    @property
    def range_key(self) -> str | None:
        return self.roles.get(self.range_role) if self.range_role else None

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """Attributes that identify an item, for quarantine reasons (keys, then ids)."""
        names = [self.hash_key, self.range_key, self.roles["run_id"], self.roles["event_id"]]
        return tuple(dict.fromkeys(n for n in names if n))

    def role_table(self) -> list[tuple[str, str | None, str]]:
        """(role, attribute or None, what the role means) for every role, in ROLES order."""
        return [(role, self.roles.get(role), meaning) for role, meaning in ROLES.items()]

    def key_description(self) -> str:
        """The key schema in words: `HASH runId, RANGE eventId; GSI name (a, b)`."""
        text = f"HASH {self.hash_key}"
        if self.range_key:
            text += f", RANGE {self.range_key}"
        for index in self.indexes:
            keys = [self.roles.get(index.hash_role, index.hash_role)]
            if index.range_role:
                keys.append(self.roles.get(index.range_role, index.range_role))
            text += f"; GSI {index.name} ({', '.join(keys)})"
        return text


PRESETS: Final[dict[str, Mapping]] = {
    m.preset: m
    for m in (
        Mapping(
            preset="aws-world-1371",
            description=(
                "AWS World of vercel/workflow PR #1371: events keyed HASH runId / RANGE "
                "eventId; eventData is cbor-x CBOR in a B attribute, createdAt ISO-8601 text, "
                "specVersion a number"
            ),
            roles=dict(_EVENT_FIELDS),
            indexes=(SecondaryIndex("correlationId-createdAt", "correlation_id", "created_at"),),
        ),
        Mapping(
            preset="aws-world-167",
            description=(
                "AWS World of vercel/workflow PR #167: events keyed by eventId alone, queried "
                "by run and by correlation id through two GSIs; attribute names as in #1371"
            ),
            roles=dict(_EVENT_FIELDS),
            hash_role="event_id",
            range_role=None,
            indexes=(
                SecondaryIndex("runId-createdAt-index", "run_id", "created_at"),
                SecondaryIndex("correlationId-createdAt-index", "correlation_id", "created_at"),
            ),
        ),
        Mapping(
            preset="incident-dump",
            description=(
                "incident dumps of the hosted backend (layout not public, names chosen by "
                "forensics): the #1371 attributes plus writtenAt (per-item write time), "
                "lastKnownEventId (the writer's fence) and stateUpdatedAt (the run state "
                "the writer saw); override any of them with --map"
            ),
            roles={
                **_EVENT_FIELDS,
                "write_time": "writtenAt",
                "fence": "lastKnownEventId",
                "state_updated_at": "stateUpdatedAt",
            },
        ),
    )
}


def infer_preset(attributes: set[str]) -> str:
    """The preset whose attribute names the items use most (the default on a tie)."""

    def score(name: str) -> int:
        return sum(1 for attr in PRESETS[name].roles.values() if attr in attributes)

    best = max(PRESETS, key=lambda name: (score(name), name == DEFAULT_PRESET))
    return best if score(best) > score(DEFAULT_PRESET) else DEFAULT_PRESET


def resolve_mapping(preset: str | None, overrides: dict[str, str] | None = None) -> Mapping:
    """The preset (default `aws-world-1371`) with `role=attribute` overrides applied.

    An empty attribute name unmaps a role (not allowed for run id, event id and type).
    """
    name = preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise UsageError(
            f"unknown DynamoDB preset {name!r}",
            hint="use one of: " + ", ".join(PRESETS) + " (list them: forensics dynamodb-presets)",
        )
    base = PRESETS[name]
    if not overrides:
        return base
    roles = dict(base.roles)
    for role, given in overrides.items():
        if role not in ROLES:
            raise UsageError(f"unknown mapping role {role!r}", hint="roles: " + ", ".join(ROLES))
        attribute = given.strip()
        if attribute:
            roles[role] = attribute
        elif role in REQUIRED_ROLES:
            raise UsageError(
                f"role {role} cannot be unmapped", hint=f"give it an attribute: --map {role}=NAME"
            )
        else:
            roles.pop(role, None)
    return replace(base, roles=roles, overrides=dict(overrides))


# -- typed values -------------------------------------------------------------------------


def deserialize_attribute(typed: object) -> object:
    """One DynamoDB typed value (`{"S": "…"}`, `{"M": {…}}`, …) as a plain Python value.

    N becomes an exact int when integral in its text, else a float; B and BS accept base64
    text (dumps) or bytes (boto3's low-level client); sets become sorted lists.
    """
    if not isinstance(typed, dict) or len(typed) != 1:
        raise RecordError(f"not a DynamoDB typed value: {_short(typed)}")
    ((kind, value),) = typed.items()
    if kind == "S" and isinstance(value, str):
        return value
    if kind == "N":
        return _number(value)
    if kind == "B":
        return _binary(value)
    if kind == "BOOL" and isinstance(value, bool):
        return value
    if kind == "NULL" and value is True:  # DynamoDB writes only {"NULL": true}
        return None
    if kind == "M" and isinstance(value, dict):
        return {str(k): deserialize_attribute(v) for k, v in value.items()}
    if kind == "L" and isinstance(value, list):
        return [deserialize_attribute(v) for v in value]
    if kind in ("SS", "NS", "BS") and isinstance(value, list):
        convert = {"SS": _string, "NS": _number, "BS": _binary}[kind]
        return sorted(convert(v) for v in value)
    raise RecordError(f"bad DynamoDB value {_short(typed)} (type {kind!r})")


def deserialize_item(item: object) -> dict[str, object]:
    """A whole typed item (attribute -> typed value) as attribute -> plain value."""
    if not isinstance(item, dict):
        raise RecordError(f"expected an item object, got {type(item).__name__}")
    out: dict[str, object] = {}
    for name, typed in item.items():
        try:
            out[str(name)] = deserialize_attribute(typed)
        except RecordError as exc:
            raise RecordError(f"attribute {name!r}: {exc}") from None
    return out


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise RecordError(f"string set member {_short(value)} is not text")
    return value


def _number(value: object) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    raise RecordError(f"N value {_short(value)} is not a number")


def _binary(value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        try:
            return b64decode(value)
        except DecodeError as exc:
            raise RecordError(f"B value: {exc}") from None
    raise RecordError(f"B value {_short(value)} is neither base64 text nor bytes")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- items to records ---------------------------------------------------------------------


def item_to_record(
    item: dict[str, object],
    mapping: Mapping,
    provenance: Provenance,
    key: bytes | None = None,
) -> EventRecord:
    """One deserialized item as an event; raises `RecordError` naming what is missing/wrong."""
    claimed = set(mapping.roles.values())
    run_id = _required(item, mapping, "run_id")
    event_id = _required(item, mapping, "event_id")
    event_type = _required(item, mapping, "event_type")
    spec = _spec(item, mapping)
    data, whole = _event_data(item, mapping, event_type)
    try:
        meta, name, raw, decoded = split_payload(
            event_type, data or {}, spec, hydrated=False, key=key
        )
    except DecodeError as exc:
        raise RecordError(f"{mapping.roles['payload']}: {exc}") from None
    extra = {k: extra_value(v) for k, v in item.items() if k not in claimed}
    return EventRecord(
        run_id=run_id,
        event_id=event_id,
        event_type=event_type,
        provenance=provenance,
        correlation_id=_optional_text(item, mapping, "correlation_id"),
        created_at=_time(item, mapping, "created_at"),
        occurred_at=_time(item, mapping, "occurred_at"),
        write_time=_time(item, mapping, "write_time"),
        spec_version=spec,
        resume_id=_optional_text(item, mapping, "resume_id"),
        fence_last_event_id=_optional_text(item, mapping, "fence"),
        fence_state_updated_at=_time(item, mapping, "state_updated_at"),
        event_data=_json_dict(meta) if whole else None,
        payload_field=name,
        payload_raw=raw,
        payload_decoded=decoded.value if decoded else None,
        payload_format=decoded.format if decoded else "absent",
        extra=extra or None,
    )


def extra_value(value: object) -> object:
    """An unmapped attribute as JSON; bytes keep their base64 and gain what they decode to.

    A `B` attribute holding CBOR (as cbor-x writes) or prefixed payload bytes (`devl`, …)
    gets `decoded` (and `format`) beside its `Uint8Array` marker; other bytes stay as they are.
    """
    safe = to_jsonable(value)
    if not isinstance(value, bytes) or not value or not isinstance(safe, dict):
        return safe
    if value[0] in _CBOR_START:
        with suppress(DecodeError):
            inner = decode_cbor(value)
            if not isinstance(inner, bytes):  # a cbor-x Uint8Array holds payload bytes
                safe["decoded"], safe["format"] = to_jsonable(inner), "cbor"
                return safe
            value = inner
    decoded = decode_payload(value)
    if decoded.format not in ("unknown", "invalid"):
        safe["decoded"], safe["format"] = decoded.value, decoded.format
    return safe


def describe_key(item: dict[str, object], mapping: Mapping) -> str:
    """`runId=…, eventId=…` for the key attributes the item has (for quarantine reasons)."""
    parts = [f"{a}={item[a]!s:.80}" for a in mapping.key_attributes if item.get(a) is not None]
    return ", ".join(parts) if parts else "no key attributes"


def _required(item: dict[str, object], mapping: Mapping, role: str) -> str:
    attribute = mapping.roles[role]
    value = item.get(attribute)
    if value is None or value == "":
        raise RecordError(
            f"missing {ROLES[role].split(' (')[0]}: expected attribute {attribute!r} "
            f"(role {role}; item has {', '.join(sorted(item)) or 'no attributes'}; "
            f"preset {mapping.preset}, change it with --map {role}=NAME)"
        )
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"{attribute} ({role}) must be text, got {_short(value)}")


def _optional_text(item: dict[str, object], mapping: Mapping, role: str) -> str | None:
    attribute = mapping.roles.get(role)
    value = item.get(attribute) if attribute else None
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"{attribute} ({role}) must be text, got {_short(value)}")


def _time(item: dict[str, object], mapping: Mapping, role: str) -> datetime | None:
    attribute = mapping.roles.get(role)
    value = item.get(attribute) if attribute else None
    if isinstance(value, str) and _FLOAT_RE.fullmatch(value.strip()):
        value = _number(value)  # epoch numbers stored as text
    return parse_time(value, str(attribute))


def _spec(item: dict[str, object], mapping: Mapping) -> int | None:
    attribute = mapping.roles.get("spec_version")
    value = item.get(attribute) if attribute else None
    return int_field(value, f"{attribute} (spec_version)")


def _event_data(
    item: dict[str, object], mapping: Mapping, event_type: str
) -> tuple[dict[str, Any] | None, bool]:
    """eventData from the payload attribute, told apart by content (see ROLES["payload"]).

    The flag says whether it is the whole eventData (False: only its payload was stored).
    """
    attribute = mapping.roles.get("payload")
    value = item.get(attribute) if attribute else None
    if value is None:
        return None, False
    if isinstance(value, dict):
        return value, True
    if isinstance(value, bytes) and value and value[0] in _CBOR_START:
        try:
            decoded = decode_cbor(value)
        except DecodeError as exc:
            raise RecordError(f"{attribute}: {exc}") from None
        if not isinstance(decoded, dict):
            raise RecordError(f"{attribute}: CBOR holds a {type(decoded).__name__}, not a map")
        return decoded, True
    if isinstance(value, str):
        parsed = _json_or_none(value)
        if isinstance(parsed, dict):
            return parsed, True
        value = parsed if parsed is not None else value
    # Only the payload itself: put it back under the event type's payload field.
    name = PAYLOAD_FIELDS.get(event_type)
    if name is None:
        raise RecordError(
            f"{attribute} holds a bare payload, but {event_type} has no payload field"
        )
    return {name: value}, False


def _json_or_none(text: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _json_dict(value: dict[str, Any]) -> dict[str, Any]:
    safe = to_jsonable(value)
    assert isinstance(safe, dict)
    return safe
