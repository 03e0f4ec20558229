"""Rows that commit late, below their run's newest id and long after their `created_at`.

The five rows of the field report (a late `step_started` after `step_completed`, a duplicate
`step_created`, a double `step_completed`, a `hook_received` after the hook's disposal, a
step-name conflict) are inserted after an import, each with an id below its run's newest
and a `created_at` a day old: the next plain re-import reads exactly those five, says they
committed late and where, and `check` finds the corruption they carry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from forensics.analysis.engine import check
from forensics.model import ImportSummary
from forensics.store import Store
from tests.postgres.pg_eras import ULID_IDS, event_rows, insert

pytestmark = pytest.mark.postgres

RUN_A = "wrun_01KSNVVXH82P5GM40D6F9152JA"
RUN_B = "wrun_01KSNVVXH82P5GM40D6F9152JB"
IDS_B = [f"wevt_01KSNVVXK{n:016d}" for n in range(1, 11)]
DAY = timedelta(days=1)


def late_row(row: dict[str, Any], event_id: str, **changes: Any) -> dict[str, Any]:
    """A copy of `row` under a new id, a day older than the run's first event."""
    return {**row, "id": event_id, "created_at": row["created_at"] - DAY, **changes}


def test_five_late_rows_are_read_noted_and_checked(
    empty_era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., ImportSummary],
    tmp_store: Store,
) -> None:
    db = empty_era_db("jsonb")  # no unique index on creation events: duplicates can land
    rows_a = event_rows("jsonb", run=RUN_A)
    disposed = {**rows_a[8], "id": ULID_IDS[8] + "D", "type": "hook_disposed", "payload": None}
    rows_b = event_rows("jsonb", run=RUN_B, ids=IDS_B)
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", [*rows_a, disposed, *rows_b])
    dsn = pg_admin.dsn(db)
    assert run_pg_import(dsn).stored == 21
    before = {f.code for f in check(tmp_store).findings}

    by_type = {row["type"]: row for row in rows_a}
    late = [
        # step_started after step_completed (between it and wait_created)
        late_row(by_type["step_started"], ULID_IDS[4] + "A"),
        # a second step_created of the same step
        late_row(by_type["step_created"], ULID_IDS[4] + "B"),
        # a second step_completed
        late_row(by_type["step_completed"], ULID_IDS[4] + "C"),
        # hook_received after the hook's disposal
        late_row(by_type["hook_received"], ULID_IDS[8] + "E"),
        # run B: a step_started naming another step for the same correlation id
        late_row(
            rows_b[3],
            IDS_B[3] + "A",
            payload=rows_b[3]["payload"].replace("charge", "refund"),
        ),
    ]
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", late)
    summary = run_pg_import(dsn)
    assert (summary.read, summary.stored, summary.status) == (5, 5, "ok")
    assert summary.notes[-2] == (
        "5 event(s) committed late: their ids are below the highest id imported before for"
        f" their run (e.g. {ULID_IDS[4]}A of run {RUN_A}; runs: {RUN_A}, {RUN_B})"
    )
    after = check(tmp_store)
    found = {(f.run_id, f.code) for f in after.findings if f.code not in before}
    assert found == {
        (RUN_A, "duplicate-creation"),  # the second step_created
        (RUN_A, "event-after-terminal"),  # step_started after step_completed, hook after disposal
        (RUN_A, "multiple-terminals"),  # the second step_completed
        (RUN_A, "guard-blind-spot"),
        (RUN_A, "mint-commit-inversion"),  # ids minted long after their created_at
        (RUN_B, "mint-commit-inversion"),
        (RUN_B, "step-name-conflict"),
    }
    # and the next re-import has nothing to read
    assert run_pg_import(dsn).read == 0
