"""Fixtures of the PostgreSQL importer tests: a real server, throwaway databases and roles.

The server comes from `pg_server.find_server` (FORENSICS_TEST_PG_DSN, else 127.0.0.1:5432,
else a cluster started for this session); without one every test here skips with the
reason, which CI turns into a failure. Each session creates its own databases and roles
(names carry the process id) and drops them at the end.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from forensics.importers.postgres import PostgresOptions, import_postgres
from forensics.model import ImportSummary
from forensics.store import Store
from tests.postgres.pg_dump import load_dump
from tests.postgres.pg_eras import create_era, entity_rows, event_rows, insert
from tests.postgres.pg_server import Server, find_server
from tests.realdata import REALDATA

REALDATA_PG = REALDATA / "postgres"
PREFIX = f"forensics_t{os.getpid()}_{secrets.token_hex(2)}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    server, why = find_server()
    if server is None:
        pytest.skip(f"no PostgreSQL server for the importer tests: {why}")
    yield server
    server.close()


class Admin:
    """Creates databases and roles on the test server; `cleanup` drops them all."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.databases: list[str] = []
        self.roles: list[str] = []

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.server.dsn(dbname), autocommit=True)

    def database(self, label: str) -> str:
        """A new empty database; returns its name."""
        name = f"{PREFIX}_{label}"
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.databases.append(name)
        return name

    def role(self, label: str, password: str | None = None) -> str:
        name = f"{PREFIX}_{label}"
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
        self.roles.append(name)
        return name

    def dsn(self, dbname: str, **changes: str) -> str:
        return self.server.dsn(dbname, **changes)

    def cleanup(self) -> None:
        with self.connect() as conn:
            for name in self.databases:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            for name in self.roles:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_admin(pg_server: Server) -> Iterator[Admin]:
    admin = Admin(pg_server)
    yield admin
    admin.cleanup()


@pytest.fixture(scope="session")
def era_db(pg_admin: Admin) -> Callable[[str], str]:
    """`era_db(era)` -> the name of a database holding `pg_eras.LOG` in that era's schema."""
    made: dict[str, str] = {}

    def make(era: str) -> str:
        if era not in made:
            name = pg_admin.database(f"era_{era}")
            with pg_admin.connect(name) as conn:
                create_era(conn, era)
                insert(conn, "workflow_events", event_rows(era))
                for table, rows in entity_rows(era).items():
                    insert(conn, table, rows)
            made[era] = name
        return made[era]

    return make


@pytest.fixture
def empty_era_db(pg_admin: Admin, request: pytest.FixtureRequest) -> Callable[[str], str]:
    """`empty_era_db(era)` -> a new database with that era's tables and no rows."""

    def make(era: str) -> str:
        label = re.sub(r"\W", "_", request.node.name[:20].lower())
        name = pg_admin.database(f"{label}_{secrets.token_hex(2)}")
        with pg_admin.connect(name) as conn:
            create_era(conn, era)
        return name

    return make


@pytest.fixture(scope="session")
def real_pg(pg_admin: Admin) -> str:
    """A database loaded from the real world-postgres dump (schema, then data)."""
    name = pg_admin.database("realdata")
    with pg_admin.connect(name) as conn:
        load_dump(conn, REALDATA_PG / "pg-schema.sql")
        load_dump(conn, REALDATA_PG / "pg-data.sql")
    return name


@pytest.fixture
def run_pg_import(tmp_store: Store) -> Callable[..., ImportSummary]:
    """`run_pg_import(dsn, **options)` imports into `tmp_store` and returns the summary."""

    def run(dsn: str, **options: Any) -> ImportSummary:
        return import_postgres(tmp_store, PostgresOptions(dsn=dsn, **options))

    return run
