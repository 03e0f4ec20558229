"""The real SDK-written logs (both worlds): healthy runs give no finding at all.

They hold the benign shapes the detectors must leave alone: two `step_started` for one step
after a crash, a hook-wins race whose wait never completes, `wakeUp()` completing a wait long
before its resumeAt, cancelled runs with open waits, runs still waiting on hooks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from forensics.analysis.engine import CheckResult, check
from forensics.importers.normalize import event_from_dict, parse_time
from forensics.model import Provenance, RunRecord
from forensics.store import Store


@pytest.fixture(scope="module")
def local(real_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> CheckResult:
    copy = tmp_path_factory.mktemp("real-local") / "real.duckdb"
    shutil.copy(real_store_path, copy)
    with Store(copy) as store:
        return check(store)


def _import_postgres_rows(base: Path, store: Store) -> None:
    """The world-postgres tables' JSON Lines export, as SDK-shaped events and run records."""
    with store.begin_import("world-postgres rows", str(base)) as session:
        for n, line in enumerate((base / "pg-events.decoded.jsonl").open(encoding="utf-8")):
            row = json.loads(line)
            item = {"runId": row["run_id"], "eventId": row["id"], "eventType": row["type"],
                    "correlationId": row["correlation_id"], "createdAt": row["created_at"],
                    "specVersion": row["spec_version"],
                    "eventData": row.get("payload_cbor_decoded")}  # fmt: skip
            session.add_event(event_from_dict(item, Provenance("pg-events", str(n))))
        runs = []
        for line in (base / "pg-workflow_runs.decoded.jsonl").open(encoding="utf-8"):
            row = json.loads(line)
            started = parse_time(row["started_at"], "started_at")
            runs.append(
                RunRecord(row["id"], Provenance("pg-runs"), workflow_name=row["name"],
                          status=row["status"], started_at=started)
            )  # fmt: skip
        session.add_runs(runs)
        session.finish()


@pytest.fixture(scope="module")
def postgres(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> CheckResult:
    with Store(tmp_path_factory.mktemp("real-postgres") / "pg.duckdb") as store:
        _import_postgres_rows(realdata / "postgres", store)
        return check(store)


@pytest.mark.parametrize("world", ["local", "postgres"])
def test_real_runs_give_no_findings(world: str, request: pytest.FixtureRequest) -> None:
    result: CheckResult = request.getfixturevalue(world)
    assert [(f.run_id, f.code) for f in result.findings] == []
    assert (len(result.runs), {v.verdict for v in result.runs}) == (43, {"ok"})
