"""Test-only: realistic DynamoDB items and tables in each preset layout.

Items come from the real world-postgres events of `tests/data/realdata` (ids minted by the SDK,
`eventData` exactly as cbor-x wrote it, so payloads are CBOR tag-64 `devl` bytes), laid out as
the public AWS World designs store them. Incident items add what the hosted backend's dumps
carry: a write time of their own and the fence (`lastKnownEventId`) the writer sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.realdata import REALDATA

# Fake credentials every test runs with (checked never to show up anywhere), and the region.
ACCESS_KEY = "AKIAFORENSICSTEST01"
SECRET_KEY = "forensics-test-secret-never-printed-0123456789"
REGION = "eu-west-1"
PG_EVENTS = REALDATA / "postgres" / "pg-events.jsonl"
PG_RUNS = PG_EVENTS.with_name("pg-workflow_runs.jsonl")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plain_items() -> list[dict[str, Any]]:
    """Every real event as a plain item of the PR #1371 layout (bytes for `B`)."""
    items = []
    for row in _jsonl(PG_EVENTS):
        item: dict[str, Any] = {
            "runId": row["run_id"],
            "eventId": row["id"],
            "eventType": row["type"],
            "specVersion": row["spec_version"],
            "createdAt": row["created_at"] + "Z",
        }
        if row["payload_cbor_b64"] is not None:
            item["eventData"] = base64.b64decode(row["payload_cbor_b64"])
        if row["correlation_id"] is not None:
            item["correlationId"] = row["correlation_id"]
        items.append(item)
    return items


def incident_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with a write time (epoch ms), the writer's fence and a stray attribute."""
    out, tail = [], {}
    for n, item in enumerate(sorted(items, key=lambda i: (i["runId"], i["eventId"]))):
        extra: dict[str, Any] = {"writtenAt": 1795000000000 + n, "shard": f"s{n % 3}"}
        if item["runId"] in tail:
            extra["lastKnownEventId"] = tail[item["runId"]]
        tail[item["runId"]] = item["eventId"]
        out.append({**item, **extra})
    return out


def run_items() -> list[dict[str, Any]]:
    """The real world-postgres runs as runs-table items (SDK field names)."""
    runs = []
    for row in _jsonl(PG_RUNS):
        item = {
            "runId": row["id"],
            "status": row["status"],
            "workflowName": row["name"],
            "deploymentId": row["deployment_id"],
            "specVersion": row["spec_version"],
            "createdAt": row["created_at"] + "Z",
        }
        if row.get("started_at"):
            item["startedAt"] = row["started_at"] + "Z"
        if row.get("completed_at"):
            item["completedAt"] = row["completed_at"] + "Z"
        if row.get("error_cbor_b64"):
            item["error"] = base64.b64decode(row["error_cbor_b64"])
        if row.get("output_cbor_b64"):
            item["output"] = base64.b64decode(row["output_cbor_b64"])
        runs.append(item)
    return runs


def typed(value: Any) -> dict[str, Any]:
    """A plain value as a DynamoDB typed value, as boto3's low-level client sends it."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [typed(v) for v in value]}
    raise TypeError(type(value))


def typed_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: typed(v) for k, v in item.items()}


def _key(name: str, kind: str) -> dict[str, str]:
    return {"AttributeName": name, "KeyType": kind}


def _attr(name: str) -> dict[str, str]:
    return {"AttributeName": name, "AttributeType": "S"}


def layout(preset: str) -> dict[str, Any]:
    """CreateTable arguments (less the name) of a preset's events table."""
    if preset == "aws-world-167":
        index = {"Projection": {"ProjectionType": "ALL"}}
        return {
            "KeySchema": [_key("eventId", "HASH")],
            "AttributeDefinitions": [_attr(a) for a in ("eventId", "runId", "createdAt")],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "runId-createdAt-index",
                    "KeySchema": [_key("runId", "HASH"), _key("createdAt", "RANGE")],
                    **index,
                }
            ],
        }
    if preset == "event-key-only":
        return {"KeySchema": [_key("eventId", "HASH")], "AttributeDefinitions": [_attr("eventId")]}
    if preset == "runs":
        return {"KeySchema": [_key("runId", "HASH")], "AttributeDefinitions": [_attr("runId")]}
    return {
        "KeySchema": [_key("runId", "HASH"), _key("eventId", "RANGE")],
        "AttributeDefinitions": [_attr("runId"), _attr("eventId")],
    }


def create_table(
    client: Any, name: str, preset: str, items: Iterable[dict[str, Any]], stream: str = ""
) -> str:
    """Create table `name` in the preset's layout (with a stream of view `stream`, if
    given), wait until it is active, write `items`."""
    args = layout(preset)
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    for index in args.get("GlobalSecondaryIndexes", []):
        index["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    client.create_table(
        TableName=name,
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        **args,
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append({"PutRequest": {"Item": typed_item(item)}})
        if len(batch) == 25:
            _write(client, name, batch)
            batch = []
    if batch:
        _write(client, name, batch)
    return name


def put(client: Any, name: str, item: dict[str, Any]) -> None:
    client.put_item(TableName=name, Item=typed_item(item))


def _write(client: Any, name: str, batch: list[dict[str, Any]]) -> None:
    while batch:
        done = client.batch_write_item(RequestItems={name: batch})
        batch = done.get("UnprocessedItems", {}).get(name, [])
