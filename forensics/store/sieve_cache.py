"""Keeping the analysis sieve's per-run statistics between passes (`sieve_*` tables).

The analysis computes the statistics (one row per run, one per run and entity, the runs with
suspect commit order) into temp tables; this module copies them into permanent tables under
a version string that names what computed them, and replaces the rows of a set of runs in one
transaction. The rows are a cache: each carries the key of the events it was computed from,
and the analysis uses a run's rows only while that key still matches; a version change drops
them all. Nothing else in the store depends on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from forensics.store.ingest import run

_META = "sieve_cache_meta"


def cached_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The version of the statistics kept in the store (None when there are none)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [_META]
    ).fetchall()[0][0]
    if not exists:
        return None
    row = con.execute(f"SELECT version FROM {_META}").fetchall()
    return str(row[0][0]) if row else None


def replace_cached(
    con: duckdb.DuckDBPyConnection,
    version: str,
    run_ids: Sequence[str],
    tables: Mapping[str, str],
) -> None:
    """Make the rows of `run_ids` in each kept table those of its temp table.

    `tables` maps a kept table name (`sieve_…`) to the temp table holding the new rows, which
    have a `run_id` column. Kept rows of another version are dropped first.
    """
    if not run_ids:
        return
    run(con, "BEGIN")
    try:
        if cached_version(con) != version:
            for name in tables:
                run(con, f"DROP TABLE IF EXISTS {name}")
            run(con, f"CREATE OR REPLACE TABLE {_META} (version VARCHAR NOT NULL)")
            run(con, f"INSERT INTO {_META} VALUES (?)", [version])
        for name, temp in tables.items():
            run(con, f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM {temp} LIMIT 0")
            run(
                con,
                f"DELETE FROM {name} WHERE run_id IN (SELECT unnest($1::VARCHAR[]))",
                [list(run_ids)],
            )
            run(
                con,
                f"INSERT INTO {name} SELECT * FROM {temp}"
                " WHERE run_id IN (SELECT unnest($1::VARCHAR[]))",
                [list(run_ids)],
            )
    except BaseException:
        run(con, "ROLLBACK")
        raise
    run(con, "COMMIT")


def clear_cached(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> None:
    """Drop every kept statistic (the next pass computes them all again)."""
    for name in (*names, _META):
        run(con, f"DROP TABLE IF EXISTS {name}")
