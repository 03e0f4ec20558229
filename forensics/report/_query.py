"""Small helpers the report's info functions share: rows as dicts, times as epoch ms, thinning.

Info functions read the store through a DuckDB connection (a `Store.con` or a cursor of one)
and return plain values; times travel as integer milliseconds since the epoch (UTC), which
is what plotly's date axes take and what tests can compare exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb

from forensics.errors import StoreError

Con = duckdb.DuckDBPyConnection

# Beyond this many points a figure is aggregated or sampled, and says so.
MAX_POINTS = 50_000


def fetch(
    con: Con, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run one query; rows as dicts keyed by column name."""
    try:
        cur = con.execute(sql, params) if params is not None else con.execute(sql)
    except duckdb.Error as exc:
        raise StoreError(
            f"report query failed: {str(exc).splitlines()[0]}",
            hint="is this a forensics store? `forensics runs` lists what it holds",
        ) from exc
    cols = [d[0] for d in cur.description or ()]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def has_table(con: Con, name: str) -> bool:
    """Whether the store has a table or view called `name` (later migrations add some)."""
    rows = fetch(
        con,
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?",
        [name],
    )
    return bool(rows[0]["n"])


def iso_ms(ms: int | None) -> str:
    """Epoch milliseconds as `2026-05-27 14:03:11.212Z` (empty for None)."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def stride(total: int, budget: int) -> int:
    """Keep every n-th item so that about `budget` of `total` remain (1 = keep all)."""
    if total <= budget or budget <= 0:
        return 1
    return -(-total // budget)


def short_name(name: str | None) -> str:
    """`step//./workflows/demo//fetchItem` → `fetchItem`; other names unchanged."""
    if not name:
        return ""
    return name.rsplit("//", 1)[-1] or name


def ordinal(n: int) -> str:
    """2 → `2nd`, 3 → `3rd`, 11 → `11th`: for notes like "every 3rd lane"."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def plural(n: int, word: str) -> str:
    """`1 inversion`, `2 inversions`, `1,204 replays`."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")
