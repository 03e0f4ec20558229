"""Failures say what went wrong in one line, exit nonzero, and never leave a broken store.

Connection refused, a login refused (unknown or NOLOGIN role), a missing database, missing
tables, a statement timeout and a connection killed mid-import each give one message and
the documented exit code; a password given in the DSN never reaches the terminal, the log
or the store. (The test servers trust loopback logins, so a wrong password cannot be
provoked; it takes the same path as the refused logins tested here.)
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from forensics.cli import main
from forensics.errors import EXIT_INPUT, EXIT_SOURCE, EXIT_USAGE, SourceError
from forensics.importers.postgres import PostgresOptions, import_postgres
from forensics.store import Store
from tests.postgres.pg_eras import T0, event_rows, insert

pytestmark = pytest.mark.postgres

SECRET = "Sup3r-Secret-Pw"


def forensics(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url(dsn: str, *, user: str | None = None, password: str | None = None, db: str = "") -> str:
    parts = conninfo_to_dict(dsn)
    who = user or str(parts.get("user", "postgres"))
    secret = f":{password}" if password else ""
    return f"postgresql://{who}{secret}@{parts['host']}:{parts['port']}/{db or parts['dbname']}"


def test_connection_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    port = free_port()
    dsn = f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/world"
    code, out, err = forensics(
        capsys, "--db", str(tmp_path / "s.duckdb"), "import", "postgres", "--dsn", dsn
    )
    assert (code, out) == (EXIT_SOURCE, "")
    assert err == (
        f"forensics: source: cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:"
        f"{port}/world: Connection refused\n"
        "  try: is the server running and reachable? check host and port in --dsn"
        " (and sslmode, if the server requires TLS)\n"
    )


def test_unknown_role_nologin_role_and_missing_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pg_admin: Any, pg_server: Any
) -> None:
    db = str(tmp_path / "s.duckdb")
    base = pg_server.admin_dsn
    nologin = pg_admin.role("nologin")
    with pg_admin.connect() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(nologin)))
    cases = [
        (url(base, user="nobody_at_all", password=SECRET), 'role "nobody_at_all" does not exist'),
        (url(base, user=nologin, password=SECRET), f'role "{nologin}" is not permitted to log in'),
    ]
    for dsn, reason in cases:
        code, _, err = forensics(capsys, "--db", db, "import", "postgres", "--dsn", dsn)
        shown = dsn.replace(f":{SECRET}", "")
        assert code == EXIT_SOURCE
        assert err.splitlines() == [
            f"forensics: source: PostgreSQL at {shown} refused the login: {reason}",
            "  try: check user, database and password (in the DSN, PGPASSWORD, ~/.pgpass or a"
            " service file) and that pg_hba.conf lets this client in",
        ]
    missing = url(base, db="no_such_db_here")
    code, _, err = forensics(capsys, "--db", db, "import", "postgres", "--dsn", missing)
    assert (code, err.splitlines()[0]) == (
        EXIT_SOURCE,
        f"forensics: source: PostgreSQL at {missing} has no such database:"
        ' database "no_such_db_here" does not exist',
    )
    assert not Path(db).exists() or _imports(db) == []


def _imports(db: str) -> list[tuple[Any, ...]]:
    with Store(db, read_only=True) as store:
        return store.query("SELECT status, location FROM imports")[1]


def test_a_database_without_the_tables(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pg_admin: Any, real_pg: str
) -> None:
    empty = pg_admin.database("empty")
    db = str(tmp_path / "s.duckdb")
    code, _, err = forensics(capsys, "--db", db, "import", "postgres", "--dsn", pg_admin.dsn(empty))
    assert code == EXIT_INPUT
    assert err.splitlines() == [
        f"forensics: input: database '{empty}' has no table workflow.workflow_events (looked"
        " for workflow_events, workflow_runs, workflow_steps, workflow_hooks, workflow_waits,"
        " workflow_event_slots in schema 'workflow')",
        "  try: is this the world-postgres database? (its tables are made by world-postgres'"
        " bootstrap step); check dbname in --dsn",
    ]
    code, _, err = forensics(
        capsys,
        "--db",
        db,
        "import",
        "postgres",
        "--dsn",
        pg_admin.dsn(real_pg),
        "--schema",
        "public",
    )
    assert (code, err.splitlines()[1]) == (
        EXIT_INPUT,
        "  try: the table exists in schema(s) workflow: pass --schema",
    )


def test_a_malformed_dsn_is_a_usage_error_that_hides_the_secret(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = forensics(
        capsys,
        "--db",
        str(tmp_path / "s.duckdb"),
        "import",
        "postgres",
        "--dsn",
        f"host=127.0.0.1 password={SECRET} dbname",
    )
    assert code == EXIT_USAGE
    assert SECRET not in err
    assert err.splitlines()[0] == (
        "forensics: usage: --dsn is not a connection string or URL libpq understands"
        ' (missing "=" after "dbname" in connection info string)'
    )


def test_the_password_is_never_printed_logged_or_stored(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    pg_admin: Any,
    era_db: Callable[[str], str],
) -> None:
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "s.duckdb"
    dsn = url(pg_admin.dsn(era_db("cbor")), password=SECRET)
    code, out, err = forensics(
        capsys, "--db", str(db), "import", "postgres", "--dsn", dsn, "--output", "json"
    )
    assert code == 0, err
    assert json.loads(out)[0]["location"] == dsn.replace(f":{SECRET}", "")
    assert SECRET not in out + err + caplog.text
    assert SECRET.encode() not in db.read_bytes()


def test_every_libpq_secret_is_kept_out_of_output_and_store(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    pg_admin: Any,
    era_db: Callable[[str], str],
) -> None:
    """`sslpassword` (the client key's passphrase) is a secret too, in a URL or key=value."""
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "s.duckdb"
    base = pg_admin.dsn(era_db("cbor"))
    options = conninfo_to_dict(base)
    as_pairs = " ".join(f"{k}={v}" for k, v in options.items() if v is not None)
    for dsn in (
        url(base, password=SECRET) + "?sslpassword=" + SECRET + "2",
        f"{as_pairs} sslpassword={SECRET}2",
    ):
        code, out, err = forensics(
            capsys, "--db", str(db), "import", "postgres", "--dsn", dsn, "--output", "json"
        )
        assert code == 0, err
        assert SECRET not in out + err + caplog.text
        assert "sslpassword" not in json.loads(out)[0]["location"]
    assert SECRET.encode() not in db.read_bytes()


@contextmanager
def locked(pg_admin: Any, database: str, table: str) -> Iterator[None]:
    """Hold an ACCESS EXCLUSIVE lock on `table` (another session) while the block runs."""
    with pg_admin.connect(database) as conn:
        conn.execute("BEGIN")
        conn.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.Identifier("workflow", table)
            )
        )
        try:
            yield
        finally:
            conn.execute("ROLLBACK")


