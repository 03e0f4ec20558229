"""Row sources of the TUI's tables: the SQL behind each list, paged and run on a worker's cursor.

A source is an immutable description (which run, which filter, which order) with `count` and
`fetch(offset, limit)`; the `PagedTable` calls them from thread workers. Filters and orders
are bound parameters or names checked against a fixed list, never user text in the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

Row = tuple[Any, ...]

_EVENT_FIELDS = (
    "pos",
    "event_id",
    "event_type",
    "correlation_id",
    "step_name",
    "created_at",
    "write_time",
)
_EVENT_SQL = (
    "SELECT log_position AS pos, event_id, event_type, correlation_id,"
    " json_extract_string(event_data, '$.stepName') AS step_name, created_at, write_time"
    " FROM run_log WHERE run_id = $run"
)
# What `/` matches in a run's events: type, correlation id, event id or step name.
_ILIKE = "ILIKE $q ESCAPE '\\'"
_EVENT_MATCH = (
    f" AND (event_type {_ILIKE} OR correlation_id {_ILIKE} OR event_id {_ILIKE}"
    f" OR json_extract_string(event_data, '$.stepName') {_ILIKE})"
)


def like(text: str) -> str:
    """A case-insensitive substring pattern for `text` (LIKE wildcards in it are literal)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def counted(
    cur: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, Any],
    order: str,
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    """One page of `sql` in `order` and the number of all its rows, in one query."""
    rows = cur.execute(
        f"SELECT *, count(*) OVER () AS _total FROM ({sql})"
        f" ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    ).fetchall()
    if rows:
        return [r[:-1] for r in rows], int(rows[0][-1])
    # past the end (or nothing at all): the count alone says which
    total = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    return [], int(total[0]) if total else 0


@dataclass(frozen=True)
class EventsSource:
    """One run's events in replay (eventId) order, optionally filtered by `/` text."""

    run_id: str
    query: str = ""
    fields: Sequence[str] = _EVENT_FIELDS

    def _where(self) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"run": self.run_id}
        if not self.query:
            return _EVENT_SQL, params
        params["q"] = like(self.query)
        return _EVENT_SQL + _EVENT_MATCH, params

    def count(self, cur: duckdb.DuckDBPyConnection) -> int:
        sql, params = self._where()
        row = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
        return int(row[0]) if row else 0

    def fetch(self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int) -> list[Row]:
        sql, params = self._where()
        sql += f" ORDER BY pos LIMIT {int(limit)} OFFSET {int(offset)}"
        return cur.execute(sql, params).fetchall()

    def fetch_counted(
        self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int
    ) -> tuple[list[Row], int]:
        return counted(cur, *self._where(), "pos", offset, limit)


_LANE_FIELDS = ("lane", "kind", "name", "events", "first_pos", "last_pos", "marks")
_LANE_SQL = """
WITH l AS (
    SELECT correlation_id, log_position, event_type,
        coalesce(json_extract_string(event_data, '$.stepName'),
            json_extract_string(event_data, '$.token'),
            json_extract_string(event_data, '$.resumeAt')) AS name
    FROM run_log WHERE run_id = $run
),
-- a lane's names in the order they first appear (two names are the drain/sync shape)
names AS (
    SELECT correlation_id, string_agg(name, ' | ' ORDER BY first_pos, name) AS name
    FROM (SELECT correlation_id, name, min(log_position) AS first_pos
          FROM l WHERE name IS NOT NULL GROUP BY correlation_id, name) n
    GROUP BY correlation_id
)
SELECT coalesce(l.correlation_id, '(run)') AS lane,
    CASE WHEN l.correlation_id IS NULL THEN 'run' ELSE split_part(l.correlation_id, '_', 1) END
        AS kind,
    min(n.name) AS name,
    count(*) AS events, min(l.log_position) AS first_pos, max(l.log_position) AS last_pos,
    string_agg(CAST(l.log_position AS VARCHAR) || ':' || l.event_type, ' '
        ORDER BY l.log_position) AS marks
FROM l LEFT JOIN names n ON n.correlation_id IS NOT DISTINCT FROM l.correlation_id
GROUP BY l.correlation_id
"""


