"""Writing analysis results: the `findings` and `run_verdicts` tables, replaced run by run.

The analysis computes; this module stores. Replacing a set of runs is one transaction (delete
their rows, insert the new ones), so a reader never sees a run half re-analysed and an
interrupted check leaves the previous results in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import orjson

from forensics.model import Finding, RunVerdict
from forensics.store.ingest import run

# Rows go in as one list parameter per column, zipped back into rows by `unnest`.
_INSERT_FINDINGS = """
INSERT INTO findings
SELECT finding_id, run_id, code, severity, correlation_id, event_ids, fatal_in,
       replay_message, json(evidence), explanation, now()
FROM (SELECT unnest($1::VARCHAR[]) AS finding_id, unnest($2::VARCHAR[]) AS run_id,
             unnest($3::VARCHAR[]) AS code, unnest($4::VARCHAR[]) AS severity,
             unnest($5::VARCHAR[]) AS correlation_id, unnest($6::VARCHAR[][]) AS event_ids,
             unnest($7::VARCHAR[][]) AS fatal_in, unnest($8::VARCHAR[]) AS replay_message,
             unnest($9::VARCHAR[]) AS evidence, unnest($10::VARCHAR[]) AS explanation)
"""
_INSERT_VERDICTS = """
INSERT INTO run_verdicts
SELECT run_id, verdict, reason, fingerprint, now()
FROM (SELECT unnest($1::VARCHAR[]) AS run_id, unnest($2::VARCHAR[]) AS verdict,
             unnest($3::VARCHAR[]) AS reason, unnest($4::VARCHAR[]) AS fingerprint)
"""


def _finding_columns(findings: Sequence[Finding]) -> list[list[Any]]:
    return [
        [f.finding_id for f in findings],
        [f.run_id for f in findings],
        [f.code for f in findings],
        [f.severity for f in findings],
        [f.correlation_id for f in findings],
        [list(f.event_ids) for f in findings],
        [list(f.fatal_in) for f in findings],
        [f.replay_message for f in findings],
        [
            orjson.dumps(f.evidence, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
            for f in findings
        ],
        [f.explanation for f in findings],
    ]


def _verdict_columns(verdicts: Sequence[RunVerdict]) -> list[list[Any]]:
    return [
        [v.run_id for v in verdicts],
        [v.verdict for v in verdicts],
        [v.reason for v in verdicts],
        [v.fingerprint for v in verdicts],
    ]


def replace_findings(
    con: duckdb.DuckDBPyConnection,
    run_ids: Sequence[str],
    findings: Sequence[Finding],
    verdicts: Sequence[RunVerdict],
) -> None:
    """Make `findings` and `verdicts` the stored results of `run_ids` (and of nothing else)."""
    run(con, "BEGIN")
    try:
        for table in ("findings", "run_verdicts"):
            run(
                con,
                f"DELETE FROM {table} WHERE run_id IN (SELECT unnest($1::VARCHAR[]))",
                [list(run_ids)],
            )
        if findings:
            run(con, _INSERT_FINDINGS, _finding_columns(findings))
        if verdicts:
            run(con, _INSERT_VERDICTS, _verdict_columns(verdicts))
    except BaseException:
        run(con, "ROLLBACK")
        raise
    run(con, "COMMIT")


def clear_findings(con: duckdb.DuckDBPyConnection) -> None:
    """Forget every stored result, so the next check analyses every run again."""
    run(con, "BEGIN")
    run(con, "DELETE FROM findings")
    run(con, "DELETE FROM run_verdicts")
    run(con, "COMMIT")


_READ_RUN = """
SELECT finding_id, code, severity, run_id, correlation_id, event_ids, fatal_in,
    replay_message, evidence, explanation
FROM findings WHERE run_id = ? ORDER BY finding_id
"""


def run_results(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> tuple[list[Finding], RunVerdict | None]:
    """One run's stored findings and verdict (what the last `check` of it found)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "findings" not in tables or "run_verdicts" not in tables:
        return [], None
    findings = [
        Finding(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            r[4],
            tuple(r[5]),
            tuple(r[6]),
            r[7],
            orjson.loads(r[8]) if r[8] else {},
            r[9] or "",
        )
        for r in con.execute(_READ_RUN, [run_id]).fetchall()
    ]
    rows = con.execute(
        "SELECT run_id, verdict, reason, fingerprint FROM run_verdicts WHERE run_id = ?", [run_id]
    ).fetchall()
    verdict = (
        RunVerdict(str(rows[0][0]), str(rows[0][1]), rows[0][2], str(rows[0][3])) if rows else None
    )
    return findings, verdict