def loaded_db(pg_admin: Any, empty_era_db: Callable[[str], str]) -> str:
    db = empty_era_db("cbor")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", event_rows("cbor", start=T0))
        insert(
            conn,
            "workflow_steps",
            [
                {
                    "run_id": "wrun_x",
                    "step_id": "step_x",
                    "step_name": "s",
                    "status": "completed",
                    "attempt": 1,
                }
            ],
        )
    return db


def test_a_statement_timeout_stops_cleanly_and_a_rerun_completes(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    pg_admin: Any,
    empty_era_db: Callable[[str], str],
) -> None:
    database = loaded_db(pg_admin, empty_era_db)
    db = str(tmp_path / "s.duckdb")
    args = ["--db", db, "import", "postgres", "--dsn", pg_admin.dsn(database)]
    with locked(pg_admin, database, "workflow_steps"):
        code, _, err = forensics(capsys, *args, "--statement-timeout", "1s")
    assert code == EXIT_SOURCE
    assert err.splitlines() == [
        "forensics: source: PostgreSQL cancelled reading workflow.workflow_steps: canceling"
        " statement due to statement timeout",
        "  try: raise --statement-timeout (0 turns it off) or import fewer runs (--run, --since,"
        " --status); the store keeps what was imported so far",
    ]
    with Store(db, read_only=True) as store:
        assert store.query("SELECT status, read_count FROM imports")[1] == [("failed", 10)]
        assert store.query("SELECT count(*) FROM import_marks")[1] == [(0,)]
    code, out, err = forensics(capsys, *args, "--output", "json")
    assert code == 0, err
    assert [(s["read"], s["stored"], s["duplicates"], s["entities"]) for s in json.loads(out)] == [
        (10, 0, 10, 1)
    ]


def test_a_killed_connection_is_named_and_the_store_stays_whole(
    tmp_path: Path, pg_admin: Any, empty_era_db: Callable[[str], str]
) -> None:
    database = loaded_db(pg_admin, empty_era_db)

    def kill_when_waiting() -> None:
        with pg_admin.connect() as admin:
            for _ in range(200):
                row = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                    " AND application_name = 'forensics' AND wait_event_type = 'Lock'",
                    [database],
                ).fetchone()
                if row:
                    return
                time.sleep(0.05)

    killer = threading.Thread(target=kill_when_waiting)
    with Store(tmp_path / "s.duckdb") as store, locked(pg_admin, database, "workflow_steps"):
        killer.start()
        with pytest.raises(SourceError) as failure:
            import_postgres(store, PostgresOptions(dsn=pg_admin.dsn(database)))
        killer.join()
        assert failure.value.message.startswith(
            "lost the connection to PostgreSQL while reading workflow.workflow_steps: "
        )
        assert store.query("SELECT status FROM imports")[1] == [("failed",)]
        assert store.query("SELECT count(*) FROM events")[1] == [(10,)]
