"""One Spark `local[2]` session for the fleet tests, and the fleet they all check.

The fleet holds the bundled samples (with their replay traces), the real 4.8.9 logs of both
worlds (`tests/data/spark`) and a generated fleet with every corruption shape of the check
benchmark. Spark starts once per test session (it takes a while); without Java or PySpark
the tests skip, which CI (FORENSICS_NO_SKIP=1) turns into failures.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from forensics.demo import build_demo_store
from forensics.importers.normalize import event_from_dict, parse_time
from forensics.importers.run import import_paths
from forensics.model import Provenance, RunRecord
from forensics.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "spark"
BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="pip install 'forensics[spark]'")
    from forensics.fleet.session import start

    session, _ = start("local[2]", None, {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "1g",
    })  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _real_postgres(store: Store) -> None:
    """The world-postgres tables' JSON Lines export, as SDK-shaped events and run records."""
    with store.begin_import("world-postgres rows", "real-pg") as session:
        with gzip.open(DATA / "real-pg-events.decoded.jsonl.gz", "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                row = json.loads(line)
                item = {"runId": row["run_id"], "eventId": row["id"], "eventType": row["type"],
                        "correlationId": row["correlation_id"], "createdAt": row["created_at"],
                        "specVersion": row["spec_version"],
                        "eventData": row.get("payload_cbor_decoded")}  # fmt: skip
                session.add_event(event_from_dict(item, Provenance("pg-events", str(n))))
        runs = []
        with gzip.open(DATA / "real-pg-workflow_runs.decoded.jsonl.gz", "rt") as fh:
            for line in fh:
                row = json.loads(line)
                started = parse_time(row["started_at"], "started_at")
                runs.append(RunRecord(row["id"], Provenance("pg-runs"), workflow_name=row["name"],
                                      status=row["status"], started_at=started))  # fmt: skip
        session.add_runs(runs)
        session.finish()


def _generated(folder: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Small runs of the check benchmark's generator, one per corruption shape, and healthy
    ones; returns the JSON Lines file and what was injected (code, run, witness)."""
    sys.path.insert(0, str(BENCH))
    try:
        from check_data import SHAPES, reseed
        from synth import synth_run
    finally:
        sys.path.remove(str(BENCH))
    rng = random.Random(11)
    path = folder / "generated.jsonl"
    injected = []
    with path.open("wb") as fh:
        shapes = list(SHAPES.values())
        for index in range(len(shapes) + 6):
            evs = reseed(list(synth_run(index, 330, rng)))
            if index < len(shapes):
                code, witness = shapes[index](evs)
                injected.append({"run_id": evs[0]["runId"], "code": code, "witness": witness})
            fh.writelines(orjson.dumps(e) + b"\n" for e in evs)
    return path, injected


@pytest.fixture(scope="session")
def fleet_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A store with every fixture of the fleet tests (unchecked), and the injected shapes."""
    folder = tmp_path_factory.mktemp("fleet-store")
    db = folder / "fleet.duckdb"
    store, _ = build_demo_store(db)
    with store:
        with tarfile.open(DATA / "real-local-workflow-data.tar.gz") as tar:
            tar.extractall(folder / "real-local", filter="data")
        import_paths(store, [folder / "real-local" / ".workflow-data"])
        _real_postgres(store)
        generated, injected = _generated(folder)
        import_paths(store, [generated])
    return db, injected
