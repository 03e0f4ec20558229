"""The fleet pass: cheap aggregates over every event, then exact work on the suspects only.

Sorting millions of events per detector would cost a window pass each, so `check` sieves.
`facts` is one aggregate per run (exact run-level facts, correlation-id ranges, and the
fingerprint that tells which runs are stale). `stage` then runs one hash aggregate per
(run, entity) with numeric states only (`_fx_ent`), one per (run, commit-time bucket) for
order inversions (`_fx_buckets`), picks the suspect runs and entities, and copies their
events, one copy per event id as `run_log` keeps them, into `_fx_ev`, where the detectors
use exact ids and window functions on few rows. Every sieve test over-approximates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import duckdb

from forensics.analysis.sieve import (
    BUCKETS_SQL,
    ENTITY_STATS_SQL,
    FACTS_EV_SQL,
    FACTS_SQL,
    GKEY,
    KEY_SQL,
    SUSPECT_ENTITIES_SQL,
    SUSPECT_RUNS_SQL,
)
from forensics.store.schema import copy_order
from forensics.store.sieve_cache import cached_version, clear_cached, replace_cached

ENGINE_VERSION: Final = 4
"""Bumped whenever a detector changes what it reports, so stored results become stale."""
SIEVE_VERSION: Final = 2
"""Bumped whenever the sieve's statistics change shape or meaning (kept ones are dropped)."""
# Kept statistics (see `forensics.store.sieve_cache`) and the temp tables they come from.
_KEPT: Final = {
    "sieve_runs": "_fx_keep_runs",
    "sieve_entities": "_fx_ent",
    "sieve_buckets": "_fx_buckets",
}


@dataclass(frozen=True)
class Settings:
    """Thresholds of the timing detectors; part of every run's fingerprint."""

    inversion_tolerance_ms: int = 1000
    race_window_ms: int = 50

    def key(self) -> str:
        return f"v{ENGINE_VERSION};inv={self.inversion_tolerance_ms};race={self.race_window_ms}"


@dataclass(frozen=True)
class Scan:
    """A cursor holding this check's temp tables (`_fx_*`) and the settings in force."""

    con: duckdb.DuckDBPyConnection
    settings: Settings

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params) if params else self.con.execute(sql)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# One copy per (run, event id), preferring the copy `run_log` prefers.
_EVENTS: Final = """
CREATE OR REPLACE TEMP TABLE _fx_ev AS
SELECT run_id, event_id, event_type, correlation_id, created_at,
    coalesce(write_time, created_at) AS commit_at, spec_version, event_data, payload_decoded,
    fence_state_updated_at, fence_last_event_id
FROM (
    SELECT e.*, row_number() OVER (
        PARTITION BY e.run_id, e.event_id
        ORDER BY {COPY_ORDER_E}) AS copy_no
    FROM events e
    WHERE NOT e.staged AND {in_runs} AND (
        e.run_id IN (SELECT run_id FROM _fx_suspect_runs)
        OR EXISTS (SELECT 1 FROM _fx_suspect_ent s
                   WHERE s.run_id = e.run_id AND s.cid = e.correlation_id))
) c
WHERE copy_no = 1
""".replace("{COPY_ORDER_E}", copy_order("e"))

_SUSPECT_CIDS: Final = f"""
CREATE OR REPLACE TEMP TABLE _fx_suspect_ent AS
SELECT DISTINCT e.run_id, e.correlation_id AS cid
FROM (
    SELECT run_id, correlation_id, {GKEY} AS gkey
    FROM events
    WHERE NOT staged AND correlation_id IS NOT NULL AND {{in_runs}}
) e
SEMI JOIN _fx_suspect_groups g ON g.run_id = e.run_id AND g.gkey = e.gkey
"""


def _version(settings: Settings) -> str:
    return f"v{ENGINE_VERSION}.{SIEVE_VERSION};width={max(1, int(settings.inversion_tolerance_ms))}"


def facts(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_ids: list[str] | None
) -> list[str]:
    """`_fx_facts`: one row per run (every run, or `run_ids`) with its exact run-level facts.

    Also `_fx_kept`: the runs whose kept statistics still match their events (`stage` reads
    those instead of computing them again). Returns the runs whose statistics are not kept.
    """
    where, scope = _runs_filter(con, "_fx_want", "runs", run_ids)
    con.execute(KEY_SQL.replace("{where}", where), scope or None)
    if cached_version(con) == _version(settings):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fx_kept AS SELECT k.run_id FROM _fx_key k"
            " JOIN sieve_runs s ON s.run_id = k.run_id AND s.stats_key = k.stats_key"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _fx_kept (run_id VARCHAR)")
    kept = con.execute("SELECT count(*) FROM _fx_kept").fetchall()[0][0]
    todo = [
        r[0]
        for r in con.execute(
            "SELECT run_id FROM _fx_key WHERE run_id NOT IN (SELECT run_id FROM _fx_kept)"
        ).fetchall()
    ]
    if not kept:
        con.execute(FACTS_EV_SQL.replace("{where}", where), scope or None)
    else:
        _computed(con, FACTS_EV_SQL.replace("{where}", "WHERE {in_todo}"), todo)
        con.execute(
            "INSERT INTO _fx_facts_ev SELECT * EXCLUDE (stats_key) FROM sieve_runs"
            " WHERE run_id IN (SELECT run_id FROM _fx_kept)"
        )
    params: dict[str, Any] = {"settings": settings.key(), **scope}
    con.execute(FACTS_SQL.replace("{where}", where), params)
    return todo


