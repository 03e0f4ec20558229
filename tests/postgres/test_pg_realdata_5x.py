"""The real world-postgres 5.0.0-beta.27 database (workflow 5.0.0-beta.35), restored from its
dump into a real server: every event and run imported with the 5.x columns kept, payloads
equal to what the SDK's own CLI decoded, and no finding on its healthy runs."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from forensics.analysis.engine import check
from forensics.importers.postgres import PostgresOptions, import_postgres
from forensics.importers.run import import_paths
from forensics.store import Store
from tests.analysis.test_realdata_5x import comparable
from tests.postgres.conftest import Admin
from tests.postgres.pg_dump import load_dump

pytestmark = pytest.mark.postgres

DATA = Path(__file__).resolve().parents[1] / "data" / "realdata-5x"


@pytest.fixture(scope="module")
def real_pg_5x(pg_admin: Admin) -> str:
    name = pg_admin.database("realdata5x")
    with pg_admin.connect(name) as conn:
        load_dump(conn, DATA / "pg-schema.sql")
        load_dump(conn, DATA / "pg-data.sql.gz")
    return name


@pytest.fixture(scope="module")
def pg_store(real_pg_5x: str, pg_admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the database's import only."""
    path = tmp_path_factory.mktemp("real5-pg") / "pg.duckdb"
    with Store(path) as store:
        summary = import_postgres(store, PostgresOptions(dsn=pg_admin.dsn(real_pg_5x)))
    assert (summary.read, summary.stored, summary.quarantined) == (4557, 4557, 0)
    assert (summary.runs, summary.status) == (83, "ok")
    return path


@pytest.fixture(scope="module")
def store_path(pg_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database's import plus the CLI's capture of the same runs
    (`workflow inspect --withData`)."""
    base = tmp_path_factory.mktemp("real5-pg-cli")
    with tarfile.open(DATA / "postgres-inspect.tar.gz") as tar:
        tar.extractall(base, filter="data")
    path = base / "store.duckdb"
    shutil.copy(pg_store, path)
    with Store(path) as store:
        import_paths(store, [base / "inspect"])
    return path


def test_runs_keep_error_code_attributes_and_core_version(pg_store: Path) -> None:
    with Store(pg_store, read_only=True) as store:
        rows = store.con.execute(
            "SELECT status, error_code, json_extract(extra, '$.attributes')::VARCHAR,"
            " json_extract_string(extra, '$.executionContext.workflowCoreVersion'), count(*)"
            " FROM run_records GROUP BY ALL ORDER BY 1"
        ).fetchall()
        hooks = store.con.execute(
            "SELECT json_extract(extra, '$.isSystem') FROM entities WHERE kind = 'hook'"
        ).fetchall()
        started = store.con.execute(
            "SELECT count(*) FROM events WHERE event_type = 'step_started'"
            " AND json_extract_string(event_data, '$.ownerMessageId') IS NOT NULL"
        ).fetchone()
    assert rows == [
        ("cancelled", None, "{}", "5.0.0-beta.35", 2),
        ("completed", None, "{}", "5.0.0-beta.35", 69),
        ("failed", "USER_ERROR", "{}", "5.0.0-beta.35", 9),
        ("running", None, "{}", "5.0.0-beta.35", 3),
    ]
    assert [json.loads(h[0]) for h in hooks] == [False, False]
    assert started is not None and started[0] > 0


def test_payloads_equal_the_clis_decoded_values(store_path: Path) -> None:
    with Store(store_path, read_only=True) as store:
        rows = store.con.execute(
            "SELECT a.payload_format, a.payload_decoded, b.payload_decoded FROM events a"
            " JOIN events b ON a.run_id = b.run_id AND a.event_id = b.event_id"
            " WHERE a.import_id = 1 AND b.source_kind = 'inspect'"
            " AND b.payload_decoded IS NOT NULL"
        ).fetchall()
        conflicts = store.con.execute("SELECT count(*) FROM event_conflicts").fetchone()
    assert conflicts == (0,)
    assert {r[0] for r in rows} == {"devl", "gzip"}
    assert len(rows) > 2500
    for _, mine, theirs in rows:
        assert comparable(json.loads(mine)) == comparable(json.loads(theirs))


def test_healthy_runs_give_no_finding(store_path: Path) -> None:
    with Store(store_path) as store:
        result = check(store)
    assert len(result.runs) == 83
    assert result.findings == ()
