"""DynamoDB dumps: `aws dynamodb scan` output and export-to-S3 JSON lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from wire_helpers import (
    ImportRunner,
    local_events,
    page,
    pg_row_to_item,
    pg_rows,
    scan_output,
    typed_item,
    write_export,
)

from forensics.errors import UsageError
from forensics.importers.base import ImportOptions
from forensics.importers.dynamodb_json import DynamoDbJsonImporter
from forensics.importers.files import read_head
from forensics.store import Store

DDB = DynamoDbJsonImporter()


@pytest.fixture
def items() -> list[dict[str, Any]]:
    """Every real world-postgres event as a #1371-layout item."""
    return [pg_row_to_item(r) for r in pg_rows()]


def write_scan(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=1))
    return path


def event_hashes(tmp_store: Store, import_id: int) -> set[tuple[str, str, str]]:
    _, rows = tmp_store.query(
        "SELECT run_id, event_id, content_hash FROM events WHERE import_id = ?", [import_id]
    )
    return {(str(a), str(b), str(c)) for a, b, c in rows}


def quarantined(tmp_store: Store, import_id: int) -> list[tuple[str, str]]:
    _, rows = tmp_store.query(
        "SELECT position, reason FROM quarantine WHERE import_id = ? ORDER BY position",
        [import_id],
    )
    return [(str(a), str(b)) for a, b in rows]


