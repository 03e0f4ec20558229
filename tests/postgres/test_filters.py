"""`--run`, `--status` and `--since` select whole runs (their complete logs and rows).

The newest-era database holds a completed run with ten events and a failed run that has a
run row but no events (its row is newer: created 500 ms after the first run).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from forensics.cli import main
from forensics.errors import EXIT_INPUT
from forensics.model import ImportSummary
from forensics.store import Store
from tests.postgres.pg_eras import FAILED_RUN, RUN, T0

pytestmark = pytest.mark.postgres


def imported(store: Store) -> tuple[list[str], int]:
    runs = [r[0] for r in store.query("SELECT run_id FROM run_records ORDER BY 1")[1]]
    events = store.query("SELECT count(*) FROM events")[1][0][0]
    return runs, int(events)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ([RUN, FAILED_RUN], 10)),
        ({"runs": (RUN,)}, ([RUN], 10)),
        ({"statuses": ("failed",)}, ([FAILED_RUN], 0)),
        ({"statuses": ("failed", "completed")}, ([RUN, FAILED_RUN], 10)),
        ({"since": T0 + timedelta(milliseconds=400)}, ([FAILED_RUN], 0)),
        ({"since": T0 + timedelta(milliseconds=85)}, ([RUN, FAILED_RUN], 10)),
        ({"runs": (RUN,), "statuses": ("failed",)}, ([], 0)),
    ],
)
def test_filters_select_whole_runs(
    options: dict[str, Any],
    expected: tuple[list[str], int],
    era_db: Callable[[str], str],
    pg_admin: Any,
    run_pg_import: Callable[..., ImportSummary],
    tmp_store: Store,
) -> None:
    run_pg_import(pg_admin.dsn(era_db("newest")), **options)
    runs, events = imported(tmp_store)
    assert (sorted(runs), events) == (sorted(expected[0]), expected[1])


def test_an_unknown_run_is_noted(
    era_db: Callable[[str], str], pg_admin: Any, run_pg_import: Callable[..., ImportSummary]
) -> None:
    summary = run_pg_import(pg_admin.dsn(era_db("newest")), runs=("wrun_nope", RUN))
    assert summary.notes[-1] == (
        "1 run(s) given with --run have no events in workflow.workflow_events: wrun_nope"
    )


def test_the_cli_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, era_db: Callable[[str], str], pg_admin: Any
) -> None:
    dsn = pg_admin.dsn(era_db("newest"))
    db = str(tmp_path / "s.duckdb")
    with pytest.raises(SystemExit) as done:
        main(
            [
                "--db",
                db,
                "import",
                "postgres",
                "--dsn",
                dsn,
                "--status",
                "failed",
                "--since",
                "2026-11-21T09:00:00.4Z",
                "--statement-timeout",
                "30s",
                "--output",
                "json",
            ]
        )
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    [summary] = json.loads(out)
    assert (summary["read"], summary["runs"], summary["entities"]) == (0, 1, 0)
    with pytest.raises(SystemExit) as done:
        main(["--db", db, "import", "postgres", "--dsn", dsn, "--since", "yesterday"])
    assert done.value.code == 2
    assert "--since 'yesterday' is not a time; give an ISO-8601 time" in capsys.readouterr().err


def test_status_needs_a_runs_table(
    empty_era_db: Callable[[str], str], pg_admin: Any, tmp_path: Path
) -> None:
    database = empty_era_db("cbor")
    with pg_admin.connect(database) as conn:
        conn.execute("DROP TABLE workflow.workflow_runs")
    with pytest.raises(SystemExit) as done:
        main(
            [
                "--db",
                str(tmp_path / "s.duckdb"),
                "import",
                "postgres",
                "--dsn",
                pg_admin.dsn(database),
                "--status",
                "failed",
            ]
        )
    assert done.value.code == EXIT_INPUT
