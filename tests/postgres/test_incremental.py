"""Importing the same database again reads only what is new and never stores a copy twice.

Per run the highest event id imported is remembered with its event count, and the import's
snapshot; the next import reads events above the marks, whole new runs, and every row a
transaction wrote since that snapshot, whatever its id or `created_at` (so an event that
committed late with a lower id is found). `--full` reads everything; an interrupted import
leaves whole batches behind and the next one completes it. Stores made before snapshots
were kept fall back to a five-minute window of `created_at`, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from forensics.importers.postgres import phases
from forensics.model import ImportSummary
from forensics.store import Store
from tests.postgres.pg_eras import T0, ULID_IDS, event_rows, insert

pytestmark = pytest.mark.postgres

RUN_A = "wrun_01KSNVVXH82P5GM40D6F9152JA"
RUN_B = "wrun_01KSNVVXH82P5GM40D6F9152JB"
RUN_C = "wrun_01KSNVVXH82P5GM40D6F9152JC"
IDS_B = [f"wevt_01KSNVVXK{n:016d}" for n in range(1, 11)]
IDS_C = [f"wevt_01KSNVVXM{n:016d}" for n in range(1, 11)]
DAY = timedelta(days=1)


def one_event(run: str, event_id: str, created: Any) -> dict[str, Any]:
    naive = created.replace(tzinfo=None)
    return {
        "id": event_id,
        "type": "step_started",
        "correlation_id": None,
        "created_at": naive,
        "run_id": run,
        "spec_version": 3,
    }


class Interrupted(BaseException):
    """Like Ctrl-C (not an Exception), but not one that would stop the test session."""


def counts(s: ImportSummary) -> tuple[int, int, int, str]:
    return s.read, s.stored, s.duplicates, s.status


def server_now(pg_admin: Any) -> datetime:
    with pg_admin.connect() as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def test_only_new_events_are_read_and_late_ones_are_found(
    empty_era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., ImportSummary],
    tmp_store: Store,
) -> None:
    now = server_now(pg_admin)
    db = empty_era_db("cbor")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_A, start=now - 2 * DAY))
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_B, ids=IDS_B, start=now - DAY))
    dsn = pg_admin.dsn(db)
    assert counts(run_pg_import(dsn)) == (20, 20, 0, "ok")
    source = f"postgresql://127.0.0.1:{_port(dsn)}/{db}/workflow"
    assert tmp_store.marks(source, "run-last-event") == {RUN_A: ULID_IDS[-1], RUN_B: IDS_B[-1]}
    anchor = tmp_store.marks(source, "source")
    assert anchor["snapshot-complete"] == "true"
    snapshot = anchor["snapshot-at"]

    newer = "wevt_01KSNVVXJ0000000000000011"  # above run A's mark
    late = "wevt_01KSNVVXJ0000000000000005X"  # below it, created a minute ago
    too_late = "wevt_01KSNVVXJ0000000000000006X"  # below it, created a day ago
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", [one_event(RUN_A, newer, now - DAY)])
        insert(conn, "workflow_events", [one_event(RUN_A, late, now - timedelta(minutes=1))])
        insert(conn, "workflow_events", [one_event(RUN_A, too_late, now - DAY)])
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_C, ids=IDS_C, start=now - DAY))
    second = run_pg_import(dsn)
    assert counts(second) == (13, 13, 0, "ok")  # run A's newer and both late events, run C
    assert second.notes[1].startswith(
        "incremental: 2 runs imported before; read their events above the last event id,"
        " every row (events and entity rows) written by a transaction that had not ended"
        " when the last import's snapshot was taken (transaction id "
    )
    assert second.notes[2:] == (
        f"2 event(s) committed late: their ids are below the highest id imported before for"
        f" their run (e.g. {late} of run {RUN_A}; runs: {RUN_A})",
    )
    assert snapshot != tmp_store.marks(source, "source")["snapshot-at"]
    assert tmp_store.marks(source, "run-event-count") == {RUN_A: "13", RUN_B: "10", RUN_C: "10"}
    # nothing new: nothing read
    assert counts(run_pg_import(dsn)) == (0, 0, 0, "ok")
    # --full reads everything and finds every copy stored already
    assert counts(run_pg_import(dsn, full=True)) == (33, 0, 33, "ok")
    _, rows = tmp_store.query("SELECT count(*), count(DISTINCT (run_id, event_id)) FROM events")
    assert rows == [(33, 33)]


def test_a_store_without_a_snapshot_falls_back_to_the_window_and_says_so(
    empty_era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., ImportSummary],
    tmp_store: Store,
) -> None:
    now = server_now(pg_admin)
    db = empty_era_db("cbor")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_A, start=now - DAY))
    dsn = pg_admin.dsn(db)
    run_pg_import(dsn)
    # as an older forensics left it: a snapshot time, no snapshot ids, no counts
    tmp_store.con.execute(
        "DELETE FROM import_marks WHERE scope = 'run-event-count'"
        " OR (scope = 'source' AND item = 'snapshot')"
    )
    late = "wevt_01KSNVVXJ0000000000000005X"
    too_late = "wevt_01KSNVVXJ0000000000000006X"
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", [one_event(RUN_A, late, now - timedelta(minutes=1))])
        insert(conn, "workflow_events", [one_event(RUN_A, too_late, now - DAY)])
    second = run_pg_import(dsn)
    assert counts(second) == (1, 1, 0, "ok")  # the window sees only the recent one
    assert second.notes[2] == (
        "not exact: the last import kept no snapshot (it was made by an older forensics);"
        " a row that committed later than five minutes after it was created could be"
        " missed: run with --full once to be sure"
    )
    # that import counted every run: the next one sees a run with more events than it
    # holds none of which is new, and reads it whole
    tmp_store.con.execute("UPDATE import_marks SET mark = '10' WHERE scope = 'run-event-count'")
    third = run_pg_import(dsn)
    assert counts(third) == (12, 1, 11, "ok")
    assert third.notes[-1] == (
        "1 run(s) had more events than the last import counted though none was newer than"
        f" it: read again whole ({RUN_A})"
    )
    assert counts(run_pg_import(dsn)) == (0, 0, 0, "ok")


def _port(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(dsn)["port"])


def test_entity_rows_of_new_changed_and_updated_runs_are_read_again(
    empty_era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., ImportSummary],
    tmp_store: Store,
) -> None:
    now = server_now(pg_admin)
    db = empty_era_db("cbor")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_A, start=now - DAY))
        insert(conn, "workflow_runs", [_run(RUN_A, "completed", now), _run(RUN_B, "running", now)])
    dsn = pg_admin.dsn(db)
    first = run_pg_import(dsn)
    assert (first.runs, first.stored) == (2, 10)
    with pg_admin.connect(db) as conn:  # a status change that writes no event
        conn.execute(
            "UPDATE workflow.workflow_runs SET status = 'completed', updated_at = now()"
            " WHERE id = %s",
            [RUN_B],
        )
    # run A has no new events and an old row: not read again; run B's row was just updated
    second = run_pg_import(dsn)
    assert (second.runs, second.stored) == (1, 0)
    _, rows = tmp_store.query("SELECT run_id, status FROM run_records ORDER BY run_id")
    assert rows == [(RUN_A, "completed"), (RUN_B, "completed")]
    # its update was seen by the last import: not read again
    assert run_pg_import(dsn).runs == 0
    with pg_admin.connect(db) as conn:  # an update that leaves updated_at alone
        conn.execute("UPDATE workflow.workflow_runs SET error = 'boom' WHERE id = %s", [RUN_A])
    third = run_pg_import(dsn)
    assert (third.runs, third.stored) == (1, 0)
    last = "(SELECT max(import_id) FROM imports)"
    _, rows = tmp_store.query(f"SELECT run_id FROM run_records WHERE import_id = {last}")
    assert rows == [(RUN_A,)]


def test_runs_left_out_by_a_filtered_import_are_read_by_the_next(
    empty_era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., ImportSummary],
    tmp_store: Store,
) -> None:
    now = server_now(pg_admin)
    db = empty_era_db("cbor")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_A, start=now - DAY))
        insert(conn, "workflow_runs", [_run(RUN_A, "completed", now), _run(RUN_B, "failed", now)])
    dsn = pg_admin.dsn(db)
    first = run_pg_import(dsn, runs=(RUN_A,))
    assert (first.read, first.runs) == (10, 1)
    # run B has no events and an old row: only "not known to the store yet" finds it
    second = run_pg_import(dsn)
    assert (second.read, second.runs) == (0, 1)
    _, rows = tmp_store.query("SELECT run_id FROM run_records ORDER BY run_id")
    assert rows == [(RUN_A,), (RUN_B,)]
    assert run_pg_import(dsn).runs == 0


def _run(run_id: str, status: str, now: datetime) -> dict[str, Any]:
    old = (now - DAY).replace(tzinfo=None)
    return {
        "id": run_id,
        "deployment_id": "dpl_1",
        "status": status,
        "name": "wf",
        "created_at": old,
        "updated_at": old,
    }


def test_an_interrupted_import_is_completed_by_the_next(
    empty_era_db: Callable[[str], str],
    pg_admin: Any,
    tmp_store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from forensics.importers.postgres import PostgresOptions, import_postgres

    db = empty_era_db("cbor")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_A, start=T0 - DAY))
        insert(conn, "workflow_events", event_rows("cbor", run=RUN_B, ids=IDS_B))
    monkeypatch.setattr(phases, "EVENT_BATCH", 5)
    monkeypatch.setattr(phases, "STORE_BATCH", 5)

    def interrupt(_: int) -> None:
        raise Interrupted("stopped by hand")

    with pytest.raises(Interrupted):
        import_postgres(tmp_store, PostgresOptions(dsn=pg_admin.dsn(db), progress=interrupt))
    _, rows = tmp_store.query("SELECT status, error, read_count FROM imports")
    assert rows == [("failed", "stopped by hand", 5)]
    assert tmp_store.query("SELECT count(*) FROM events")[1] == [(5,)]
    assert tmp_store.query("SELECT count(*) FROM import_marks")[1] == [(0,)]

    summary = import_postgres(tmp_store, PostgresOptions(dsn=pg_admin.dsn(db)))
    assert counts(summary) == (20, 15, 5, "ok")
    _, rows = tmp_store.query("SELECT count(*), count(DISTINCT (run_id, event_id)) FROM events")
    assert rows == [(20, 20)]