@dataclass(frozen=True)
class LanesSource:
    """One line per correlation id (plus one for the run's own events), by first appearance."""

    run_id: str
    fields: Sequence[str] = _LANE_FIELDS

    def count(self, cur: duckdb.DuckDBPyConnection) -> int:
        row = cur.execute(
            "SELECT count(DISTINCT coalesce(correlation_id, '')) FROM run_log WHERE run_id = $run",
            {"run": self.run_id},
        ).fetchone()
        return int(row[0]) if row else 0

    def fetch(self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int) -> list[Row]:
        sql = _LANE_SQL + f" ORDER BY first_pos LIMIT {int(limit)} OFFSET {int(offset)}"
        return cur.execute(sql, {"run": self.run_id}).fetchall()

    def fetch_counted(
        self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int
    ) -> tuple[list[Row], int]:
        return counted(cur, _LANE_SQL, {"run": self.run_id}, "first_pos", offset, limit)


@dataclass(frozen=True)
class ListSource:
    """Rows already in memory (a few findings, replays, a capped SQL result)."""

    fields: Sequence[str]
    rows: Sequence[Row] = field(default_factory=tuple)

    def count(self, cur: duckdb.DuckDBPyConnection) -> int:
        return len(self.rows)

    def fetch(self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int) -> list[Row]:
        return list(self.rows[offset : offset + limit])


@dataclass(frozen=True)
class ArrowSource:
    """A snapshot held as Arrow (the runs summary), sorted and filtered by DuckDB per page.

    `where` is SQL over the snapshot's own columns built by the screen from fixed fragments;
    the user's words arrive only as bound `params`.
    """

    table: pa.Table
    where: str = "true"
    params: tuple[tuple[str, Any], ...] = ()
    order: str = ""
    descending: bool = False

    @property
    def fields(self) -> Sequence[str]:
        return list(self.table.column_names)

    def _sql(self, select: str, *, ordered: bool = True) -> str:
        sql = f"SELECT {select} FROM _snapshot WHERE {self.where}"
        if self.order and ordered:
            if self.order not in self.table.column_names:
                raise ValueError(f"no column {self.order!r} to sort on")
            direction = "DESC" if self.descending else "ASC"
            sql += f' ORDER BY "{self.order}" {direction} NULLS LAST, 1'
        return sql

    def _run(self, cur: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
        cur.register("_snapshot", self.table)
        try:
            return cur.execute(sql, dict(self.params) or None).fetchall()
        finally:
            cur.unregister("_snapshot")

    def count(self, cur: duckdb.DuckDBPyConnection) -> int:
        return int(self._run(cur, self._sql("count(*)", ordered=False))[0][0])

    def fetch(self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int) -> list[Row]:
        return self._run(cur, self._sql("*") + f" LIMIT {int(limit)} OFFSET {int(offset)}")


# `/` on the runs list: words are ANDed; `key:value` looks in one column, a bare word in any.
_RUN_KEYS: dict[str, tuple[str, ...]] = {
    "run": ("run_id",),
    "id": ("run_id",),
    "status": ("status",),
    "wf": ("workflow",),
    "workflow": ("workflow",),
    "code": ("codes", "error_code"),
    "error": ("error_code",),
    "verdict": ("verdict",),
}
_RUN_ANY: tuple[str, ...] = ("run_id", "workflow", "status", "error_code", "verdict", "codes")


def runs_where(text: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """SQL over the runs snapshot for a `/` filter, and its bound parameters."""
    clauses: list[str] = []
    params: list[tuple[str, Any]] = []
    for n, word in enumerate(text.split()):
        key, sep, value = word.partition(":")
        columns: tuple[str, ...] | None = _RUN_KEYS.get(key.lower()) if sep else None
        if columns is None:
            columns, value = _RUN_ANY, word
        name = f"w{n}"
        params.append((name, like(value)))
        match = " OR ".join(f"coalesce({c}, '') ILIKE ${name} ESCAPE '\\'" for c in columns)
        clauses.append(f"({match})")
    return (" AND ".join(clauses) or "true"), tuple(params)
