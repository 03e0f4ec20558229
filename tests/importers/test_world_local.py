"""The world-local importer on the real data directory and on layouts built from it."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forensics.importers import world_local
from forensics.importers.base import ImportOptions
from forensics.importers.run import detect_format, import_paths
from forensics.importers.world_local import WorldLocalImporter, split_name
from forensics.model import ImportSummary
from forensics.store import Store
from tests.realdata import REALDATA

# The README's table: event types per world.
README_COUNTS = {
    "run_created": 43,
    "run_started": 43,
    "run_completed": 29,
    "run_failed": 9,
    "run_cancelled": 2,
    "step_created": 87,
    "step_started": 95,
    "step_completed": 81,
    "step_retrying": 6,
    "step_failed": 6,
    "hook_created": 14,
    "hook_received": 9,
    "wait_created": 15,
    "wait_completed": 9,
}
PENDING_WAIT_RUN = "wrun_01M7YNP78WWYR2ATSC1D7VVY98"
PENDING_HOOK_RUN = "wrun_01M7YNP78V66G73VW82PK0KD6D"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = REALDATA / "local" / "workflow-data.tar.gz"
    target = tmp_path_factory.mktemp("world-local")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / ".workflow-data"


@pytest.fixture
def data_dir(pristine: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the real data directory."""
    return Path(shutil.copytree(pristine, tmp_path / "app" / ".workflow-data"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "test.duckdb") as store:
        yield store


def load(store: Store, path: Path, options: ImportOptions | None = None) -> ImportSummary:
    with store.begin_import("world-local", str(path)) as session:
        WorldLocalImporter().import_path(path, session, options or ImportOptions())
        return session.finish()


def rows(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return store.query(sql, list(params) if params else None)[1]


def event_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "events").glob("*.json"))


