"""Which stored findings a watch has already announced, kept beside the importers' marks.

A watch of a source announces every finding it has not announced before. What it announced
is kept in `import_marks` (source `watch:<location>`, scope `alerted`, one row per finding
id, the mark being when), written only after the alert went out: a watch stopped between
the two announces that finding again when it starts next (at least once, never lost).
The first pass of a watch that has no such rows yet takes what the store already holds as
its baseline (scope `watch`, item `baseline`), so an old incident is not announced anew.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from forensics.store.ingest import run

if TYPE_CHECKING:
    from forensics.store import Store

ALERTED = "alerted"
STATE = "watch"
BASELINE = "baseline"
_COLUMNS = "f.finding_id, f.run_id, f.code, f.severity, f.event_ids, f.explanation, f.found_at"


def watch_source(location: str) -> str:
    return f"watch:{location}"


def has_baseline(store: Store, source: str) -> bool:
    return BASELINE in store.marks(source, STATE)


def unannounced(store: Store, source: str) -> list[dict[str, Any]]:
    """Stored findings this watch has not announced, in run and finding order."""
    cur = store.con.execute(
        f"SELECT {_COLUMNS} FROM findings f ANTI JOIN"
        " (SELECT item FROM import_marks WHERE source = ? AND scope = ?) m"
        " ON m.item = f.finding_id ORDER BY f.found_at, f.run_id, f.finding_id",
        [source, ALERTED],
    )
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def mark_announced(store: Store, source: str, finding_ids: Sequence[str], at: datetime) -> None:
    """Record these findings as announced (one transaction)."""
    if not finding_ids:
        return
    run(
        store.con,
        "INSERT OR REPLACE INTO import_marks (source, scope, item, mark, import_id)"
        " SELECT ?, ?, unnest(?::VARCHAR[]), ?, 0",
        [source, ALERTED, list(finding_ids), at.isoformat()],
    )


def take_baseline(store: Store, source: str, at: datetime) -> int:
    """Count every stored finding as announced (the watch's first pass); how many."""
    ids = [r["finding_id"] for r in unannounced(store, source)]
    store.con.execute("BEGIN")
    try:
        mark_announced(store, source, ids, at)
        run(
            store.con,
            "INSERT OR REPLACE INTO import_marks (source, scope, item, mark, import_id)"
            " VALUES (?, ?, ?, ?, 0)",
            [source, STATE, BASELINE, at.isoformat()],
        )
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    store.con.execute("COMMIT")
    return len(ids)
