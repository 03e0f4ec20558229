"""Fleet figures that need stored findings: the manifest's expected findings written to a copy
of the sample store through the store's own writer, then read back by the fleet infos."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from forensics.demo import SAMPLES_DIR
from forensics.model import Finding, RunVerdict
from forensics.report.fleet import (
    StatusVerdictInfo,
    WorkflowRate,
    runs_by_status_info,
    workflow_anomaly_info,
)
from forensics.report.fleet_findings import RunToRead, findings_over_time_info, runs_to_read_info
from forensics.store import Store
from forensics.store.findings import replace_findings
from tests.report.test_timeline import ms

MANIFEST = json.loads((SAMPLES_DIR / "manifest.json").read_text())
SEVERITY = {"race-window": "warning"}


@pytest.fixture
def checked(demo_db: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path / "checked.duckdb"
    shutil.copy(demo_db, path)
    with Store(path) as store:
        findings, verdicts = [], []
        for run in MANIFEST["runs"]:
            for n, code in enumerate(run["expected_codes"]):
                findings.append(
                    Finding(
                        f"{run['run_id']}-{n}",
                        code,
                        SEVERITY.get(code, "error"),
                        run["run_id"],
                        None,
                        tuple(run["witness"][code]),
                        (),
                        None,
                        {},
                    )
                )
            verdict = "anomalous" if run["expected_codes"] else "ok"
            verdicts.append(RunVerdict(run["run_id"], verdict, None, "test"))
        run_ids = [r["run_id"] for r in MANIFEST["runs"]]
        replace_findings(store.con, run_ids, findings, verdicts)
        yield store.con


def test_findings_by_code_per_week(checked: duckdb.DuckDBPyConnection) -> None:
    info = findings_over_time_info(checked)
    assert info.unit == "week"  # May to December
    assert info.total == 19
    assert info.codes[:2] == ("corrupted-log-error", "event-after-terminal")
    assert info.buckets == (
        ms("2026-05-11T00:00:00Z"),
        ms("2026-05-25T00:00:00Z"),
        ms("2026-06-15T00:00:00Z"),
        ms("2026-11-16T00:00:00Z"),
        ms("2026-12-07T00:00:00Z"),  # the 5.x sample runs
    )
    counts = dict(zip(info.codes, info.counts, strict=True))
    assert counts["corrupted-log-error"] == (2, 2, 1, 0, 0)
    assert counts["run-lifecycle"] == (0, 0, 0, 0, 1)  # the duplicate run_completed


def test_status_by_verdict(checked: duckdb.DuckDBPyConnection) -> None:
    assert runs_by_status_info(checked) == StatusVerdictInfo(
        ("failed", "running", "completed", "unknown"),
        ("anomalous", "ok"),
        ((5, 1, 2, 1), (1, 0, 10, 0)),
    )


def test_anomaly_rate_per_workflow(checked: duckdb.DuckDBPyConnection) -> None:
    rates = workflow_anomaly_info(checked)
    assert rates[:2] == (
        WorkflowRate("workflow//./workflows/demo//approvalRaceWorkflow", 1, 1, 1, 0),
        WorkflowRate("workflow//./workflows/inventory//inventorySyncWorkflow", 1, 1, 1, 0),
    )
    seq = next(r for r in rates if r.workflow_name.endswith("sequentialWorkflow"))
    assert (seq.runs, seq.analysed, seq.anomalous, round(seq.rate, 3)) == (5, 5, 2, 0.4)


def test_runs_to_read_first(checked: duckdb.DuckDBPyConnection) -> None:
    runs = runs_to_read_info(checked, limit=2)
    assert runs == (
        RunToRead(
            "wrun_01KSP9BZB4487TXAG8KM4D1H1C",
            "workflow//./workflows/inventory//inventorySyncWorkflow",
            "failed",
            "anomalous",
            14,
            3,
            1,
            ("corrupted-log-error", "duplicate-creation", "race-window", "step-name-conflict"),
        ),
        RunToRead(
            "wrun_01KVD59BJ6SFWNA34MSXPK14W0",
            "workflow//./workflows/demo//parallelWorkflow",
            "failed",
            "anomalous",
            20,
            3,
            0,
            ("corrupted-log-error", "event-after-terminal", "multiple-terminals"),
        ),
    )
    assert len(runs_to_read_info(checked)) == 9  # every anomalous run, no ok one