def read(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(path.read_text())
    return value


# -- detection ------------------------------------------------------------------------------


def test_detects_data_dirs_and_their_parent_but_nothing_else(
    data_dir: Path, tmp_path: Path
) -> None:
    importer = WorldLocalImporter()
    assert importer.detect(data_dir, b"")
    assert importer.detect(data_dir.parent, b"")  # the app folder holding .workflow-data
    only_layout = tmp_path / "only-layout"
    only_layout.mkdir()
    (only_layout / "layout.json").write_text('{"schema":1,"state":"run-scoped"}')
    assert importer.detect(only_layout, b"")
    assert not importer.detect(tmp_path / "missing", b"")
    assert not importer.detect(data_dir / "version.txt", b"@workflow")
    assert not importer.detect(data_dir / "events", b"")
    assert detect_format(data_dir).name == "world-local"


def test_split_name_keeps_the_tag() -> None:
    assert split_name("wrun_A-evnt_B.json") == ("wrun_A-evnt_B", None)
    assert split_name("wrun_A-evnt_B.vitest-0.json") == ("wrun_A-evnt_B", "vitest-0")
    assert split_name("wrun_A-evnt_B.0.json") == ("wrun_A-evnt_B.0", None)  # not a tag


# -- the real directory ---------------------------------------------------------------------


def test_real_directory_imports_everything(db: Store, data_dir: Path) -> None:
    summary = load(db, data_dir)

    assert (summary.read, summary.stored, summary.quarantined) == (448, 448, 0)
    assert (summary.runs, summary.entities, summary.status) == (43, 90, "ok")
    assert summary.notes == ()
    assert dict(rows(db, "SELECT event_type, count(*) FROM run_log GROUP BY 1")) == README_COUNTS
    assert dict(rows(db, "SELECT kind, count(*) FROM entities GROUP BY 1")) == {
        "step": 87,
        "hook": 2,
        "wait": 1,
    }
    assert dict(rows(db, "SELECT status, count(*) FROM run_records GROUP BY 1")) == {
        "completed": 29,
        "failed": 9,
        "cancelled": 2,
        "running": 3,
    }
    # Every bytes payload is devalue; the 4.x inline errors stay plain values.
    assert dict(rows(db, "SELECT payload_format, count(*) FROM events GROUP BY 1")) == {
        "devl": 249,
        "json": 21,
        "absent": 178,
    }
    assert rows(db, "SELECT count(*) FROM events WHERE staged OR source_tag IS NOT NULL") == [(0,)]
    bad_location = rows(
        db,
        "SELECT count(*) FROM events"
        " WHERE source_location <> 'events/' || run_id || '-' || event_id || '.json'"
        " OR source_position IS NOT NULL",
    )
    assert bad_location == [(0,)]


def test_run_and_entity_records_keep_their_fields(db: Store, data_dir: Path) -> None:
    load(db, data_dir)

    run = rows(
        db,
        "SELECT workflow_name, status, deployment_id, spec_version, error_code,"
        " json_extract(error, '$.message'), extra->>'$.input', extra->>'$.payloadFormats.input',"
        " source_location FROM run_records WHERE run_id = ?",
        "wrun_01M7YNNAST44YFK7BMMFBCW7YR",
    )
    assert run == [
        (
            "workflow//./workflows/demo//fatalWorkflow",
            "failed",
            "dpl_local@4.4.1",
            3,
            "USER_ERROR",
            '"invalid input: bad-local-main-mwq6nign-0"',
            '["bad-local-main-mwq6nign-0"]',
            "devl",
            "runs/wrun_01M7YNNAST44YFK7BMMFBCW7YR.json",
        )
    ]
    wait = rows(
        db,
        "SELECT run_id, entity_id, status, resume_at - created_at"
        " FROM entities WHERE kind = 'wait'",
    )
    assert [w[:3] for w in wait] == [
        (PENDING_WAIT_RUN, "wait_01M7YNP7A2WWTT9QFCSD85TWQT", "waiting")
    ]
    assert str(wait[0][3]) == "1:00:00"
    hooks = rows(
        db,
        "SELECT run_id, token, extra->>'$.isWebhook' FROM entities WHERE kind = 'hook' ORDER BY 1",
    )
    assert hooks == [
        (PENDING_HOOK_RUN, "abandoned:local-pending-mwq6o4yh-0", "false"),
        ("wrun_01M7YNP78WWYR2ATSC1D7VVY97", "fDsNXIeNMKcbHN1gkmDtr", "true"),
    ]
    step = rows(
        db,
        "SELECT name, status, attempt, extra->>'$.input', extra->>'$.output' FROM entities"
        " WHERE entity_id = 'step_01M7YNNAV1RS7G2HWXWVZ58495'",
    )
    assert step == [
        (
            "step//./workflows/demo//loadOrder",
            "completed",
            1,
            '{"args":["ord-local-main-mwq6nign-0"]}',
            '{"orderId":"ord-local-main-mwq6nign-0","amount":250,"currency":"EUR"}',
        )
    ]


def test_reimport_adds_nothing(db: Store, data_dir: Path) -> None:
    load(db, data_dir)
    again = load(db, data_dir)

    assert (again.read, again.stored, again.duplicates, again.conflicts) == (448, 0, 448, 0)
    assert rows(db, "SELECT count(*) FROM events") == [(448,)]
    assert rows(db, "SELECT count(*) FROM entities") == [(90,)]


def test_import_through_the_cli_machinery(db: Store, data_dir: Path) -> None:
    (summary,) = import_paths(db, [data_dir.parent])  # the app folder: .workflow-data found
    assert (summary.source_kind, summary.stored, summary.runs) == ("world-local", 448, 43)
    assert rows(
        db, "SELECT count(*) FROM events WHERE source_location LIKE '.workflow-data/%'"
    ) == [(448,)]


def test_progress_is_reported(db: Store, data_dir: Path) -> None:
    seen: list[int] = []
    load(db, data_dir, ImportOptions(progress=seen.append))
    assert seen == [448]  # every 1000 files, and the rest at the end


# -- layouts, tags, temp files --------------------------------------------------------------


def make_run_scoped(data_dir: Path, files: list[Path]) -> None:
    """Move event and step files into per-run folders, as world-local's migration does."""
    for file in files:
        run_id = read(file)["runId"]
        target = file.parent / run_id
        target.mkdir(exist_ok=True)
        file.rename(target / file.name)


def test_run_scoped_layout(db: Store, data_dir: Path, tmp_path: Path) -> None:
    flat_db = Store(tmp_path / "flat.duckdb")
    load(flat_db, data_dir)
    flat = set(rows(flat_db, "SELECT run_id, event_id, content_hash FROM events"))
    flat_db.close()
    make_run_scoped(data_dir, event_files(data_dir) + sorted((data_dir / "steps").glob("*.json")))
    (data_dir / "layout.json").write_text('{"schema":1,"state":"run-scoped"}')

    summary = load(db, data_dir)

    assert (summary.stored, summary.entities, summary.notes) == (448, 90, ())
    assert set(rows(db, "SELECT run_id, event_id, content_hash FROM events")) == flat
    located = rows(
        db,
        "SELECT count(*) FROM events WHERE source_location"
        " = 'events/' || run_id || '/' || run_id || '-' || event_id || '.json'",
    )
    assert located == [(448,)]
    assert rows(
        db, "SELECT count(*) FROM entities WHERE source_location LIKE 'steps/wrun_%/%'"
    ) == [(87,)]


def test_migrating_layout_reads_both_and_keeps_one_copy(db: Store, data_dir: Path) -> None:
    files = event_files(data_dir)
    for file in files[:100]:  # interrupted copy: in both places
        run_dir = data_dir / "events" / read(file)["runId"]
        run_dir.mkdir(exist_ok=True)
        shutil.copy(file, run_dir / file.name)
    make_run_scoped(data_dir, files[100:200])  # moved
    (data_dir / "layout.json").write_text('{"schema":1,"state":"migrating"}')

    summary = load(db, data_dir)

    assert (summary.read, summary.stored, summary.duplicates) == (548, 448, 100)
    assert summary.notes == ("layout migrating: read 348 flat and 200 run-scoped event files",)
    assert dict(rows(db, "SELECT event_type, count(*) FROM run_log GROUP BY 1")) == README_COUNTS


def test_run_scoped_files_without_layout_json_are_read_and_noted(db: Store, data_dir: Path) -> None:
    make_run_scoped(data_dir, event_files(data_dir)[:10])
    summary = load(db, data_dir)
    assert summary.stored == 448
    assert summary.notes == ("no layout.json, yet 10 event files are run-scoped",)


def test_tag_suffix_is_kept_as_provenance(db: Store, data_dir: Path) -> None:
    file = event_files(data_dir)[0]
    tagged = file.with_name(file.name.replace(".json", ".vitest-0.json"))
    file.rename(tagged)
    run = data_dir / "runs" / "wrun_01M7YNNASS8KVC54EGYKZ763NW.json"
    run.rename(run.with_name("wrun_01M7YNNASS8KVC54EGYKZ763NW.vitest-0.json"))

    summary = load(db, data_dir)

    assert (summary.stored, summary.runs, summary.notes) == (448, 43, ())
    event = read(tagged)
    assert rows(
        db, "SELECT event_id, source_tag, source_location FROM events WHERE source_tag IS NOT NULL"
    ) == [(event["eventId"], "vitest-0", f"events/{tagged.name}")]


def test_half_written_temp_files_are_ignored(db: Store, data_dir: Path) -> None:
    file = event_files(data_dir)[0]
    (file.parent / f"{file.name}.tmp.01M7YNNATD58W8H0D3AA2N49TK").write_text('{"eventTy')
    (data_dir / "runs" / "wrun_X.json.tmp.01M7YNNATD58W8H0D3AA2N49TK").write_text("")

    summary = load(db, data_dir)

    assert (summary.read, summary.quarantined, summary.status) == (448, 0, "ok")
    assert summary.notes == ("skipped 2 half-written *.json.tmp.* files",)


def test_run_id_comes_from_the_content(db: Store, data_dir: Path) -> None:
    file = event_files(data_dir)[0]
    event = read(file)
    file.rename(file.with_name(f"wrun_some-other-run-{event['eventId']}.json"))

    summary = load(db, data_dir)

    assert summary.stored == 448
    assert rows(db, "SELECT run_id FROM events WHERE event_id = ?", event["eventId"]) == [
        (event["runId"],)
    ]
    assert summary.notes == ("1 event files are named unlike their content's run/event id",)


# -- staged events and broken files ---------------------------------------------------------


def test_staged_hook_received_is_imported_but_not_in_the_log(db: Store, data_dir: Path) -> None:
    """A resume staged under `.locks/runs/<runId>.pending/` that was never promoted."""
    received = next(
        read(f) for f in event_files(data_dir) if read(f)["eventType"] == "hook_received"
    )
    staged_id = "evnt_01M7YNP8000000000000000000"  # a valid ULID after the run's last event
    staged = {**received, "runId": PENDING_HOOK_RUN, "eventId": staged_id}
    staged["correlationId"] = "hook_01M7YNP79TV4W2YMDJNVHQP3SG"
    pending = data_dir / ".locks" / "runs" / f"{PENDING_HOOK_RUN}.pending"
    pending.mkdir(parents=True)
    (pending / f"{staged_id}.json").write_text(json.dumps(staged, indent=2))
    # A tagged world stages under `<runId>.pending.<tag>/`; a crashed attempt may leave `{}`.
    tagged = pending.with_name(f"{PENDING_HOOK_RUN}.pending.vitest-0")
    tagged.mkdir()
    tagged_id = "evnt_01M7YNP8000000000000000001"
    (tagged / f"{tagged_id}.json").write_text(json.dumps({**staged, "eventId": tagged_id}))
    (tagged / "evnt_01M7YNP8000000000000000002.json").write_text("{}")
    (data_dir / ".locks" / "runs" / f"{PENDING_HOOK_RUN}.terminal").write_text("")

    summary = load(db, data_dir)

    assert (summary.read, summary.stored, summary.quarantined) == (450, 450, 1)
    assert summary.notes == ()
    assert rows(db, "SELECT source_tag FROM events WHERE event_id = ?", tagged_id) == [
        ("vitest-0",)
    ]
    assert rows(db, "SELECT location, reason FROM quarantine") == [
        (
            f".locks/runs/{tagged.name}/evnt_01M7YNP8000000000000000002.json",
            "missing eventType",
        )
    ]
    assert rows(
        db,
        "SELECT event_type, staged, payload_format, source_location FROM events WHERE event_id = ?",
        staged_id,
    ) == [
        (
            "hook_received",
            True,
            "devl",
            f".locks/runs/{PENDING_HOOK_RUN}.pending/{staged_id}.json",
        )
    ]
    assert rows(db, "SELECT count(*) FROM run_log WHERE staged OR event_id = ?", staged_id) == [
        (0,)
    ]
    assert rows(db, "SELECT count(*) FROM run_log") == [(448,)]


def test_broken_files_are_quarantined_and_the_rest_imports(db: Store, data_dir: Path) -> None:
    files = event_files(data_dir)
    truncated, typeless = files[3], files[4]
    truncated.write_text(truncated.read_text()[:40])
    event = read(typeless)
    del event["eventType"]
    typeless.write_text(json.dumps(event))
    run_file = data_dir / "runs" / "wrun_01M7YNNASS8KVC54EGYKZ763NW.json"
    run_file.write_text("[1, 2]")
    step_file = sorted((data_dir / "steps").glob("*.json"))[0]
    step = read(step_file)
    step["attempt"] = "twice"
    step_file.write_text(json.dumps(step))

    summary = load(db, data_dir)

    assert (summary.read, summary.stored, summary.quarantined) == (446, 446, 4)
    assert (summary.runs, summary.entities, summary.status) == (42, 89, "partial")
    quarantined = dict(rows(db, "SELECT location, reason FROM quarantine"))
    assert set(quarantined) == {
        f"events/{truncated.name}",
        f"events/{typeless.name}",
        f"runs/{run_file.name}",
        f"steps/{step_file.name}",
    }
    assert quarantined[f"events/{typeless.name}"] == "missing eventType"
    assert quarantined[f"runs/{run_file.name}"] == "expected a JSON object, got list"
    assert quarantined[f"steps/{step_file.name}"] == "attempt 'twice' is not an integer"
    assert rows(
        db, "SELECT raw FROM quarantine WHERE location = ?", f"events/{truncated.name}"
    ) == [(truncated.read_text(),)]
    assert rows(db, "SELECT count(*) FROM run_log") == [(446,)]


def test_an_import_through_worker_processes_stores_the_same(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large directories are parsed by worker processes (in several jobs); what they store,
    quarantine and note is what the in-process path stores, row for row."""
    broken = event_files(data_dir)[3]
    broken.write_text(broken.read_text()[:40])
    tables = {
        "events": "SELECT * EXCLUDE (import_id) FROM events ORDER BY run_id, event_id",
        "run_records": "SELECT * EXCLUDE (import_id) FROM run_records ORDER BY run_id",
        "entities": "SELECT * EXCLUDE (import_id) FROM entities ORDER BY run_id, entity_id",
        "quarantine": "SELECT location, reason, raw FROM quarantine ORDER BY location",
    }

    def stored(name: str) -> tuple[ImportSummary, dict[str, list[tuple[Any, ...]]]]:
        with Store(tmp_path / f"{name}.duckdb") as store:
            summary = load(store, data_dir)
            return summary, {t: rows(store, sql) for t, sql in tables.items()}

    inline_summary, inline = stored("inline")
    monkeypatch.setattr(world_local, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(world_local, "_PARSE_BATCH", 50)
    monkeypatch.setattr(world_local, "_STORE_BATCH", 120)
    pooled_summary, pooled = stored("pooled")
    assert (pooled_summary.read, pooled_summary.quarantined) == (447, 1)
    assert dataclasses.replace(pooled_summary, import_id=0) == dataclasses.replace(
        inline_summary, import_id=0
    )
    for name in tables:  # every value of every row, provenance included
        assert pooled[name] == inline[name], name
