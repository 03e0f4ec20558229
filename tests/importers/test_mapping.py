"""The DynamoDB attribute mapping: typed values, presets, overrides, items to records."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from wire_helpers import pg_decoded_rows, pg_row_to_item, pg_rows, typed

from forensics.errors import UsageError
from forensics.importers.base import RecordError
from forensics.importers.mapping import (
    PRESETS,
    ROLES,
    describe_key,
    deserialize_attribute,
    deserialize_item,
    item_to_record,
    resolve_mapping,
)
from forensics.model import Provenance

HERE = Provenance("dump.json", "Items[0]")


def by_type(event_type: str) -> dict[str, Any]:
    return next(r for r in pg_rows() if r["type"] == event_type)


# -- typed values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed_value", "plain"),
    [
        ({"S": "wrun_1"}, "wrun_1"),
        ({"N": "3"}, 3),
        ({"N": "-12"}, -12),
        ({"N": "12345678901234567890123456789"}, 12345678901234567890123456789),
        ({"N": "1.5"}, 1.5),
        ({"N": "1e3"}, 1000.0),
        ({"B": "ZGV2bA=="}, b"devl"),
        ({"BOOL": False}, False),
        ({"NULL": True}, None),
        (
            {"M": {"a": {"N": "1"}, "b": {"L": [{"S": "x"}, {"NULL": True}]}}},
            {"a": 1, "b": ["x", None]},
        ),
        ({"SS": ["b", "a"]}, ["a", "b"]),
        ({"NS": ["10", "9", "1.5"]}, [1.5, 9, 10]),
        ({"BS": ["Yg==", "YQ=="]}, [b"a", b"b"]),
    ],
)
def test_deserialize_attribute(typed_value: dict[str, Any], plain: Any) -> None:
    assert deserialize_attribute(typed_value) == plain


def test_deserialize_accepts_boto3_bytes() -> None:
    assert deserialize_attribute({"B": b"\x00\x01"}) == b"\x00\x01"
    assert deserialize_attribute({"BS": [b"b", b"a"]}) == [b"a", b"b"]


@pytest.mark.parametrize(
    "bad",
    [
        {"N": "twelve"},
        {"N": "1_000"},
        {"B": "%%%"},
        {"S": 1},
        {"X": "1"},
        {"S": "a", "N": "1"},
        "x",
    ],
)
def test_deserialize_rejects(bad: Any) -> None:
    with pytest.raises(RecordError):
        deserialize_attribute(bad)


def test_deserialize_item_names_the_attribute() -> None:
    with pytest.raises(RecordError, match="attribute 'createdAt'"):
        deserialize_item({"runId": {"S": "r"}, "createdAt": {"N": "soon"}})


# -- presets and overrides ------------------------------------------------------------------


def test_default_preset_is_1371() -> None:
    mapping = resolve_mapping(None, {})
    assert mapping is PRESETS["aws-world-1371"]
    assert (mapping.hash_key, mapping.range_key) == ("runId", "eventId")
    assert mapping.roles["payload"] == "eventData"
    assert mapping.key_description() == (
        "HASH runId, RANGE eventId; GSI correlationId-createdAt (correlationId, createdAt)"
    )


def test_presets_describe_every_role_and_their_keys() -> None:
    assert set(PRESETS) == {"aws-world-1371", "aws-world-167", "incident-dump"}
    for preset in PRESETS.values():
        table = preset.role_table()
        assert [row[0] for row in table] == list(ROLES)
        assert all(row[2] for row in table)
        assert preset.description
        assert set(preset.roles) <= set(ROLES)
    m167 = PRESETS["aws-world-167"]
    assert (m167.hash_key, m167.range_key) == ("eventId", None)
    assert [i.name for i in m167.indexes] == [
        "runId-createdAt-index",
        "correlationId-createdAt-index",
    ]
    incident = PRESETS["incident-dump"]
    assert {r: incident.roles[r] for r in ("write_time", "fence", "state_updated_at")} == {
        "write_time": "writtenAt",
        "fence": "lastKnownEventId",
        "state_updated_at": "stateUpdatedAt",
    }


def test_overrides_rename_roles_and_keys() -> None:
    mapping = resolve_mapping("aws-world-1371", {"run_id": "pk", "event_id": "sk", "fence": "f"})
    assert (mapping.hash_key, mapping.range_key) == ("pk", "sk")
    assert mapping.roles["fence"] == "f"
    assert mapping.overrides == {"run_id": "pk", "event_id": "sk", "fence": "f"}
    assert PRESETS["aws-world-1371"].roles["run_id"] == "runId"  # the preset is untouched
    unmapped = resolve_mapping("incident-dump", {"fence": ""})
    assert "fence" not in unmapped.roles


def test_unknown_preset_and_role_list_the_valid_ones() -> None:
    with pytest.raises(UsageError) as preset:
        resolve_mapping("aws-world-9", {})
    assert preset.value.hint is not None
    assert all(name in preset.value.hint for name in PRESETS)
    with pytest.raises(UsageError) as role:
        resolve_mapping(None, {"writer": "x"})
    assert role.value.hint is not None
    assert all(name in role.value.hint for name in ROLES)
    with pytest.raises(UsageError, match="run_id cannot be unmapped"):
        resolve_mapping(None, {"run_id": ""})


# -- items to records -----------------------------------------------------------------------


def test_1371_item_decodes_cbor_event_data() -> None:
    row = by_type("step_completed")
    record = item_to_record(pg_row_to_item(row), PRESETS["aws-world-1371"], HERE)
    assert (record.run_id, record.event_id, record.event_type) == (
        row["run_id"],
        row["id"],
        "step_completed",
    )
    assert record.correlation_id == row["correlation_id"]
    assert record.spec_version == 3
    assert record.created_at == datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
    assert record.payload_field == "result"
    assert record.payload_format == "devl"
    assert record.payload_raw is not None and record.payload_raw.startswith(b"devl")
    assert record.event_data is not None and "result" not in record.event_data
    assert record.event_data["stepName"].startswith("step//")
    assert record.extra is None
    assert record.provenance == HERE


def test_cbor_and_json_event_data_give_the_same_record() -> None:
    decoded = {
        r["id"]: r["payload_cbor_decoded"] for r in pg_decoded_rows() if r["payload_cbor_b64"]
    }
    mapping = PRESETS["aws-world-1371"]
    for row in pg_rows():
        if row["payload_cbor_b64"] is None:
            continue
        from_cbor = item_to_record(pg_row_to_item(row), mapping, HERE)
        as_text = pg_row_to_item(row, eventData=orjson.dumps(decoded[row["id"]]).decode())
        as_map = pg_row_to_item(row, eventData=decoded[row["id"]])
        assert item_to_record(as_text, mapping, HERE) == from_cbor
        assert item_to_record(as_map, mapping, HERE) == from_cbor


def test_wait_created_dates_become_iso_text() -> None:
    row = by_type("wait_created")
    record = item_to_record(pg_row_to_item(row), PRESETS["aws-world-1371"], HERE)
    assert record.event_data is not None
    resume_at = record.event_data["resumeAt"]
    assert isinstance(resume_at, str) and resume_at.endswith("Z")


def test_bare_payload_bytes() -> None:
    row = by_type("run_created")
    item = pg_row_to_item(row)
    item["eventData"] = b"devl" + b'[{"a":1},2]'
    record = item_to_record(item, PRESETS["aws-world-1371"], HERE)
    assert (record.payload_field, record.payload_format, record.event_data) == (
        "input",
        "devl",
        None,
    )
    assert record.payload_decoded == {"a": 2}
    item["eventType"] = "run_started"
    with pytest.raises(RecordError, match="run_started has no payload field"):
        item_to_record(item, PRESETS["aws-world-1371"], HERE)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1763715940, datetime(2025, 11, 21, 9, 5, 40, tzinfo=UTC)),
        (1763715940.25, datetime(2025, 11, 21, 9, 5, 40, 250000, tzinfo=UTC)),
        (1763715940250, datetime(2025, 11, 21, 9, 5, 40, 250000, tzinfo=UTC)),
        ("1763715940250", datetime(2025, 11, 21, 9, 5, 40, 250000, tzinfo=UTC)),
        ("2025-11-21T09:05:40.250Z", datetime(2025, 11, 21, 9, 5, 40, 250000, tzinfo=UTC)),
        ("2025-11-21T09:05:40.250", datetime(2025, 11, 21, 9, 5, 40, 250000, tzinfo=UTC)),
    ],
)
def test_epoch_seconds_and_millis(value: Any, expected: datetime) -> None:
    item = pg_row_to_item(by_type("run_started"), createdAt=value, writtenAt=value)
    record = item_to_record(item, PRESETS["incident-dump"], HERE)
    assert record.created_at == expected
    assert record.write_time == expected


def test_incident_dump_fence_and_write_time() -> None:
    row = by_type("step_created")
    item = pg_row_to_item(
        row,
        writtenAt=1763715940123,
        lastKnownEventId="wevt_01M7YNQXYFMDWSBP2FNBJ89PSJ",
        stateUpdatedAt="2025-11-21T09:05:40.000Z",
        ttl=1800000000,
        blob=b"\x00\xff",
    )
    record = item_to_record(item, resolve_mapping("incident-dump", {}), HERE)
    assert record.fence_last_event_id == "wevt_01M7YNQXYFMDWSBP2FNBJ89PSJ"
    assert record.fence_state_updated_at == datetime(2025, 11, 21, 9, 5, 40, tzinfo=UTC)
    assert record.write_time == datetime(2025, 11, 21, 9, 5, 40, 123000, tzinfo=UTC)
    assert record.extra == {
        "ttl": 1800000000,
        "blob": {"__type": "Uint8Array", "data": base64.b64encode(b"\x00\xff").decode()},
    }
    # The 1371 layout has no such roles: the same attributes land in `extra`.
    plain = item_to_record(item, PRESETS["aws-world-1371"], HERE)
    assert plain.fence_last_event_id is None and plain.write_time is None
    assert plain.extra is not None
    assert plain.extra["lastKnownEventId"] == "wevt_01M7YNQXYFMDWSBP2FNBJ89PSJ"
    assert plain.extra["writtenAt"] == 1763715940123


def test_overridden_attribute_names() -> None:
    row = by_type("hook_received")
    item = pg_row_to_item(row)
    renamed = {
        "pk": item.pop("runId"),
        "sk": item.pop("eventId"),
        "type": item.pop("eventType"),
        "data": item.pop("eventData"),
        **item,
    }
    mapping = resolve_mapping(
        None, {"run_id": "pk", "event_id": "sk", "event_type": "type", "payload": "data"}
    )
    record = item_to_record(renamed, mapping, HERE)
    assert record == item_to_record(pg_row_to_item(row), PRESETS["aws-world-1371"], HERE)


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("runId", "missing run id: expected attribute 'runId' (role run_id"),
        ("eventId", "missing event id: expected attribute 'eventId' (role event_id"),
        ("eventType", "missing event type: expected attribute 'eventType' (role event_type"),
    ],
)
def test_missing_required_attribute(drop: str, message: str) -> None:
    item = pg_row_to_item(by_type("run_created"))
    del item[drop]
    with pytest.raises(RecordError) as err:
        item_to_record(item, PRESETS["aws-world-1371"], HERE)
    assert str(err.value).startswith(message)
    assert "--map" in str(err.value)


def test_bad_values_are_record_errors() -> None:
    item = pg_row_to_item(by_type("run_created"))
    for attribute, value, match in [
        ("eventData", b"\xb9\x00\x04broken", "eventData: cbor"),
        ("eventData", b"\xd8\x40\x43abc", "CBOR holds a bytes, not a map"),
        ("specVersion", "three", "specVersion"),
        ("createdAt", "yesterday", "createdAt"),
        ("runId", ["x"], "must be text"),
    ]:
        with pytest.raises(RecordError, match=match):
            item_to_record({**item, attribute: value}, PRESETS["aws-world-1371"], HERE)


def test_bytes_that_are_neither_cbor_nor_prefixed_are_a_bare_payload() -> None:
    item = {**pg_row_to_item(by_type("run_created")), "eventData": b"\x82\x01\x02"}
    record = item_to_record(item, PRESETS["aws-world-1371"], HERE)
    assert (record.event_data, record.payload_raw) == (None, b"\x82\x01\x02")
    assert record.payload_format in ("unknown", "invalid")


def test_describe_key() -> None:
    item = pg_row_to_item(by_type("run_created"))
    assert describe_key(item, PRESETS["aws-world-1371"]) == (
        f"runId={item['runId']}, eventId={item['eventId']}"
    )
    assert describe_key({}, PRESETS["aws-world-167"]) == "no key attributes"


def test_typed_round_trip_of_a_real_item() -> None:
    item = pg_row_to_item(by_type("step_created"))
    assert deserialize_item({k: typed(v) for k, v in item.items()}) == item