# Up to this many runs are bound as a list, which DuckDB folds into a constant filter that
# skips other runs' row groups; more go through a temp table and a semi-join.
_BOUND_RUNS: Final = 500


def _runs_filter(
    con: duckdb.DuckDBPyConnection, table: str, param: str, runs: list[str] | None
) -> tuple[str, dict[str, Any]]:
    """A `WHERE` clause selecting `runs` (None: every run) and the parameters it needs."""
    if runs is None:
        return "", {}
    if len(runs) <= _BOUND_RUNS:
        return f"WHERE run_id IN (SELECT unnest(${param}::VARCHAR[]))", {param: runs}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT unnest(?::VARCHAR[]) AS run_id", [runs]
    )
    return f"WHERE run_id IN (SELECT run_id FROM {table})", {}


def _computed(
    con: duckdb.DuckDBPyConnection, sql: str, runs: list[str], slot: str = "in_todo"
) -> None:
    """Run a statement whose `{slot}` filter selects `runs` (none: an empty result)."""
    if not runs:
        con.execute(sql.replace("{" + slot + "}", "false"))
        return
    where, params = _runs_filter(con, f"_fx_{slot}", "todo", runs)
    con.execute(sql.replace("{" + slot + "}", where.removeprefix("WHERE ")), params or None)


def sieve(
    con: duckdb.DuckDBPyConnection, run_ids: list[str], settings: Settings, *, every: bool
) -> None:
    """`_fx_ent` and `_fx_buckets` of `run_ids` (all in `_fx_facts`): kept rows where they
    still hold, computed for the others, which are then kept for the next pass."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _fx_scope AS SELECT unnest(?::VARCHAR[]) AS run_id",
        [run_ids],
    )
    con.execute("DROP TABLE IF EXISTS _fx_open")  # the openings of the previous scope
    width = str(max(1, int(settings.inversion_tolerance_ms)))
    ent = ENTITY_STATS_SQL.replace("{width}", width)
    buckets = BUCKETS_SQL.replace("{width}", width)
    kept = {r[0] for r in con.execute("SELECT run_id FROM _fx_kept").fetchall()}
    todo = [r for r in run_ids if r not in kept]
    if every and not kept:
        con.execute(ent.replace("{scope}", ""))
        con.execute(buckets.replace("{scope}", ""))
    else:
        _computed(con, ent.replace("{scope}", "AND {in_todo}"), todo)
        _computed(con, buckets.replace("{scope}", "AND {in_todo}"), todo)
        if len(todo) < len(run_ids):
            con.execute(
                "INSERT INTO _fx_ent SELECT * FROM sieve_entities"
                " WHERE run_id IN (SELECT run_id FROM _fx_kept)"
                " AND run_id IN (SELECT run_id FROM _fx_scope)"
            )
            con.execute(
                "INSERT INTO _fx_buckets SELECT * FROM sieve_buckets"
                " WHERE run_id IN (SELECT run_id FROM _fx_kept)"
                " AND run_id IN (SELECT run_id FROM _fx_scope)"
            )
    if todo:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fx_keep_runs AS"
            " SELECT f.*, k.stats_key FROM _fx_facts_ev f JOIN _fx_key k USING (run_id)"
        )
        replace_cached(con, _version(settings), todo, _KEPT)


def keep_statistics(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_ids: list[str] | None
) -> int:
    """Compute and keep the sieve's statistics of `run_ids` (None: every run) that are not
    kept yet or no longer match their events, so a later `check` reads them; returns how many
    runs were computed."""
    try:
        todo = facts(con, settings, run_ids)
        if todo:
            every = run_ids is None and not con.execute("SELECT 1 FROM _fx_kept").fetchall()
            sieve(con, todo, settings, every=every)
        return len(todo)
    finally:
        drop(con)


def forget_statistics(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every kept statistic."""
    clear_cached(con, list(_KEPT))


def stage(
    con: duckdb.DuckDBPyConnection,
    run_ids: list[str],
    settings: Settings,
    *,
    every: bool = False,
) -> Scan:
    """Sieve the runs `run_ids` (all in `_fx_facts`) and copy the suspects' events to `_fx_ev`.

    `every` says the runs are all the store holds, so no filter is needed; otherwise they are
    passed as a bound list that DuckDB folds into a constant filter, and reading a few runs
    of a large store skips the row groups of all others.
    """
    sieve(con, run_ids, settings, every=every)
    con.execute(SUSPECT_RUNS_SQL)
    con.execute(SUSPECT_ENTITIES_SQL)
    grouped = [
        r[0] for r in con.execute("SELECT DISTINCT run_id FROM _fx_suspect_groups").fetchall()
    ]
    _computed(con, _SUSPECT_CIDS, grouped, "in_runs")
    suspects = [
        r[0]
        for r in con.execute(
            "SELECT run_id FROM _fx_suspect_runs UNION SELECT run_id FROM _fx_suspect_ent"
        ).fetchall()
    ]
    _computed(con, _EVENTS, suspects, "in_runs")
    return Scan(con, settings)


def drop(con: duckdb.DuckDBPyConnection) -> None:
    for table in (
        "_fx_want",
        "_fx_in_todo",
        "_fx_in_runs",
        "_fx_key",
        "_fx_kept",
        "_fx_facts_ev",
        "_fx_keep_runs",
        "_fx_scope",
        "_fx_open",
        "_fx_facts",
        "_fx_ent",
        "_fx_buckets",
        "_fx_suspect_runs",
        "_fx_suspect_groups",
        "_fx_suspect_ent",
        "_fx_ev",
    ):
        con.execute(f"DROP TABLE IF EXISTS {table}")
