"""Making a `--run` re-import exact: each run's items are counted before and after reading.

A re-import reads each run from its high-water mark minus a look-back window, which misses
an item written later than the window with an id below it (a late commit). DynamoDB keeps no
commit order to ask for, so each marked run is first counted with a `Select=COUNT` Query
over the whole run (no item data travels; read capacity as for the run's items). A run whose
count equals the events the store holds from this table is skipped: nothing was added. A
run read from its mark that still holds more items than the store afterwards had a late
commit below the window: it is read again whole, and the import's notes say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from forensics.importers.dynamodb_live.client import RAW_PAGE, Connection
from forensics.importers.dynamodb_live.pages import Request
from forensics.store import Store

SOURCE_KIND = "dynamodb"


def run_of(request: Request) -> str:
    return request.label.removeprefix("run ")


def count_items(conn: Connection, requests: Sequence[Request]) -> dict[str, int]:
    """{run id: items} of these whole-run Queries, counted by the server."""
    counts: dict[str, int] = {}
    for request in requests:
        params: dict[str, Any] = {k: v for k, v in request.params.items() if k != "Limit"}
        params["Select"] = "COUNT"
        total = 0
        while True:
            response = conn.call("query", request.table, **params)
            page = response.get(RAW_PAGE) or response  # the body as the server sent it
            total += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        counts[run_of(request)] = total
    return counts


def stored_counts(store: Store, location: str, runs: Sequence[str]) -> dict[str, int]:
    """{run id: distinct events the store holds from this table} (its own copies only, so
    an event also imported from elsewhere never hides an item of this table)."""
    _, rows = store.query(
        "SELECT run_id, count(DISTINCT event_id) FROM events"
        " WHERE source_kind = ? AND source_location = ? AND list_contains(?, run_id)"
        " GROUP BY run_id",
        [SOURCE_KIND, location, list(runs)],
    )
    return {str(r): int(n) for r, n in rows}