def test_scan_and_export_of_the_same_items_import_identically(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    scan = write_scan(tmp_path / "scan.json", scan_output(items))
    export = write_export(tmp_path / "0001.json.gz", items)
    assert DDB.detect(scan, read_head(scan))
    assert DDB.detect(export, read_head(export))
    first = run_import(DDB, scan)
    assert (first.read, first.stored, first.quarantined, first.status) == (448, 448, 0, "ok")
    second = run_import(DDB, export)
    assert (second.read, second.stored, second.conflicts) == (448, 0, 0)

    with Store(tmp_path / "other.duckdb") as other:
        with other.begin_import(DDB.name, str(export)) as session:
            DDB.import_path(export, session, ImportOptions())
            alone = session.finish()
        assert event_hashes(other, alone.import_id) == event_hashes(tmp_store, first.import_id)

    _, rows = tmp_store.query(
        "SELECT payload_format, count(*) FROM events GROUP BY ALL ORDER BY ALL"
    )
    assert dict(rows)["devl"] > 200
    _, rows = tmp_store.query(
        "SELECT source_position FROM events WHERE event_id = ?", [items[5]["eventId"]]
    )
    assert rows == [("Items[5]",)]


def test_export_positions_are_lines(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    export = write_export(tmp_path / "data.json", items[:4], gz=False)
    summary = run_import(DDB, export)
    _, rows = tmp_store.query(
        "SELECT event_id, source_position FROM events WHERE import_id = ?", [summary.import_id]
    )
    assert dict(rows) == {item["eventId"]: f"line {n}" for n, item in enumerate(items[:4], 1)}


def test_same_events_as_world_postgres_rows_would_give(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    summary = run_import(DDB, write_scan(tmp_path / "scan.json", scan_output(items)))
    _, rows = tmp_store.query(
        "SELECT event_type, count(*) FROM events WHERE import_id = ? GROUP BY ALL",
        [summary.import_id],
    )
    counts = dict(rows)
    assert counts["step_started"] == 95
    assert counts["run_created"] == 43
    _, rows = tmp_store.query(
        "SELECT count(*) FROM events WHERE payload_format IN ('invalid', 'unknown')"
    )
    assert rows == [(0,)]


@pytest.mark.parametrize("preset", ["aws-world-1371", "aws-world-167", "incident-dump"])
def test_every_preset_reads_the_public_names(
    tmp_path: Path, items: list[dict[str, Any]], run_import: ImportRunner, preset: str
) -> None:
    scan = write_scan(tmp_path / "scan.json", scan_output(items[:20]))
    summary = run_import(DDB, scan, ImportOptions(preset=preset))
    assert (summary.stored, summary.quarantined) == (20, 0)


def test_unknown_preset_is_a_usage_error(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store
) -> None:
    scan = write_scan(tmp_path / "scan.json", scan_output(items[:1]))
    with (
        tmp_store.begin_import(DDB.name, str(scan)) as session,
        pytest.raises(UsageError, match="unknown DynamoDB preset"),
    ):
        DDB.import_path(scan, session, ImportOptions(preset="nope"))


def test_incident_dump_fence_write_time_and_extra(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    dumped = [
        {
            **item,
            "writtenAt": 1795000000000 + n,  # epoch ms
            "lastKnownEventId": items[n - 1]["eventId"] if n else None,
            "stateUpdatedAt": 1795000000 + n,  # epoch s
            "shard": f"s{n % 3}",
            "ttl": 1800000000,
        }
        for n, item in enumerate(items[:10])
    ]
    scan = write_scan(tmp_path / "incident.json", scan_output(dumped))
    summary = run_import(DDB, scan, ImportOptions(preset="incident-dump"))
    assert summary.stored == 10
    _, rows = tmp_store.query(
        "SELECT event_id, fence_last_event_id, epoch_ms(write_time),"
        " epoch(fence_state_updated_at), extra->>'shard', CAST(extra->'ttl' AS BIGINT)"
        " FROM events WHERE import_id = ?",
        [summary.import_id],
    )
    got = {r[0]: r[1:] for r in rows}
    assert got[items[0]["eventId"]] == (None, 1795000000000, 1795000000, "s0", 1800000000)
    assert got[items[4]["eventId"]] == (
        items[3]["eventId"],
        1795000000004,
        1795000004,
        "s1",
        1800000000,
    )


def test_map_overrides(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    names = {
        "runId": "run",
        "eventId": "SK",
        "eventType": "kind",
        "eventData": "blob",
        "createdAt": "at",
    }
    renamed = [
        {
            "PK": f"RUN#{i['runId']}",
            "fenceId": "wevt_x",
            **{names.get(k, k): v for k, v in i.items()},
        }
        for i in items[:12]
    ]
    scan = write_scan(tmp_path / "custom.json", scan_output(renamed))
    mapping = {
        "run_id": "run",
        "event_id": "SK",
        "event_type": "kind",
        "payload": "blob",
        "created_at": "at",
        "fence": "fenceId",
    }
    summary = run_import(DDB, scan, ImportOptions(mapping=mapping))
    assert (summary.stored, summary.quarantined) == (12, 0)
    _, rows = tmp_store.query(
        "SELECT DISTINCT extra, fence_last_event_id FROM events WHERE import_id = ?"
        " AND event_id = ?",
        [summary.import_id, items[0]["eventId"]],
    )
    assert [(json.loads(rows[0][0]), rows[0][1])] == [
        ({"PK": f"RUN#{items[0]['runId']}"}, "wevt_x")
    ]
    # The same events under the preset's names: same content, so nothing new is stored.
    fenced = [{**i, "fenceId": "wevt_x"} for i in items[:12]]
    plain = write_scan(tmp_path / "plain.json", scan_output(fenced))
    reference = run_import(DDB, plain, ImportOptions(mapping={"fence": "fenceId"}))
    assert (reference.read, reference.stored, reference.conflicts) == (12, 0, 0)


def test_broken_items_quarantined_with_position_and_key(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    good = [typed_item(i) for i in items[:3]]
    no_type = typed_item({k: v for k, v in items[3].items() if k != "eventType"})
    bad_number = {**typed_item(items[4]), "specVersion": {"N": "three"}}
    scan = write_scan(
        tmp_path / "broken.json",
        {"Items": [*good, no_type, bad_number, "oops"], "Count": 6, "ScannedCount": 6},
    )
    summary = run_import(DDB, scan)
    assert (summary.stored, summary.quarantined, summary.status) == (3, 3, "partial")
    rows = quarantined(tmp_store, summary.import_id)
    assert rows[0] == (
        "Items[3]",
        f"Items[3] (runId={items[3]['runId']}, eventId={items[3]['eventId']}): missing event "
        "type: expected attribute 'eventType' (role event_type; item has createdAt, eventData, "
        "eventId, runId, specVersion; preset aws-world-1371, change it with --map "
        "event_type=NAME)",
    )
    assert rows[1][0] == "Items[4]"
    assert rows[1][1].startswith(
        f"Items[4] (runId={items[4]['runId']}, eventId={items[4]['eventId']}): attribute "
        "'specVersion': N value 'three' is not a number"
    )
    assert rows[2] == ("Items[5]", "Items[5] (no key attributes): expected an item object, got str")


def test_broken_export_lines(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    lines = [
        json.dumps({"Item": typed_item(items[0])}),
        "{not json",
        json.dumps({"Thing": {}}),
        "",
        json.dumps({"Item": typed_item({k: v for k, v in items[1].items() if k != "runId"})}),
        json.dumps({"Item": typed_item(items[2])}),
    ]
    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    summary = run_import(DDB, path)
    assert (summary.stored, summary.quarantined) == (2, 3)
    rows = quarantined(tmp_store, summary.import_id)
    assert [p for p, _ in rows] == ["line 2", "line 3", "line 5"]
    assert rows[0][1].startswith("line 2: invalid JSON")
    assert (
        rows[1][1] == 'line 3: not an item (no Item object, and not typed values such as {"S": …})'
    )
    assert rows[2][1].startswith(f"line 5 (eventId={items[1]['eventId']}): missing run id")


def test_pages_of_scans_and_their_notes(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    pages = [
        scan_output(items[:5], LastEvaluatedKey={"runId": {"S": "r"}, "eventId": {"S": "e"}}),
        {**scan_output(items[5:8]), "Count": 4},
    ]
    summary = run_import(DDB, write_scan(tmp_path / "pages.json", pages))
    assert summary.stored == 8
    assert any("LastEvaluatedKey" in n and "page 1" in n for n in summary.notes)
    assert any("Count says 4 items, the page holds 3" in n for n in summary.notes)
    _, rows = tmp_store.query(
        "SELECT source_position FROM events WHERE event_id = ?", [items[6]["eventId"]]
    )
    assert rows == [("page 2 Items[1]",)]
    appended = tmp_path / "appended.json"
    appended.write_text("\n".join(json.dumps(p) for p in pages))
    assert run_import(DDB, appended).read == 8


def test_export_directory(
    tmp_path: Path, items: list[dict[str, Any]], run_import: ImportRunner
) -> None:
    root = tmp_path / "AWSDynamoDB" / "01700000000000-abcd"
    (root / "data").mkdir(parents=True)
    (root / "manifest-summary.json").write_text(json.dumps({"itemCount": 30}))
    (root / "manifest-files.json").write_text(json.dumps({"itemCount": 30}))
    write_export(root / "data" / "a.json.gz", items[:10])
    write_export(root / "data" / "b.json.gz", items[10:30])
    assert DDB.detect(tmp_path / "AWSDynamoDB", b"")
    assert DDB.detect(root / "data", b"")
    assert run_import(DDB, tmp_path / "AWSDynamoDB").stored == 30


def test_detection_negatives(tmp_path: Path) -> None:
    api = tmp_path / "page.json"
    api.write_text(json.dumps(page(local_events()[:3])))
    assert not DDB.detect(api, read_head(api))
    plain = tmp_path / "items.json"
    plain.write_text(json.dumps({"Items": [{"runId": "wrun_1"}]}))
    assert not DDB.detect(plain, read_head(plain))
    other = tmp_path / "dir"
    other.mkdir()
    (other / "x.json").write_text("{}")
    assert not DDB.detect(other, b"")
    empty_scan = tmp_path / "empty.json"
    empty_scan.write_text(json.dumps({"Items": [], "Count": 0, "ScannedCount": 0}))
    assert DDB.detect(empty_scan, read_head(empty_scan))


def test_typed_items_one_per_line_without_the_item_wrapper(
    tmp_path: Path, items: list[dict[str, Any]], tmp_store: Store, run_import: ImportRunner
) -> None:
    """What `aws dynamodb scan … | jq -c '.Items[]'` saves: typed items, one a line."""
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(typed_item(item)) + "\n" for item in items))
    scan = write_scan(tmp_path / "scan.json", scan_output(items))
    assert DDB.detect(path, read_head(path))
    from forensics.importers.run import detect_format

    assert detect_format(path).name == DDB.name  # detected, not read as plain JSON Lines
    lines = run_import(DDB, path)
    assert (lines.read, lines.stored, lines.quarantined, lines.status) == (448, 448, 0, "ok")
    with Store(tmp_path / "other.duckdb") as other:
        with other.begin_import(DDB.name, str(scan)) as session:
            DDB.import_path(scan, session, ImportOptions())
            from_scan = session.finish()
        assert event_hashes(other, from_scan.import_id) == event_hashes(tmp_store, lines.import_id)
