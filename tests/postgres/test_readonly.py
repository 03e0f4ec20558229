"""The importer only reads: a SELECT-only role is enough, and the server's log says so.

Proof one: a role with nothing but CONNECT, USAGE on the schema and SELECT on its tables
(no TEMP, no CREATE anywhere) imports the whole real dump. Proof two: that role logs every
statement (`log_statement = 'all'`), and with `client_min_messages = 'log'` the server
sends those log lines to the session as well, where the importer hands them to its logger;
the complete list is one read-only transaction of SELECTs and `COPY (SELECT …) TO STDOUT`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from psycopg import sql

from forensics.errors import SourceError
from forensics.importers.postgres import PostgresOptions, import_postgres
from forensics.store import Store

pytestmark = pytest.mark.postgres

LOGGED = re.compile(r"^server LOG: (?:statement|execute [^:]*): (.*)$", re.S)


def reader_role(pg_admin: Any, database: str, label: str, tables: str = "ALL TABLES") -> str:
    """A login role with CONNECT, USAGE on `workflow` and SELECT on `tables` only."""
    role = pg_admin.role(label)
    db, who = sql.Identifier(database), sql.Identifier(role)
    with pg_admin.connect(database) as conn:
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        conn.execute(sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, who))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA workflow TO {}").format(who))
        if tables == "ALL TABLES":
            grant = sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA workflow TO {}")
            conn.execute(grant.format(who))
        else:
            grant = sql.SQL("GRANT SELECT ON {} TO {}")
            for table in tables.split(","):
                conn.execute(grant.format(sql.Identifier("workflow", table), who))
        for setting in ("log_statement = 'all'", "client_min_messages = 'log'"):
            conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} SET " + setting).format(who, db))
    return role


def test_a_select_only_role_imports_and_the_log_shows_only_reads(
    pg_admin: Any, real_pg: str, tmp_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    role = reader_role(pg_admin, real_pg, "reader")
    with pg_admin.connect(real_pg) as conn:
        privileges = conn.execute(
            "SELECT has_database_privilege(%(r)s, current_database(), 'TEMP'),"
            " has_schema_privilege(%(r)s, 'workflow', 'CREATE'),"
            " has_schema_privilege(%(r)s, 'public', 'CREATE'),"
            " has_table_privilege(%(r)s, 'workflow.workflow_events', 'INSERT')",
            {"r": role},
        ).fetchone()
    assert privileges == (False, False, False, False)

    caplog.set_level(logging.DEBUG, logger="forensics.importers.postgres")
    summary = import_postgres(tmp_store, PostgresOptions(dsn=pg_admin.dsn(real_pg, user=role)))
    assert (summary.read, summary.stored, summary.runs, summary.entities) == (448, 448, 43, 90)

    statements = [
        m.group(1) for r in caplog.records if (m := LOGGED.match(r.getMessage())) is not None
    ]
    kinds = [s.split(None, 1)[0].upper() for s in statements]
    assert kinds == ["BEGIN"] + ["SELECT"] * 6 + ["COPY"] * 5 + ["ROLLBACK"]
    assert statements[0] == "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    copies = [s for s in statements if s.startswith("COPY")]
    assert all(
        s.startswith("COPY (SELECT ") and s.endswith(" TO STDOUT (FORMAT BINARY)") for s in copies
    )
    tables = [re.search(r' FROM "workflow"\."(\w+)"', s).group(1) for s in copies]
    assert tables == [
        "workflow_events",
        "workflow_runs",
        "workflow_steps",
        "workflow_hooks",
        "workflow_waits",
    ]


def test_a_missing_grant_is_named_before_anything_is_stored(
    pg_admin: Any, real_pg: str, tmp_store: Store
) -> None:
    role = reader_role(pg_admin, real_pg, "partial", tables="workflow_events,workflow_runs")
    with pytest.raises(SourceError) as failure:
        import_postgres(tmp_store, PostgresOptions(dsn=pg_admin.dsn(real_pg, user=role)))
    assert failure.value.message == (
        f"the connected role {role} has no SELECT on workflow.workflow_hooks,"
        " workflow.workflow_steps, workflow.workflow_waits"
    )
    assert failure.value.hint == (
        "give the importing role USAGE on the schema and SELECT on its tables, e.g. GRANT"
        f" USAGE ON SCHEMA workflow TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA"
        f" workflow TO {role}"
    )
    assert tmp_store.query("SELECT count(*) FROM imports")[1] == [(0,)]
    # without USAGE on the schema, every table is out of reach, and the message says why
    with pg_admin.connect(real_pg) as conn:
        revoke = sql.SQL("REVOKE USAGE ON SCHEMA workflow FROM {}")
        conn.execute(revoke.format(sql.Identifier(role)))
    with pytest.raises(SourceError) as failure:
        import_postgres(tmp_store, PostgresOptions(dsn=pg_admin.dsn(real_pg, user=role)))
    message = failure.value.message
    assert message.startswith(f"the connected role {role} has no USAGE on schema workflow")
    assert "workflow.workflow_events" in message and "workflow.workflow_runs" in message
