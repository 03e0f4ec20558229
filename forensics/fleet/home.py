"""`check --engine spark --into DB`: the findings and the flagged runs, home in a local store.

The flagged runs are those with a finding. Their events, run records and entity rows come
home as one import (`source_kind` "spark-check"), their findings and verdicts are stored
with the fingerprints of what came home, so a later `check`, `explain`, `report` or the TUI
reads them as its own results and analyses nothing again. Replay traces stay in the fleet:
the findings drawn from them come home as findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from forensics.analysis import scan as scanning
from forensics.analysis.scan import Settings
from forensics.model import Finding, RunVerdict
from forensics.store import Store
from forensics.store.findings import replace_findings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_HOME_TABLES = ("events", "run_records", "entities")


def bring_home(
    spark: SparkSession, source: str, out: str, into: Path, settings: Settings
) -> dict[str, Any]:
    """Copy the findings and the flagged runs' rows into the store at `into`."""
    target = out.rstrip("/")
    findings = spark.read.parquet(f"{target}/findings")
    flagged = findings.select("run_id").distinct()
    verdicts = spark.read.parquet(f"{target}/run_verdicts").join(flagged, "run_id", "left_semi")
    with Store(into) as store, store.begin_import("spark-check", source) as session:
        for table in _HOME_TABLES:
            rows = spark.read.parquet(f"{source.rstrip('/')}/{table}")
            session.add_fleet_rows(table, _arrow(rows.join(flagged, "run_id", "left_semi")))
        summary = session.finish()
        found = [_finding(r) for r in _arrow(findings).to_pylist()]
        ruled = _arrow(verdicts).to_pylist()
        runs = sorted({str(v["run_id"]) for v in ruled})
        prints = _fingerprints(store, runs, settings)
        kept = [RunVerdict(v["run_id"], v["verdict"], v["reason"], prints[v["run_id"]])
                for v in ruled]  # fmt: skip
        replace_findings(store.con, runs, found, kept)
    return {"store": str(into), "runs": len(runs), "events": summary.stored,
            "findings": len(found)}  # fmt: skip


def _arrow(frame: DataFrame) -> Any:
    return frame.toArrow()


def _fingerprints(store: Store, runs: list[str], settings: Settings) -> dict[str, str]:
    """Each run's fingerprint as a local `check` computes it, so it finds them fresh."""
    con = store.cursor()
    try:
        scanning.facts(con, settings, runs)
        return dict(con.execute("SELECT run_id, fingerprint FROM _fx_facts").fetchall())
    finally:
        scanning.drop(con)
        con.close()


def _finding(r: dict[str, Any]) -> Finding:
    return Finding(
        r["finding_id"],
        r["code"],
        r["severity"],
        r["run_id"],
        r["correlation_id"],
        tuple(r["event_ids"] or ()),
        tuple(r["fatal_in"] or ()),
        r["replay_message"],
        orjson.loads(r["evidence"]) if r["evidence"] else {},
        r["explanation"] or "",
    )
