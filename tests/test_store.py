"""The store: migrations, exactly-once imports, conflicts, staged events, derived id columns."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from dsl import RUN, ev

from forensics.analysis.ids import ulid_time_ms
from forensics.errors import StoreError
from forensics.model import Provenance, QuarantineRecord
from forensics.store import Store
from forensics.store.schema import MIGRATIONS, Migration


def _import(store: Store, records: list, where: str = "src") -> tuple[int, int, int, int]:
    with store.begin_import("test", where) as session:
        session.add_events(records)
        s = session.finish()
    return s.read, s.stored, s.duplicates, s.conflicts


def test_empty_store_has_schema_and_no_runs(tmp_store: Store) -> None:
    assert tmp_store.schema_version() == MIGRATIONS[-1].version
    assert tmp_store.query("SELECT * FROM runs")[1] == []
    assert tmp_store.query("SELECT * FROM run_log")[1] == []


def test_opening_an_older_file_upgrades_it_and_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()
    extra = Migration(MIGRATIONS[-1].version + 1, "test table", "CREATE TABLE later (a INT)")
    with Store(path, migrations=(*MIGRATIONS, extra)) as store:
        assert store.schema_version() == extra.version
        assert store.query("SELECT count(*) FROM later")[1] == [(0,)]
    with pytest.raises(StoreError, match="newer forensics"):
        Store(path)


def test_reimport_adds_nothing(tmp_store: Store) -> None:
    log = [ev(1, "run_created"), ev(2, "run_started"), ev(3, "step_created", "step_A")]
    assert _import(tmp_store, log) == (3, 3, 0, 0)
    assert _import(tmp_store, log, "other source") == (3, 0, 3, 0)
    assert tmp_store.query("SELECT count(*) FROM events")[1] == [(3,)]


def test_repeats_inside_one_import_are_stored_once(tmp_store: Store) -> None:
    log = [ev(1, "run_created"), ev(1, "run_created"), ev(2, "run_started")]
    assert _import(tmp_store, log) == (3, 2, 1, 0)


def test_different_content_for_one_event_keeps_both_and_marks_the_conflict(
    tmp_store: Store,
) -> None:
    first = ev(3, "step_created", "step_A", {"stepName": "drain"})
    _import(tmp_store, [ev(1, "run_created"), first], "dynamodb dump")
    second = replace(first, event_data={"stepName": "sync"}, provenance=Provenance("json"))
    assert _import(tmp_store, [second], "json dump") == (1, 1, 0, 1)
    rows = tmp_store.query(
        "SELECT conflict, json_extract_string(event_data, '$.stepName') FROM events"
        " WHERE event_id = ? ORDER BY import_id",
        [first.event_id],
    )[1]
    assert rows == [(True, "drain"), (True, "sync")]
    # the log keeps one copy per event id: the earliest import's
    assert tmp_store.query(
        "SELECT json_extract_string(event_data, '$.stepName') FROM run_log WHERE event_id = ?",
        [first.event_id],
    )[1] == [("drain",)]
    assert tmp_store.query("SELECT copies FROM event_conflicts")[1] == [(2,)]


def test_write_side_metadata_is_not_a_conflict(tmp_store: Store) -> None:
    plain = ev(1, "run_created")
    _import(tmp_store, [plain])
    with_write_time = replace(plain, write_time=plain.created_at, fence_last_event_id="x")
    assert _import(tmp_store, [with_write_time], "dynamo") == (1, 1, 0, 0)


def test_a_microsecond_copy_is_the_same_event_as_its_millisecond_copy(tmp_store: Store) -> None:
    # PostgreSQL keeps microseconds, a JSON export milliseconds: .327818 and .327 agree
    exact = ev(1, "run_created")
    exact = replace(exact, created_at=exact.created_at.replace(microsecond=327_818))
    _import(tmp_store, [exact], "postgres")
    export = replace(exact, created_at=exact.created_at.replace(microsecond=327_000))
    assert _import(tmp_store, [export], "json export") == (1, 0, 1, 0)
    later = replace(exact, created_at=exact.created_at.replace(microsecond=328_000))
    assert _import(tmp_store, [later], "other export") == (1, 1, 0, 1)


def test_upgrade_rehashes_copies_that_rounded_times_had_set_apart(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    before = [m for m in MIGRATIONS if m.version < 6]
    exact = ev(1, "run_created")
    exact = replace(exact, created_at=exact.created_at.replace(microsecond=327_818))
    with Store(path, migrations=before) as store:
        _import(store, [exact], "postgres")
        # what an earlier build stored for a JSON export's copy: .327818 had counted as .328,
        # so the two copies had different hashes and were both marked
        store.con.execute(
            "INSERT INTO events SELECT * REPLACE (import_id + 1 AS import_id,"
            " created_at - INTERVAL 818 MICROSECOND AS created_at,"
            " content_hash + 1 AS content_hash) FROM events"
        )
        store.con.execute("UPDATE events SET conflict = true")
    with Store(path) as store:
        rows = store.query("SELECT import_id, conflict FROM events")[1]
    assert rows == [(1, False)]  # the earliest copy stays, and nothing disagrees


def test_staged_events_stay_out_of_the_log(tmp_store: Store) -> None:
    _import(tmp_store, [ev(1, "run_created"), ev(5, "hook_received", "hook_A", staged=True)])
    assert tmp_store.query("SELECT count(*) FROM run_log")[1] == [(1,)]
    assert tmp_store.query("SELECT count(*) FROM events WHERE staged")[1] == [(1,)]


def test_id_columns_are_derived_per_scheme(tmp_store: Store) -> None:
    ulid = ev(1, "run_created")
    region = replace(ev(2, "run_started"), event_id="evnt_41M7YNNAV14HDEMHSV7RRWVBF1")
    slot = replace(ev(3, "step_created", "step_A"), event_id="evnt_" + "3".zfill(26))
    odd = replace(ev(4, "step_started", "step_A"), event_id="evt-42")
    _import(tmp_store, [ulid, region, slot, odd])
    rows = {
        r[0]: r[1:]
        for r in tmp_store.query("SELECT event_id, id_scheme, slot, epoch_ms(id_time) FROM events")[
            1
        ]
    }
    assert rows[ulid.event_id] == ("ulid", None, ulid_time_ms(ulid.event_id))
    assert rows[region.event_id] == ("ulid", None, ulid_time_ms("evnt_01M7YNNAV14HDEMHSV7RRWVBF1"))
    assert rows[slot.event_id] == ("slot", 3, None)
    assert rows["evt-42"] == ("unknown", None, None)


def test_schema_5_stores_the_id_columns_of_events_written_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    Store(path, migrations=MIGRATIONS[:4]).close()  # a file of schema 4: virtual id columns
    ids = ["evnt_01M7YNNAV14HDEMHSV7RRWVBF1", "evnt_" + "7".zfill(26), "evt-42"]
    with duckdb.connect(str(path)) as con:
        for event_id in ids:  # what an import of that version wrote (no id columns)
            con.execute(
                "INSERT INTO events BY NAME SELECT 1 AS import_id, 'json' AS source_kind,"
                " 'f' AS source_location, 'wrun_1' AS run_id, ? AS event_id,"
                " 'run_started' AS event_type, 'absent' AS payload_format, 7 AS content_hash",
                [event_id],
            )
    with Store(path) as store:
        assert store.schema_version() == MIGRATIONS[-1].version >= 5
        _, rows = store.query("SELECT event_id, id_scheme, slot, epoch_ms(id_time) FROM events")
        (ddl,) = store.query("SELECT sql FROM duckdb_tables() WHERE table_name = 'events'")[1]
    assert sorted(rows) == sorted(
        [
            (ids[0], "ulid", None, ulid_time_ms(ids[0])),
            (ids[1], "slot", 7, None),
            ("evt-42", "unknown", None, None),
        ]
    )
    assert "GENERATED" not in ddl[0]


def test_run_log_orders_by_event_id(tmp_store: Store) -> None:
    _import(tmp_store, [ev(3, "run_completed"), ev(1, "run_created"), ev(2, "run_started")])
    rows = tmp_store.query("SELECT log_position, event_type FROM run_log ORDER BY 1")[1]
    assert rows == [(1, "run_created"), (2, "run_started"), (3, "run_completed")]
    runs = tmp_store.query("SELECT run_id, status, event_count, terminal_event FROM runs")[1]
    assert runs == [(RUN, "completed", 3, "run_completed")]


def test_a_failed_run_without_a_record_takes_its_error_code_from_run_failed(
    tmp_store: Store,
) -> None:
    failed = ev(3, "run_failed", None, {"errorCode": "CORRUPTED_EVENT_LOG"})
    _import(tmp_store, [ev(1, "run_created"), ev(2, "run_started"), failed])
    runs = tmp_store.query("SELECT status, error_code FROM runs")[1]
    assert runs == [("failed", "CORRUPTED_EVENT_LOG")]


def test_quarantine_makes_the_import_partial(tmp_store: Store) -> None:
    with tmp_store.begin_import("test", "src") as session:
        session.add_event(ev(1, "run_created"))
        session.quarantine(QuarantineRecord(Provenance("src", "line 2"), "not JSON", "{oops"))
        summary = session.finish()
    assert (summary.status, summary.stored, summary.quarantined) == ("partial", 1, 1)
    assert tmp_store.query("SELECT location, position, reason, raw FROM quarantine")[1] == [
        ("src", "line 2", "not JSON", "{oops")
    ]


def test_a_failing_import_keeps_what_was_flushed_and_says_failed(tmp_store: Store) -> None:
    with pytest.raises(RuntimeError), tmp_store.begin_import("test", "src") as session:
        session.add_event(ev(1, "run_created"))
        session.flush()
        raise RuntimeError("source went away")
    assert tmp_store.query(
        "SELECT status, error, read_count, stored_count, duplicate_count FROM imports"
    )[1] == [("failed", "source went away", 1, 1, None)]  # what it left, no repeats sorted
    assert tmp_store.query("SELECT count(*) FROM events")[1] == [(1,)]
    # the rerun completes it and adds nothing twice
    assert _import(tmp_store, [ev(1, "run_created"), ev(2, "run_started")]) == (2, 1, 1, 0)


def test_upgrade_clears_conflict_marks_an_earlier_build_set_over_key_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.duckdb"
    before = [m for m in MIGRATIONS if m.version < 7]
    first = ev(1, "step_created", "step_A", {"stepName": "work", "input": 1})
    with Store(path, migrations=before) as store:
        _import(store, [first], "world-local file")
        # the CLI's copy of the same event, its keys in another order; an earlier build
        # compared eventData as written and marked both copies as conflicting
        store.con.execute(
            "INSERT INTO events SELECT * REPLACE (import_id + 1 AS import_id,"
            """ '{"input":1,"stepName":"work"}'::JSON AS event_data,"""
            " content_hash + 1 AS content_hash) FROM events"
        )
        other = ev(2, "step_started", "step_A", {"stepName": "work"})
        _import(store, [other], "world-local file")
        store.con.execute(  # a copy that really differs stays marked after the upgrade
            "INSERT INTO events SELECT * REPLACE (import_id + 7 AS import_id,"
            """ '{"stepName":"other"}'::JSON AS event_data, content_hash + 1 AS content_hash)"""
            " FROM events WHERE event_type = 'step_started'"
        )
        store.con.execute("UPDATE events SET conflict = true")
        assert store.schema_version() == 6
    with Store(path) as store:
        assert store.schema_version() == MIGRATIONS[-1].version >= 7
        rows = store.query("SELECT event_type, bool_and(conflict) FROM events GROUP BY ALL")[1]
    assert sorted(rows) == [("step_created", False), ("step_started", True)]


def test_closing_waits_for_a_call_under_way_on_another_thread(tmp_path: Path) -> None:
    """A TUI worker still reading when the user quits: the close waits for it, not fails."""
    store = Store(tmp_path / "busy.duckdb")
    started, errors = threading.Event(), []

    def reader() -> None:
        started.set()
        try:
            store.con.execute("SELECT sum(i) FROM range(400000000) t(i)").fetchall()
        except duckdb.Error as exc:  # interrupted by the close: fine, nothing to store
            errors.append(exc)

    worker = threading.Thread(target=reader)
    worker.start()
    started.wait(5)
    time.sleep(0.05)
    store.close()
    worker.join(30)
    assert not worker.is_alive()
