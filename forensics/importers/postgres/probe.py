"""Finding out which world-postgres schema era a database has, before reading anything.

Columns come from `information_schema.columns`, which lists only what the connected role may
read; the catalog (`pg_class`, `pg_constraint`, `pg_indexes`) says what exists whatever the
privileges. Comparing the two turns a missing GRANT into a clear error instead of silently
skipped tables. The result is a `Layout`: per table its columns and their types, the events
table's primary key, whether the entity-creation unique index and the slot table exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from forensics.errors import InputError, SourceError
from forensics.importers.postgres.connect import grant_hint

if TYPE_CHECKING:
    import psycopg

EVENTS = "workflow_events"
RUNS = "workflow_runs"
STEPS = "workflow_steps"
HOOKS = "workflow_hooks"
WAITS = "workflow_waits"
SLOTS = "workflow_event_slots"
TABLES = (EVENTS, RUNS, STEPS, HOOKS, WAITS, SLOTS)
CREATION_INDEX = "workflow_events_entity_creation_unique"
TIME_TYPES = frozenset({"timestamp without time zone", "timestamp with time zone"})


@dataclass(frozen=True)
class Table:
    """One table as the connected role sees it: column name -> information_schema type."""

    name: str
    columns: dict[str, str]

    def has(self, column: str) -> bool:
        return column in self.columns


@dataclass(frozen=True)
class Layout:
    schema: str
    tables: dict[str, Table]
    events_key: tuple[str, ...]
    creation_index: bool

    @property
    def events(self) -> Table:
        return self.tables[EVENTS]

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    def describe(self) -> str:
        """One line naming the era's telltales, for the import's notes."""
        ev = self.events
        payload = "+".join(c for c in ("payload", "payload_cbor") if ev.has(c)) or "no payload"
        created = ev.columns.get("created_at", "no created_at")
        optional = [c for c in ("spec_version", "seq", "occurred_at", "resume_id") if ev.has(c)]
        parts = [
            f"events: {payload}",
            f"created_at {created}",
            f"key ({', '.join(self.events_key) or 'none'})",
            "creation unique index" if self.creation_index else "no creation unique index",
        ]
        parts += optional
        entity = [t for t in (RUNS, STEPS, HOOKS, WAITS, SLOTS) if t in self.tables]
        return f"schema {self.schema}: " + ", ".join(parts) + "; tables " + ", ".join(entity)


def probe(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> Layout:
    """The layout of `schema`; raises when the events table is missing or unreadable."""
    readable = _columns(conn, schema)
    existing = _existing(conn, schema)
    if existing:  # a table it cannot read is named here, so `readable` holds them all
        _check_privileges(conn, schema, existing)
    if EVENTS not in readable:
        raise _missing_events(conn, schema)
    tables = {name: Table(name, cols) for name, cols in readable.items()}
    return Layout(schema, tables, _primary_key(conn, schema), _has_index(conn, schema))


def _columns(
    conn: psycopg.Connection[tuple[object, ...]], schema: str
) -> dict[str, dict[str, str]]:
    rows = conn.execute(
        "SELECT table_name::text, column_name::text, data_type::text"
        " FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = ANY(%s)"
        " ORDER BY table_name, ordinal_position",
        [schema, list(TABLES)],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        out.setdefault(str(table), {})[str(column)] = str(data_type)
    return out


def _check_privileges(
    conn: psycopg.Connection[tuple[object, ...]], schema: str, tables: set[str]
) -> None:
    """Raise, naming the role, when it lacks USAGE on `schema` or SELECT on any of `tables`."""
    names = sorted(tables)
    row = conn.execute(
        # by oid: naming a table would need the USAGE this may lack
        "SELECT current_user::text, has_schema_privilege(%s, 'USAGE'),"
        " array(SELECT c.relname::text FROM pg_catalog.pg_class c"
        "       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        "       WHERE n.nspname = %s AND c.relname = ANY(%s)"
        "         AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY 1)",
        [schema, schema, names],
    ).fetchone()
    assert row is not None
    role, usage, unselectable = str(row[0]), bool(row[1]), cast(list[str], row[2])
    if not usage:
        raise SourceError(
            f"the connected role {role} has no USAGE on schema {schema}, so it cannot read"
            f" {', '.join(f'{schema}.{t}' for t in names)}",
            hint=grant_hint(schema, role),
        )
    if unselectable:
        raise SourceError(
            f"the connected role {role} has no SELECT on"
            f" {', '.join(f'{schema}.{t}' for t in unselectable)}",
            hint=grant_hint(schema, role),
        )


def _existing(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname::text FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        [schema, list(TABLES)],
    ).fetchall()
    return {str(r[0]) for r in rows}


def _primary_key(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> tuple[str, ...]:
    rows = conn.execute(
        "SELECT a.attname::text FROM pg_catalog.pg_constraint k"
        " JOIN pg_catalog.pg_class c ON c.oid = k.conrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)"
        " WHERE k.contype = 'p' AND n.nspname = %s AND c.relname = %s"
        " ORDER BY array_position(k.conkey, a.attnum)",
        [schema, EVENTS],
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def _has_index(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_indexes"
        " WHERE schemaname = %s AND tablename = %s AND indexname = %s",
        [schema, EVENTS, CREATION_INDEX],
    ).fetchone()
    return bool(row and row[0])


def _missing_events(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> InputError:
    rows = conn.execute(
        "SELECT DISTINCT n.nspname::text FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = %s ORDER BY 1",
        [EVENTS],
    ).fetchall()
    elsewhere = [str(r[0]) for r in rows]
    database = conn.info.dbname
    hint = (
        f"the table exists in schema(s) {', '.join(elsewhere)}: pass --schema"
        if elsewhere
        else "is this the world-postgres database? (its tables are made by world-postgres'"
        " bootstrap step); check dbname in --dsn"
    )
    return InputError(
        f"database {database!r} has no table {schema}.{EVENTS}"
        f" (looked for {', '.join(TABLES)} in schema {schema!r})",
        hint=hint,
    )
