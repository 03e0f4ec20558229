"""The statements an import sends, built from the probed layout (never from user text).

Identifiers are quoted by `psycopg.sql`; values (run ids, times, statuses, high-water
marks) are bound parameters. Events are read with a fixed column plan whatever the era:
absent columns become typed NULLs, `timestamp` and `timestamptz` both travel as their
binary microseconds (UTC either way), and columns the plan does not know are folded into
one JSON object (`extra`). Entity tables are read with a plan derived from their columns.
Run filters (`--run`, `--since`, `--status`) select runs, and every statement reads whole
runs, so an imported log is never cut short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import sql

from forensics.errors import InputError
from forensics.importers.postgres.probe import EVENTS, RUNS, TIME_TYPES, Layout, Table

TERMINAL_STATUSES = ("completed", "failed", "cancelled")
INTEGER_TYPES = frozenset({"integer", "bigint", "smallint"})
TEXT_TYPES = frozenset({"character varying", "text", "character"})
REQUIRED_EVENT_COLUMNS = ("id", "type", "run_id")

# (column, how it travels): the order of the event COPY's columns.
EVENT_PLAN: tuple[tuple[str, str], ...] = (
    ("id", "text"),
    ("type", "text"),
    ("correlation_id", "text"),
    ("created_at", "time"),
    ("run_id", "text"),
    ("payload", "text"),
    ("payload_cbor", "bytea"),
    ("spec_version", "int4"),
    ("occurred_at", "time"),
    ("resume_id", "text"),
)
EVENT_TYPES = [{"time": "int8"}.get(kind, kind) for _, kind in EVENT_PLAN] + ["text"]
KNOWN_EVENT_COLUMNS = frozenset(name for name, _ in EVENT_PLAN)


@dataclass(frozen=True)
class Filters:
    """Which runs to import; empty means every run."""

    runs: tuple[str, ...] = ()
    since: datetime | None = None
    statuses: tuple[str, ...] = ()


XID_MASK = 0xFFFFFFFF  # a row's xmin is the low 32 bits of its 64-bit transaction id


@dataclass(frozen=True)
class Fence:
    """Where the last import's snapshot stood, in transaction ids (64-bit, as `xid8`).

    Every transaction below `since` (that snapshot's xmin) had ended when it was taken, so
    a row whose xmin is below `since` was either visible to that import or never committed;
    a row inserted or updated by any later transaction (or one still running then) has its
    xmin at or above it. `now` is this import's snapshot xmax: every row it sees has an
    xmin below it, which lets the 32-bit xmin be compared without knowing its epoch.
    """

    now: int
    since: int

    def fresh(self, alias: str, params: dict[str, Any]) -> sql.Composable:
        """True for rows of `alias` written by a transaction at or above `since`."""
        params["fence_now"] = self.now
        params["fence_span"] = self.now - self.since
        # (now - xmin) mod 2^32 is how far below `now` the row's transaction is; xid -> text
        # -> int8 keeps the scan parallel (age() would not be).
        return sql.SQL(
            "((%(fence_now)s::int8 - {}.xmin::text::int8) & {}) <= %(fence_span)s::int8"
        ).format(sql.Identifier(alias), sql.Literal(XID_MASK))


@dataclass(frozen=True)
class Marks:
    """What an earlier import of this source already read (empty: read everything)."""

    last_event: dict[str, str] = field(default_factory=dict)  # run id -> highest event id
    recheck_from: datetime | None = None  # without a fence: rows created/updated since
    # the recheck point comes from an import that read every run: a run unknown to the
    # store was created after it, so its rows fall in the recheck window anyway
    complete: bool = False
    fence: Fence | None = None  # exact: rows written since the last complete import
    counts: dict[str, int] = field(default_factory=dict)  # run id -> events it had then


@dataclass(frozen=True)
class Column:
    """One entity-table column: its name, how it travels and how it is decoded."""

    name: str
    kind: str  # text | json | bytes | int | bool | time
    copy_type: str
    expr: sql.Composable


def events_copy(
    layout: Layout, filters: Filters, marks: Marks, changed: dict[str, str | None] | None = None
) -> tuple[sql.Composed, dict[str, Any]]:
    """The COPY statement of the events (new ones only when `marks` has any).

    When incremental, `changed` (from `newest_events`) maps the runs that may have news to
    their mark (None: read the whole run): their events above the mark are read, and those
    the fence says were written since the last import (or, without a fence, every event
    created within the recheck window).
    """
    table = layout.events
    missing = [c for c in REQUIRED_EVENT_COLUMNS if not table.has(c)]
    if missing:
        raise InputError(
            f"{layout.schema}.{EVENTS} has no column {', '.join(missing)}",
            hint="is this a world-postgres events table? forensics needs id, type and run_id",
        )
    columns = [_event_column(table, name, kind) for name, kind in EVENT_PLAN]
    columns.append(_extra_column(table))
    where, params = run_selection(layout, filters, sql.SQL("e.run_id"))
    join: sql.Composable = sql.SQL("")
    if marks.last_event:
        newer: list[sql.Composable] = []
        if changed:
            join = sql.SQL(
                " LEFT JOIN unnest(%(mark_runs)s::text[], %(mark_ids)s::text[])"
                " AS m(run_id, last_id) ON m.run_id = e.run_id::text"
            )
            params["mark_runs"] = list(changed)
            params["mark_ids"] = list(changed.values())
            above: sql.Composable = sql.SQL('e.id::text COLLATE "C" > m.last_id')
            if marks.fence is not None:
                above = sql.SQL("{} OR {}").format(above, marks.fence.fresh("e", params))
            newer.append(
                sql.SQL("m.run_id IS NOT NULL AND (m.last_id IS NULL OR {})").format(above)
            )
        if marks.fence is None and marks.recheck_from is not None and table.has("created_at"):
            newer.append(sql.SQL("e.created_at >= %(recheck)s"))
            params["recheck"] = marks.recheck_from
        if not newer:
            newer.append(sql.SQL("false"))
        where.append(sql.SQL("({})").format(sql.SQL(" OR ").join(newer)))
    statement = sql.SQL("COPY (SELECT {} FROM {} e{}{}) TO STDOUT (FORMAT BINARY)").format(
        sql.SQL(", ").join(columns),
        sql.Identifier(layout.schema, EVENTS),
        join,
        _where(where),
    )
    return statement, params


def newest_events(
    layout: Layout, filters: Filters, fence: Fence | None = None
) -> tuple[sql.Composed, dict[str, Any]]:
    """Each selected run's highest event id (byte order, as marks compare), its number of
    events, and how many of them the fence says were written since the last import.

    One aggregate is much cheaper for the server than comparing every event with its run's
    mark, and it leaves the COPY only the runs that have news."""
    where, params = run_selection(layout, filters, sql.SQL("e.run_id"))
    fresh = (
        sql.SQL("count(*) FILTER (WHERE {})").format(fence.fresh("e", params))
        if fence is not None
        else sql.SQL("0")
    )
    statement = sql.SQL(
        'SELECT e.run_id::text, max(e.id::text COLLATE "C"), count(*), {} FROM {} e{} GROUP BY 1'
    ).format(fresh, sql.Identifier(layout.schema, EVENTS), _where(where))
    return statement, params


def entity_plan(table: Table) -> list[Column]:
    """How each column of an entity table is selected and decoded."""
    plan = []
    for name, data_type in table.columns.items():
        ident = sql.SQL("t.{}").format(sql.Identifier(name))
        if data_type in TIME_TYPES:
            plan.append(Column(name, "time", "int8", ident))
        elif data_type == "bytea":
            plan.append(Column(name, "bytes", "bytea", ident))
        elif data_type in INTEGER_TYPES:
            plan.append(Column(name, "int", "int8", sql.SQL("{}::int8").format(ident)))
        elif data_type == "boolean":
            plan.append(Column(name, "bool", "bool", ident))
        else:
            kind = "json" if data_type in ("json", "jsonb") else "text"
            plan.append(Column(name, kind, "text", sql.SQL("{}::text").format(ident)))
    return plan


def entity_copy(
    layout: Layout,
    table: Table,
    plan: list[Column],
    filters: Filters,
    marks: Marks,
    refresh: set[str],
) -> tuple[sql.Composed, dict[str, Any]]:
    """The COPY of one entity table's rows of the selected runs.

    When incremental, only rows that may have changed since the last import: those of runs
    in `refresh` (new events), of runs new to the store, and rows updated within the
    recheck window (`updated_at`; `created_at` for hooks, which are inserted and deleted
    but never updated).
    """
    run_column = sql.SQL("t.id" if table.name == RUNS else "t.run_id")
    where, params = run_selection(layout, filters, run_column)
    if marks.last_event:
        wanted: list[sql.Composable] = [
            sql.SQL("{} IN (SELECT unnest(%(refresh)s::text[]))").format(run_column),
            _changed_rows(layout, table, marks, run_column, params),
        ]
        params["refresh"] = sorted(refresh)
        if not (marks.complete and marks.recheck_from is not None):
            wanted.append(
                sql.SQL("{} NOT IN (SELECT unnest(%(known)s::text[]))").format(run_column)
            )
            params["known"] = list(marks.last_event)
        where.append(sql.SQL("({})").format(sql.SQL(" OR ").join(wanted)))
    statement = sql.SQL("COPY (SELECT {} FROM {} t{}) TO STDOUT (FORMAT BINARY)").format(
        sql.SQL(", ").join(c.expr for c in plan),
        sql.Identifier(layout.schema, table.name),
        _where(where),
    )
    return statement, params


def _changed_rows(
    layout: Layout, table: Table, marks: Marks, run_column: sql.Composable, params: dict[str, Any]
) -> sql.Composable:
    """Rows written since the last import: exactly, by the fence; without one, rows updated
    (or, in tables never updated such as hooks, created) since the recheck point, and
    without either column the rows of runs still open in the source."""
    if marks.fence is not None:
        return marks.fence.fresh("t", params)
    for column in ("updated_at", "created_at"):
        if table.columns.get(column) in TIME_TYPES and marks.recheck_from is not None:
            params["recheck"] = marks.recheck_from
            return sql.SQL("t.{} >= %(recheck)s").format(sql.Identifier(column))
    runs = layout.table(RUNS)
    if runs is None or not runs.has("status"):
        return sql.SQL("false")
    params["terminal"] = list(TERMINAL_STATUSES)
    return sql.SQL(
        "{} IN (SELECT o.id FROM {} o WHERE o.status::text <> ALL(%(terminal)s))"
    ).format(run_column, sql.Identifier(layout.schema, RUNS))


def run_selection(
    layout: Layout, filters: Filters, column: sql.Composable
) -> tuple[list[sql.Composable], dict[str, Any]]:
    """Conditions on `column` (a run id) for `--run`, `--status` and `--since`."""
    where: list[sql.Composable] = []
    params: dict[str, Any] = {}
    runs = layout.table(RUNS)
    events = sql.Identifier(layout.schema, EVENTS)
    if filters.runs:
        where.append(sql.SQL("{} = ANY(%(sel_runs)s::text[])").format(column))
        params["sel_runs"] = list(filters.runs)
    if filters.statuses:
        if runs is None or not runs.has("status"):
            raise InputError(
                f"--status needs {layout.schema}.{RUNS}.status, which this database lacks",
                hint="select runs with --run or --since instead",
            )
        where.append(
            sql.SQL(
                "{} IN (SELECT s.id FROM {} s WHERE s.status::text = ANY(%(sel_status)s))"
            ).format(column, sql.Identifier(layout.schema, RUNS))
        )
        params["sel_status"] = list(filters.statuses)
    if filters.since is not None:
        where.append(_since(layout, column, events, runs))
        params["sel_since"] = filters.since
    return where, params


def _since(
    layout: Layout, column: sql.Composable, events: sql.Identifier, runs: Table | None
) -> sql.Composable:
    """Runs with an event, or a run row, created at or after `--since`."""
    if not layout.events.has("created_at"):
        raise InputError(
            f"--since needs {layout.schema}.{EVENTS}.created_at, which this database lacks",
            hint="select runs with --run or --status instead",
        )
    parts = [
        sql.SQL("{} IN (SELECT s.run_id FROM {} s WHERE s.created_at >= %(sel_since)s)").format(
            column, events
        )
    ]
    if runs is not None and runs.has("created_at"):
        parts.append(
            sql.SQL("{} IN (SELECT r.id FROM {} r WHERE r.created_at >= %(sel_since)s)").format(
                column, sql.Identifier(layout.schema, RUNS)
            )
        )
    return sql.SQL("({})").format(sql.SQL(" OR ").join(parts))


def _event_column(table: Table, name: str, kind: str) -> sql.Composable:
    data_type = table.columns.get(name)
    ident = sql.SQL("e.{}").format(sql.Identifier(name))
    if kind == "time":
        if data_type is None:
            return sql.SQL("NULL::timestamptz")
        return ident if data_type in TIME_TYPES else sql.SQL("{}::timestamptz").format(ident)
    if kind == "bytea":
        return ident if data_type == "bytea" else sql.SQL("NULL::bytea")
    if kind == "int4":
        if data_type is None:
            return sql.SQL("NULL::int4")
        if data_type in INTEGER_TYPES:
            return sql.SQL("{}::int4").format(ident)
        # a text column: keep what is a number, drop the rest (it stays visible in extra)
        return sql.SQL("CASE WHEN {0}::text ~ '^[0-9]{{1,9}}$' THEN {0}::text::int4 END").format(
            ident
        )
    return sql.SQL("NULL::text") if data_type is None else sql.SQL("{}::text").format(ident)


def _extra_column(table: Table) -> sql.Composable:
    """Every column the plan does not know, as one JSON object (NULL when all are NULL)."""
    unknown = [name for name in table.columns if name not in KNOWN_EVENT_COLUMNS]
    spec = table.columns.get("spec_version")
    if spec is not None and spec not in INTEGER_TYPES:
        unknown.append("spec_version")  # a text spec version is kept as written
    if not unknown:
        return sql.SQL("NULL::text")
    pairs = sql.SQL(", ").join(
        sql.SQL("{}, e.{}").format(sql.Literal(name), sql.Identifier(name)) for name in unknown
    )
    return sql.SQL("NULLIF(jsonb_strip_nulls(jsonb_build_object({}))::text, '{{}}')").format(pairs)


def _where(conditions: list[sql.Composable]) -> sql.Composable:
    if not conditions:
        return sql.SQL("")
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
