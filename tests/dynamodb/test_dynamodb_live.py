"""The live importer against a real DynamoDB-compatible server: scans, queries, pages, runs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ddb_items import incident_items, plain_items, run_items, typed_item

from forensics.importers.base import ImportOptions
from forensics.importers.dynamodb_json import DynamoDbJsonImporter
from forensics.importers.dynamodb_live import Connection, LiveOptions, import_dynamodb
from forensics.model import ImportSummary
from forensics.store import Store

Make = Callable[..., Any]


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return plain_items()


def by_run(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        runs.setdefault(item["runId"], []).append(item)
    return runs


def calls(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
    """Every operation the client is asked to make from now on, with its parameters."""
    made: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        made.append((model.name, json.loads(params["body"] or b"{}")))

    conn.client.meta.events.register("before-call.dynamodb", record)
    return made


def run(
    store: Store, conn: Connection, live: LiveOptions | None = None, **options: Any
) -> ImportSummary:
    return import_dynamodb(store, conn, ImportOptions(**options), live or LiveOptions())


def stored(store: Store, import_id: int) -> set[tuple[str, str, str]]:
    _, rows = store.query(
        "SELECT run_id, event_id, CAST(content_hash AS VARCHAR) FROM events WHERE import_id = ?",
        [import_id],
    )
    return {(str(a), str(b), str(c)) for a, b, c in rows}


def test_scan_reads_every_real_event_with_one_describe_and_scan(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_store: Store
) -> None:
    conn = connection(make_table("aws-world-1371", items))
    made = calls(conn)
    summary = run(tmp_store, conn)
    assert (summary.read, summary.stored, summary.quarantined, summary.status) == (
        448,
        448,
        0,
        "ok",
    )
    assert [op for op, _ in made] == ["DescribeTable", "Scan"]
    _, rows = tmp_store.query("SELECT event_type, count(*) FROM events GROUP BY ALL")
    assert dict(rows)["step_started"] == 95
    _, rows = tmp_store.query(
        "SELECT count(*) FROM events WHERE payload_format IN ('invalid', 'unknown')"
    )
    assert rows == [(0,)]


def test_four_segments_store_exactly_what_one_scan_stores(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_path: Path
) -> None:
    table = make_table("aws-world-1371", items)
    results = []
    for segments in (1, 4):
        conn = connection(table)
        made = calls(conn)
        with Store(tmp_path / f"s{segments}.duckdb") as store:
            summary = run(store, conn, LiveOptions(segments=segments, page_size=50))
            results.append(stored(store, summary.import_id))
        scans = [p for op, p in made if op == "Scan"]
        assert {p.get("Segment") for p in scans} == ({None} if segments == 1 else {0, 1, 2, 3})
    assert len(results[0]) == 448
    assert results[0] == results[1]


def test_query_by_run_reads_only_that_run(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_store: Store
) -> None:
    runs = by_run(items)
    chosen = sorted(runs)[:2]
    conn = connection(make_table("aws-world-1371", items))
    made = calls(conn)
    summary = run(tmp_store, conn, LiveOptions(runs=tuple(chosen)))
    assert summary.stored == sum(len(runs[r]) for r in chosen)
    assert sorted(op for op, _ in made) == ["DescribeTable", "Query", "Query"]
    _, rows = tmp_store.query("SELECT DISTINCT run_id FROM events ORDER BY 1")
    assert [r[0] for r in rows] == chosen


@pytest.mark.parametrize("extra_pages", [0, 1])
def test_pages_that_end_exactly_at_the_limit(
    items: list[dict[str, Any]],
    make_table: Make,
    connection: Make,
    tmp_store: Store,
    extra_pages: int,
) -> None:
    runs = by_run(items)
    target = max(runs, key=lambda r: len(runs[r]))
    size = len(runs[target])  # one page holding the whole run, then DynamoDB's empty page
    conn = connection(make_table("aws-world-1371", items))
    made = calls(conn)
    limit = size if extra_pages == 0 else size - 1
    summary = run(tmp_store, conn, LiveOptions(runs=(target,), page_size=limit))
    assert summary.stored == size
    queries = [p for op, p in made if op == "Query"]
    assert len(queries) == 2
    assert "ExclusiveStartKey" in queries[1]
    assert summary.notes[-1] == f"read {size} item(s) in 2 page(s) (2 Query)"


def test_scan_pages_at_the_limit_follow_to_the_empty_last_page(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_store: Store
) -> None:
    conn = connection(make_table("aws-world-1371", items[:40]))
    made = calls(conn)
    summary = run(tmp_store, conn, LiveOptions(page_size=10))
    assert summary.stored == 40
    assert [op for op, _ in made].count("Scan") == 5
    assert summary.notes[-1] == "read 40 item(s) in 5 page(s) (5 Scan)"


def test_items_that_do_not_map_are_quarantined_with_key_and_reason(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_store: Store
) -> None:
    good = items[:5]
    no_type = {k: v for k, v in items[5].items() if k != "eventType"}
    bad_spec = {**items[6], "specVersion": "three"}
    bad_cbor = {**items[7], "eventData": b"\xa3\x01"}
    conn = connection(make_table("aws-world-1371", [*good, no_type, bad_spec, bad_cbor]))
    summary = run(tmp_store, conn)
    assert (summary.stored, summary.quarantined, summary.status) == (5, 3, "partial")
    _, rows = tmp_store.query("SELECT reason, raw FROM quarantine ORDER BY reason")
    reasons = {r[0].split(" (", 1)[1].split(")")[0]: r[0] for r in rows}
    key = f"runId={items[5]['runId']}, eventId={items[5]['eventId']}"
    assert reasons[key].endswith(
        "missing event type: expected attribute 'eventType' (role event_type; item has "
        "createdAt, eventData, eventId, runId, specVersion; preset aws-world-1371, change it "
        "with --map event_type=NAME)"
    )
    assert reasons[key].startswith("scan page 1 item ")
    key6 = f"runId={items[6]['runId']}, eventId={items[6]['eventId']}"
    assert reasons[key6].endswith("specVersion (spec_version) 'three' is not an integer")
    key7 = f"runId={items[7]['runId']}, eventId={items[7]['eventId']}"
    assert "eventData" in reasons[key7]
    raws = [json.loads(r[1]) for r in rows]
    assert all("runId" in raw and "eventId" in raw for raw in raws)


def test_a_scan_dump_of_the_same_table_imports_identically(
    items: list[dict[str, Any]],
    make_table: Make,
    connection: Make,
    admin: Any,
    tmp_path: Path,
) -> None:
    table = make_table("incident-dump", incident_items(items))
    with Store(tmp_path / "live.duckdb") as store:
        live = run(store, connection(table), preset="incident-dump")
        live_rows = _comparable(store)
    dump = tmp_path / "scan.json"
    dump.write_text(json.dumps(_aws_cli_scan(admin, table)))
    with Store(tmp_path / "dump.duckdb") as store, store.begin_import("x", str(dump)) as session:
        DynamoDbJsonImporter().import_path(dump, session, ImportOptions(preset="incident-dump"))
        dumped = session.finish()
        dump_rows = _comparable(store)
    assert (live.stored, dumped.stored) == (448, 448)
    assert live_rows == dump_rows


def _comparable(store: Store) -> list[tuple[Any, ...]]:
    _, rows = store.query(
        "SELECT run_id, event_id, CAST(content_hash AS VARCHAR), CAST(event_data AS VARCHAR),"
        " CAST(payload_decoded AS VARCHAR), CAST(extra AS VARCHAR), write_time,"
        " fence_last_event_id FROM events ORDER BY run_id, event_id"
    )
    return rows


def _aws_cli_scan(client: Any, table: str) -> dict[str, Any]:
    """What `aws dynamodb scan --table-name T` prints: typed JSON, B values in base64."""
    found: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        found.extend(page["Items"])

    def text(value: Any) -> Any:
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        if isinstance(value, dict):
            return {k: text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [text(v) for v in value]
        return value

    return {"Items": text(found), "Count": len(found), "ScannedCount": len(found)}


def test_incident_preset_keeps_write_time_fence_and_unmapped_attributes(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_store: Store
) -> None:
    dumped = incident_items(items)
    conn = connection(make_table("incident-dump", dumped))
    run(tmp_store, conn, preset="incident-dump")
    second = dumped[1]
    _, rows = tmp_store.query(
        "SELECT fence_last_event_id, epoch_ms(write_time), extra->>'shard' FROM events"
        " WHERE event_id = ?",
        [second["eventId"]],
    )
    assert rows == [(dumped[0]["eventId"], second["writtenAt"], second["shard"])]
    _, rows = tmp_store.query("SELECT count(*) FROM events WHERE fence_last_event_id IS NULL")
    assert rows == [(len(by_run(items)),)]  # each run's first event has no fence


def test_map_overrides_rename_the_keys(
    items: list[dict[str, Any]], make_table: Make, admin: Any, connection: Make, tmp_store: Store
) -> None:
    renamed = [
        {
            "pk": i["runId"],
            "sk": i["eventId"],
            **{k: v for k, v in i.items() if k not in ("runId", "eventId")},
        }
        for i in items[:30]
    ]
    name = "events_renamed"
    admin.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    admin.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
    for item in renamed:
        admin.put_item(TableName=name, Item=typed_item(item))
    target = items[0]["runId"]
    conn = connection(name)
    summary = run(
        tmp_store, conn, LiveOptions(runs=(target,)), mapping={"run_id": "pk", "event_id": "sk"}
    )
    assert summary.stored == sum(1 for i in items[:30] if i["runId"] == target)
    assert not any("keyed" in n for n in summary.notes)


def test_run_index_layout_and_scan_fallback(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_path: Path
) -> None:
    runs = by_run(items)
    target = sorted(runs)[3]
    with Store(tmp_path / "a.duckdb") as store:
        conn = connection(make_table("aws-world-167", items))
        made = calls(conn)
        summary = run(store, conn, LiveOptions(runs=(target,)), preset="aws-world-167")
        assert summary.stored == len(runs[target])
        indexes = [p.get("IndexName") for op, p in made if op == "Query"]
        assert indexes == ["runId-createdAt-index"]
        assert "runs are read through index 'runId-createdAt-index' (eventually consistent)" in (
            summary.notes
        )
    with Store(tmp_path / "b.duckdb") as store:
        table = make_table("event-key-only", items)
        conn = connection(table)
        made = calls(conn)
        summary = run(store, conn, LiveOptions(runs=(target,), segments=2), preset="aws-world-167")
        assert summary.stored == len(runs[target])
        scans = [p for op, p in made if op == "Scan"]
        assert [p["FilterExpression"] for p in scans] == ["#run IN (:r0)", "#run IN (:r0)"]
        assert summary.notes[0] == (
            f"no key or index of {table!r} starts with 'runId': the whole table is scanned "
            "with a filter on the run ids"
        )


def test_incremental_query_reads_from_the_mark_and_catches_late_commits(
    items: list[dict[str, Any]], make_table: Make, admin: Any, connection: Make, tmp_store: Store
) -> None:
    runs = by_run(items)
    target = sorted(runs)[0]
    table = make_table("aws-world-1371", runs[target])
    first = run(tmp_store, connection(table), LiveOptions(runs=(target,)))
    assert first.stored == len(runs[target])
    last = max(i["eventId"] for i in runs[target])
    late = {**runs[target][1], "eventId": last[:-3] + "000", "eventType": "step_started"}
    newer = {**runs[target][1], "eventId": last[:-1] + "Z", "eventType": "step_started"}
    for item in (late, newer):
        admin.put_item(TableName=table, Item=typed_item(item))
    conn = connection(table)
    made = calls(conn)
    again = run(tmp_store, conn, LiveOptions(runs=(target,)))
    assert (again.stored, again.duplicates) == (2, again.read - 2)
    [count, query] = [p for op, p in made if op == "Query"]
    assert (count["KeyConditionExpression"], count["Select"]) == ("#run = :run", "COUNT")
    assert query["KeyConditionExpression"] == "#run = :run AND #event >= :mark"
    assert query["ExpressionAttributeValues"][":mark"]["S"] < late["eventId"]
    # nothing new: the count alone says so, and nothing is read
    conn = connection(table)
    made = calls(conn)
    idle = run(tmp_store, conn, LiveOptions(runs=(target,)))
    assert (idle.read, idle.stored) == (0, 0)
    assert [p.get("Select") for op, p in made if op == "Query"] == ["COUNT"]
    # an item far below the look-back window (its id minted a day before it was written)
    first = min(i["eventId"] for i in runs[target])
    prefix, _, body = first.rpartition("_")
    older = f"{prefix}_{body[:2]}0{body[3:]}"  # minted years earlier
    assert older < first
    admin.put_item(
        TableName=table,
        Item=typed_item({**runs[target][1], "eventId": older, "eventType": "step_started"}),
    )
    conn = connection(table)
    made = calls(conn)
    caught = run(tmp_store, conn, LiveOptions(runs=(target,)))
    assert caught.stored == 1
    whole = [p["KeyConditionExpression"] for op, p in made if op == "Query" and "Select" not in p]
    assert whole == ["#run = :run AND #event >= :mark", "#run = :run"]
    assert caught.notes[-2] == (
        "1 run(s) held items below their look-back window (committed late, or quarantined):"
        f" read again whole ({target})"
    )
    conn = connection(table)
    made = calls(conn)
    full = run(tmp_store, conn, LiveOptions(runs=(target,), full=True))
    assert (full.read, full.stored) == (len(runs[target]) + 3, 0)
    assert [p["KeyConditionExpression"] for op, p in made if op == "Query"] == ["#run = :run"]


def test_runs_table_goes_into_runs(
    items: list[dict[str, Any]], make_table: Make, connection: Make, tmp_store: Store
) -> None:
    events = make_table("aws-world-1371", items)
    runs_table = make_table("runs", run_items())
    conn = connection(events)
    made = calls(conn)
    summary = run(tmp_store, conn, LiveOptions(segments=2, runs_table=runs_table))
    assert (summary.stored, summary.runs) == (448, 43)
    assert {op for op, _ in made} == {"DescribeTable", "Scan"}
    _, rows = tmp_store.query(
        "SELECT status, count(*) FROM runs WHERE status_from_record GROUP BY ALL ORDER BY 1"
    )
    assert rows == [("cancelled", 2), ("completed", 29), ("failed", 9), ("running", 3)]
    _, rows = tmp_store.query(
        "SELECT count(*) FROM run_records WHERE (error->>'message') IS NOT NULL"
    )
    assert rows == [(9,)]
    _, rows = tmp_store.query(
        "SELECT count(*) FROM run_records WHERE (extra->'output'->>'format') = 'devl'"
    )
    assert rows == [(29,)]
