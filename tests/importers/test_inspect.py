"""The `workflow inspect --json` importer on the real CLI captures of both worlds.

The CLI's hydrated values are checked against our own decoding of the raw data: the world-local
import of the same runs, and the CBOR rows of world-postgres. They agree exactly except where
the CLI's display revivers drop information: a `Request` (the webhook runs' `hook_received`
payload and the `__builtin_response_text` step input) loses its `__type` and its header
entries, and its body becomes a stream ref. `cli_view` applies those rules to our values, after
which every payload of both worlds is equal. A postgres `hook_created` stores `metadata` as
CBOR `undefined`; the CLI leaves the field out.
"""

from __future__ import annotations

import base64
import json
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.decode import PAYLOAD_FIELDS, cli_view, decode_cbor, decode_payload, unwrap_binary
from forensics.importers.base import ImportOptions
from forensics.importers.files import read_head
from forensics.importers.inspect_json import InspectImporter
from forensics.importers.run import detect_format
from forensics.importers.world_local import WorldLocalImporter
from forensics.model import ImportSummary
from forensics.store import Store
from tests.realdata import REALDATA

INSPECT = InspectImporter()
FATAL_RUN = "wrun_01M7YNNAST44YFK7BMMFBCW7YR"  # local fatalWorkflow: 2 steps, a run_failed
WEBHOOK_RUNS = 3  # webhookWorkflow runs of the main scenario (their Request payloads differ)


