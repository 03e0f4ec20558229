"""Decoding in worker processes gives exactly what decoding in this process gives.

Large imports move decoding to a process pool after `PARALLEL_MIN_ROWS` rows; here the
threshold is zero and the batches tiny, so the real dump goes through the pool in many
batches, and the resulting store must equal the one an in-process import writes.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from forensics.importers import parallel
from forensics.importers.postgres import PostgresOptions, import_postgres, phases
from forensics.importers.postgres.decoding import decode_columns, decode_job
from forensics.store import Store
from tests.realdata import REALDATA

EVENTS = REALDATA / "postgres" / "pg-events.jsonl"
TABLES = {
    "events": "SELECT * EXCLUDE (import_id) FROM events ORDER BY event_id",
    "run_records": "SELECT * EXCLUDE (import_id) FROM run_records ORDER BY run_id",
    "entities": "SELECT * EXCLUDE (import_id) FROM entities ORDER BY run_id, entity_id",
    "import_marks": "SELECT * EXCLUDE (import_id) FROM import_marks WHERE scope <> 'source'"
    " ORDER BY scope, item",
}


def test_the_pool_returns_what_this_process_computes_in_order() -> None:
    rows = [json.loads(line) for line in EVENTS.read_text().splitlines()]
    works = [
        (
            tuple(r["type"] for r in chunk),
            tuple(base64.b64decode(b) if (b := r["payload_cbor_b64"]) else None for r in chunk),
            tuple(None for _ in chunk),
            tuple(r["spec_version"] for r in chunk),
        )
        for chunk in (rows[i : i + 50] for i in range(0, len(rows), 50))
    ]
    with parallel.Decoders(threshold=0) as decoders:
        results = list(decoders.map(decode_job, ((n, 50, (w, None)) for n, w in enumerate(works))))
        pooled = decoders.pool is not None
    assert pooled == ((os.cpu_count() or 1) > 1)  # one worker per core but one
    assert [n for n, _ in results] == list(range(len(works)))
    assert [r for _, r in results] == [decode_columns(w, None, {}) for w in works]


def test_a_pool_given_more_cores_between_maps_goes_on_in_order() -> None:
    cores = os.cpu_count() or 1
    with parallel.Decoders(threshold=0) as decoders:
        first = list(decoders.map(divmod, ((n, 1, (n, 3)) for n in range(6))))
        size = decoders.pool_size
        decoders.spare(0)
        second = list(decoders.map(divmod, ((n, 1, (n, 4)) for n in range(6))))
        assert decoders.pool_size == min(cores, parallel.MAX_WORKERS)
    assert size == min(cores - 1, parallel.MAX_WORKERS)
    assert first == [(n, divmod(n, 3)) for n in range(6)]
    assert second == [(n, divmod(n, 4)) for n in range(6)]


@pytest.mark.postgres
def test_an_import_through_the_pool_stores_the_same(
    real_pg: str, pg_admin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stored(path: Path) -> dict[str, list[tuple[Any, ...]]]:
        with Store(path) as store:
            import_postgres(store, PostgresOptions(dsn=pg_admin.dsn(real_pg)))
            return {name: store.query(sql)[1] for name, sql in TABLES.items()}

    inline = stored(tmp_path / "inline.duckdb")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(phases, "EVENT_BATCH", 40)
    monkeypatch.setattr(phases, "STORE_BATCH", 100)
    monkeypatch.setattr(phases, "ENTITY_BATCH", 10)
    pooled = stored(tmp_path / "pooled.duckdb")
    # marks: the newest id and the event count of each run
    assert [len(rows) for rows in pooled.values()] == [448, 43, 90, 86]
    for name in TABLES:  # every value of every row, provenance included
        assert pooled[name] == inline[name], name


def test_decoding_workers_load_neither_arrow_nor_the_store() -> None:
    """What a worker imports to run its jobs stays small (the import's RSS budget counts it)."""
    import subprocess
    import sys

    code = (
        "import sys, forensics.importers.postgres.decoding, forensics.importers.postgres.entities;"
        " print(sorted(m for m in ('pyarrow', 'duckdb', 'psycopg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
