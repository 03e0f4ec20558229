"""Writing analysis results: the `findings` and `run_verdicts` tables, replaced run by run.

The analysis computes; this module stores. Replacing a set of runs is one transaction (delete
their rows, insert the new ones), so a reader never sees a run half re-analysed and an
interrupted check leaves the previous results in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import orjson
import pyarrow as pa

from forensics.model import Finding, RunVerdict
from forensics.store.ingest import run

_FINDING_SCHEMA = pa.schema(
    [
        ("finding_id", pa.string()),
        ("run_id", pa.string()),
        ("code", pa.string()),
        ("severity", pa.string()),
        ("correlation_id", pa.string()),
        ("event_ids", pa.list_(pa.string())),
        ("fatal_in", pa.list_(pa.string())),
        ("replay_message", pa.string()),
        ("evidence", pa.string()),
        ("explanation", pa.string()),
    ]
)


def _findings_table(findings: Sequence[Finding]) -> pa.Table:
    rows = {
        "finding_id": [f.finding_id for f in findings],
        "run_id": [f.run_id for f in findings],
        "code": [f.code for f in findings],
        "severity": [f.severity for f in findings],
        "correlation_id": [f.correlation_id for f in findings],
        "event_ids": [list(f.event_ids) for f in findings],
        "fatal_in": [list(f.fatal_in) for f in findings],
        "replay_message": [f.replay_message for f in findings],
        "evidence": [
            orjson.dumps(f.evidence, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
            for f in findings
        ],
        "explanation": [f.explanation for f in findings],
    }
    return pa.Table.from_pydict(rows, schema=_FINDING_SCHEMA)


def _verdicts_table(verdicts: Sequence[RunVerdict]) -> pa.Table:
    return pa.table(
        {
            "run_id": [v.run_id for v in verdicts],
            "verdict": [v.verdict for v in verdicts],
            "reason": pa.array([v.reason for v in verdicts], pa.string()),
            "fingerprint": [v.fingerprint for v in verdicts],
        }
    )


def replace_findings(
    con: duckdb.DuckDBPyConnection,
    run_ids: Sequence[str],
    findings: Sequence[Finding],
    verdicts: Sequence[RunVerdict],
) -> None:
    """Make `findings` and `verdicts` the stored results of `run_ids` (and of nothing else)."""
    scope = pa.table({"run_id": pa.array(list(run_ids), pa.string())})
    con.register("_fx_replace_scope", scope)
    con.register("_fx_new_findings", _findings_table(findings))
    con.register("_fx_new_verdicts", _verdicts_table(verdicts))
    try:
        run(con, "BEGIN")
        try:
            for table in ("findings", "run_verdicts"):
                run(
                    con,
                    f"DELETE FROM {table} WHERE run_id IN (SELECT run_id FROM _fx_replace_scope)",
                )
            run(
                con,
                "INSERT INTO findings SELECT finding_id, run_id, code, severity, correlation_id,"
                " event_ids, fatal_in, replay_message, json(evidence), explanation, now()"
                " FROM _fx_new_findings",
            )
            run(
                con,
                "INSERT INTO run_verdicts SELECT run_id, verdict, reason, fingerprint, now()"
                " FROM _fx_new_verdicts",
            )
        except BaseException:
            run(con, "ROLLBACK")
            raise
        run(con, "COMMIT")
    finally:
        for name in ("_fx_replace_scope", "_fx_new_findings", "_fx_new_verdicts"):
            con.unregister(name)


def clear_findings(con: duckdb.DuckDBPyConnection) -> None:
    """Forget every stored result, so the next check analyses every run again."""
    run(con, "BEGIN")
    run(con, "DELETE FROM findings")
    run(con, "DELETE FROM run_verdicts")
    run(con, "COMMIT")