def _extract(archive: Path, target: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The `inspect/` folder of each world, extracted once."""
    return {
        world: _extract(
            REALDATA / world / "inspect.tar.gz", tmp_path_factory.mktemp(f"inspect-{world}")
        )
        / "inspect"
        for world in ("local", "postgres")
    }


@pytest.fixture(scope="module")
def local_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("world-local")
    return _extract(REALDATA / "local" / "workflow-data.tar.gz", target) / ".workflow-data"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "inspect.duckdb") as store:
        yield store


def load(store: Store, path: Path, importer: Any = INSPECT) -> ImportSummary:
    with store.begin_import(importer.name, str(path)) as session:
        importer.import_path(path, session, ImportOptions())
        summary: ImportSummary = session.finish()
        return summary


def rows(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return store.query(sql, list(params) if params else None)[1]


def per_run(capture: Path, name: str) -> list[Path]:
    return sorted((capture / "per-run").glob(f"*/{name}"))


def detects(path: Path) -> bool:
    return INSPECT.detect(path, b"" if path.is_dir() else read_head(path))


def write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2))
    return path


def events_by_id(store: Store) -> dict[str, tuple[Any, ...]]:
    """event id → (run, type, correlation, created, spec, event_data, field, payload)."""
    found = rows(
        store,
        "SELECT event_id, run_id, event_type, correlation_id, created_at, spec_version,"
        " event_data, payload_field, payload_decoded FROM events",
    )
    return {
        r[0]: (
            *r[1:6],
            json.loads(r[6]) if r[6] else None,
            r[7],
            json.loads(r[8]) if r[8] else None,
        )
        for r in found
    }


def local_events(tmp_path: Path, local_dir: Path) -> dict[str, tuple[Any, ...]]:
    with Store(tmp_path / "world-local.duckdb") as store:
        load(store, local_dir, WorldLocalImporter())
        return events_by_id(store)


# -- detection ------------------------------------------------------------------------------


def test_detects_inspect_output_only(captures: dict[str, Path], tmp_path: Path) -> None:
    capture = captures["local"]
    run = capture / "per-run" / FATAL_RUN
    for path in (capture, run, capture / "runs.json", capture / "hooks.json"):
        assert detects(path), path
    for name in ("events.json", "steps.json", "run.json"):
        assert detects(run / name), name
    assert not detects(run / "sleeps.json")  # `[]`: nothing says what it is
    assert detect_format(capture / "runs.json").name == "inspect"

    # An API v1 page is the same envelope, but its payloads are still bytes.
    raw_events = [
        json.loads(line)
        for line in (REALDATA / "local" / "local-events.jsonl").read_text().splitlines()[:20]
    ]
    api_page = write(tmp_path / "page.json", {"data": raw_events, "cursor": None, "hasMore": False})
    assert not detects(api_page)
    assert detect_format(api_page).name != "inspect"
    as_base64 = [
        {**e, "eventData": {**e["eventData"], "input": e["eventData"]["input"]["data"]}}
        if e["eventType"] == "run_created"
        else e
        for e in raw_events
    ]
    assert not detects(write(tmp_path / "b64.json", {"data": as_base64, "hasMore": False}))
    lines = tmp_path / "events.jsonl"
    lines.write_text(
        "\n".join(json.dumps(e) for e in json.loads((run / "events.json").read_text()))
    )
    assert not detects(lines)
    assert not detects(write(tmp_path / "other.json", {"name": "not inspect output"}))
    assert not detects(write(tmp_path / "pages.json", [{"data": [], "hasMore": False}]))


# -- events against the raw data ------------------------------------------------------------


def test_local_events_match_the_world_local_import(
    db: Store, captures: dict[str, Path], local_dir: Path, tmp_path: Path
) -> None:
    files = per_run(captures["local"], "events.json")
    assert len(files) == 43
    summaries = [load(db, f) for f in files]
    assert sum(s.stored for s in summaries) == 448
    assert all(s.notes == () and s.quarantined == 0 for s in summaries)
    ours = local_events(tmp_path, local_dir)
    cli = events_by_id(db)

    assert set(cli) == set(ours)
    # Ids, types, correlation ids, times, spec versions and event metadata are identical.
    assert {k: v[:7] for k, v in cli.items()} == {k: v[:7] for k, v in ours.items()}
    assert rows(
        db, "SELECT DISTINCT payload_format FROM events WHERE payload_field IS NOT NULL"
    ) == [("hydrated",)]
    differ = {k for k in cli if cli[k][7] != ours[k][7]}
    assert {k: cli[k][7] for k in cli} == {k: cli_view(ours[k][7]) for k in ours}
    # Only the webhook Requests differ before the CLI's projection.
    assert sorted((ours[k][1], ours[k][6]) for k in differ) == sorted(
        [("hook_received", "payload")] * WEBHOOK_RUNS + [("step_created", "input")] * WEBHOOK_RUNS
    )
    requests = [ours[k][7] for k in differ]
    assert all(r.get("__type", r.get("thisVal", {}).get("__type")) == "Request" for r in requests)


def test_postgres_events_match_the_raw_cbor_rows(db: Store, captures: dict[str, Path]) -> None:
    for file in per_run(captures["postgres"], "events.json"):
        load(db, file)
    cli = events_by_id(db)
    raw_rows = [
        json.loads(line)
        for line in (REALDATA / "postgres" / "pg-events.jsonl").read_text().splitlines()
    ]

    assert len(cli) == len(raw_rows) == 448
    undefined_metadata = 0
    for row in raw_rows:
        run_id, event_type, cid, created, spec, _data, field, payload = cli[row["id"]]
        assert (run_id, event_type, cid, spec) == (
            row["run_id"],
            row["type"],
            row["correlation_id"],
            row["spec_version"],
        )
        # The table holds microseconds; the CLI prints milliseconds.
        stored = datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
        assert abs((created - stored).total_seconds()) < 0.001
        data = (
            decode_cbor(base64.b64decode(row["payload_cbor_b64"]))
            if row["payload_cbor_b64"]
            else {}
        )
        assert isinstance(data, dict)
        name = PAYLOAD_FIELDS.get(row["type"])
        if name is None or name not in data:
            assert field is None
            # `metadata: undefined` in CBOR: dropped by our decoder, left out by the CLI.
            undefined_metadata += event_type == "hook_created"
            continue
        raw = unwrap_binary(data[name])
        ours = decode_payload(raw).value if raw is not None else data[name]
        assert field == name
        assert payload == cli_view(ours), row["id"]
    assert undefined_metadata == 14


def test_newest_first_listing_gives_the_same_events(
    db: Store, captures: dict[str, Path], tmp_path: Path
) -> None:
    events = json.loads((captures["local"] / "per-run" / FATAL_RUN / "events.json").read_text())
    newest_first = write(tmp_path / "events.json", list(reversed(events)))

    summary = load(db, newest_first)

    assert summary.stored == len(events) == 9
    assert summary.notes == ("1 event listings are newest first (the CLI's default)",)
    assert rows(db, "SELECT event_id FROM run_log ORDER BY log_position") == [
        (e["eventId"],) for e in events
    ]
    assert rows(db, "SELECT DISTINCT source_location FROM events") == [("events.json",)]
    assert rows(
        db, "SELECT source_position FROM events WHERE event_id = ?", events[0]["eventId"]
    ) == [("8",)]


# -- runs, steps, hooks ---------------------------------------------------------------------


RUN_COLUMNS = (
    "SELECT * EXCLUDE (import_id, source_location, extra), extra->'$.input', extra->'$.output'"
    " FROM run_records ORDER BY run_id"
)


def test_runs_listing_and_run_object(
    db: Store, captures: dict[str, Path], local_dir: Path, tmp_path: Path
) -> None:
    summary = load(db, captures["local"] / "runs.json")
    assert (summary.runs, summary.read) == (43, 0)
    with Store(tmp_path / "wl.duckdb") as wl:
        load(wl, local_dir, WorldLocalImporter())
        # Status, names, times, error and error code, input and output all agree.
        assert rows(db, RUN_COLUMNS) == rows(wl, RUN_COLUMNS)

    single = load(db, captures["local"] / "per-run" / FATAL_RUN / "run.json")
    assert single.runs == 1
    assert rows(
        db,
        "SELECT status, error_code, source_location FROM run_records WHERE run_id = ?",
        FATAL_RUN,
    ) == [("failed", "USER_ERROR", "run.json")]


def entity_rows(store: Store, where: str = "") -> list[tuple[Any, ...]]:
    """Entity columns, with input/output as the CLI would show them."""
    found = rows(
        store,
        "SELECT run_id, entity_id, kind, name, token, status, attempt, created_at, started_at,"
        " completed_at, extra->'$.isWebhook', extra->'$.input', extra->'$.output'"
        f" FROM entities {where}",
    )
    return sorted(
        (*r[:-2], *(None if v is None else cli_view(json.loads(v)) for v in r[-2:])) for r in found
    )


def test_steps_and_hooks_listings(
    db: Store, captures: dict[str, Path], local_dir: Path, tmp_path: Path
) -> None:
    for file in per_run(captures["local"], "steps.json"):
        load(db, file)
    hooks = load(db, captures["local"] / "hooks.json")
    assert hooks.entities == 2
    with Store(tmp_path / "wl.duckdb") as wl:
        load(wl, local_dir, WorldLocalImporter())
        ours = entity_rows(wl, "WHERE kind <> 'wait'")
    cli = entity_rows(db)
    assert len(cli) == 89
    assert cli == ours


# -- analytics rows, folders, broken items --------------------------------------------------


def test_analytics_rows_are_imported_and_flagged(
    db: Store, captures: dict[str, Path], tmp_path: Path
) -> None:
    """Hosted backend without --withData: no eventData, naive UTC datetimes."""
    events = json.loads((captures["local"] / "per-run" / FATAL_RUN / "events.json").read_text())
    analytics = []
    for e in events:
        analytics.append(
            {
                "runId": e["runId"],
                "eventId": e["eventId"],
                "eventType": e["eventType"],
                "correlationId": e.get("correlationId"),
                "entityId": e.get("correlationId") or e["runId"],
                "stepName": (e.get("eventData") or {}).get("stepName"),
                "workflowName": "workflow//./workflows/demo//fatalWorkflow",
                "deploymentId": "dpl_local@4.4.1",
                "specVersion": 3,
                "runCreatedAt": "2026-11-21 09:05:40.174",
                "createdAt": e["createdAt"].replace("T", " ").rstrip("Z"),
            }
        )
    path = write(tmp_path / "analytics.json", {"data": analytics, "cursor": None, "hasMore": False})
    assert detects(path)

    summary = load(db, path)

    assert (summary.stored, summary.quarantined) == (9, 0)
    assert summary.notes == (
        "9 analytics rows without eventData (inspect without --withData):"
        " payloads absent, their runs are inconclusive",
    )
    found = rows(
        db,
        "SELECT event_type, created_at, event_data->>'$.stepName', payload_format,"
        " extra->>'$.analytics', extra->>'$.entityId', extra->>'$.stepName'"
        " FROM events ORDER BY event_id",
    )
    assert [(r[0], r[1]) for r in found] == [
        (e["eventType"], datetime.fromisoformat(e["createdAt"])) for e in events
    ]
    assert {r[3] for r in found} == {"absent"}
    assert {r[4] for r in found} == {"true"}
    assert found[2][2] == "step//./workflows/demo//note"  # step_created
    assert found[2][5] == events[2]["correlationId"]
    assert found[0][2] is None and found[0][6] is None


def test_capture_folder_imports_as_one(db: Store, captures: dict[str, Path]) -> None:
    summary = load(db, captures["postgres"])

    assert (summary.read, summary.stored, summary.quarantined) == (448, 448, 0)
    assert (summary.runs, summary.entities) == (86, 89)  # runs.json and every run.json
    assert summary.notes == (
        "15 sleeps not imported (`inspect sleeps` listings)",
        "3 streams not imported (`inspect streams` listings)",
    )
    assert rows(db, "SELECT count(*) FROM run_records") == [(43,)]
    assert rows(db, "SELECT count(DISTINCT source_location) FROM events") == [(43,)]


def test_broken_items_are_quarantined_and_the_rest_imports(
    db: Store, captures: dict[str, Path], tmp_path: Path
) -> None:
    events = json.loads((captures["local"] / "per-run" / FATAL_RUN / "events.json").read_text())
    del events[3]["eventType"]
    events[4]["createdAt"] = "yesterday"
    events.append("not an event")
    summary = load(db, write(tmp_path / "events.json", events))

    assert (summary.stored, summary.quarantined, summary.status) == (7, 3, "partial")
    assert rows(db, "SELECT position, reason FROM quarantine ORDER BY position") == [
        ("3", "missing eventType"),
        ("4", "createdAt 'yesterday' is not an ISO-8601 time"),
        ("9", "expected an object, got str"),
    ]

    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [')
    summary = load(db, broken)
    assert (summary.quarantined, summary.read) == (1, 0)


def test_an_envelope_with_more_pages_is_noted(
    db: Store, captures: dict[str, Path], tmp_path: Path
) -> None:
    listing = json.loads((captures["local"] / "runs.json").read_text())
    first_page = {"data": listing["data"][:2], "cursor": "next-page", "hasMore": True}
    summary = load(db, write(tmp_path / "runs.json", first_page))
    assert summary.runs == 2
    assert summary.notes == (
        "runs.json: hasMore is true, later pages were not saved (the listing is incomplete)",
    )


def test_large_files_are_detected_from_their_head(
    captures: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("forensics.importers.inspect_json.MAX_PARSE", 100)
    assert detects(captures["local"] / "per-run" / FATAL_RUN / "events.json")
    raw_events = (REALDATA / "local" / "local-events.jsonl").read_text().splitlines()[:5]
    page = tmp_path / "page.json"
    page.write_text('{"data": [' + ",".join(raw_events) + '], "hasMore": false}')
    assert not detects(page)
