"""`convert --engine spark` of world-postgres tables exported as CSV finds what
`import postgres` then `check` finds on the databases themselves.

The real world-postgres dumps of Workflow DevKit 4.8.9 and 5.x are restored into throwaway
databases on the real server, and each table is exported as a user would
(`COPY (SELECT * FROM workflow.<table>) TO … (FORMAT csv, HEADER)`), one folder per
database, some files gzipped. Three broken rows are added to the exports. On one machine
both databases are imported into one store and checked; on Spark `local[2]` both folders
are converted in one go and checked. Findings (codes, runs, witness events, severities),
verdicts, run and entity records must match, and the broken rows be quarantined with their
file, line and reason.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from psycopg import sql

from forensics.analysis.engine import check
from forensics.cli import main
from forensics.errors import EXIT_ANOMALIES, EXIT_PARTIAL
from forensics.fleet.layout import fleet_columns
from forensics.importers.postgres import PostgresOptions, import_postgres
from forensics.store import Store
from tests.postgres.conftest import Admin
from tests.postgres.pg_dump import load_dump
from tests.postgres.pg_eras import create_era, entity_rows, event_rows, insert
from tests.postgres.pg_server import find_server

DATA = Path(__file__).resolve().parents[1] / "data"
DUMPS = {
    "v4": (DATA / "realdata" / "postgres" / "pg-schema.sql",
           DATA / "realdata" / "postgres" / "pg-data.sql"),
    "v5": (DATA / "realdata-5x" / "pg-schema.sql", DATA / "realdata-5x" / "pg-data.sql.gz"),
}  # fmt: skip
TABLES = ("workflow_events", "workflow_runs", "workflow_steps", "workflow_hooks", "workflow_waits",
          "workflow_event_slots")  # fmt: skip
BROKEN_EVENT = "wevt_broken,step_started,,2025-01-01 00:00:00,wrun_broken,,\\xzz,2\n"
BAD_TIME = "wevt_badtime,run_created,,yesterday,wrun_badtime,,,2\n"


def _cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _export(admin: Admin, name: str, folder: Path, zipped: bool) -> None:
    """Every workflow table as `COPY … TO (FORMAT csv, HEADER)` writes it."""
    folder.mkdir(parents=True)
    with admin.connect(name) as conn:
        present = {
            str(r[0])
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'workflow'"
            )
        }
        for table in (t for t in TABLES if t in present):
            query = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT (FORMAT csv, HEADER)").format(
                sql.Identifier("workflow", table)
            )
            with conn.cursor() as cur, cur.copy(query) as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            if zipped and table in ("workflow_events", "workflow_steps"):
                (folder / f"{table}.csv.gz").write_bytes(gzip.compress(data))
            else:
                (folder / f"{table}.csv").write_bytes(data)


def _round(
    spark: Any, folder: Path, loaders: dict[str, Callable[[Any], None]], broken: bool
) -> dict[str, Any]:
    """Each database imported into one store and checked; their CSV exports converted and
    checked on Spark (with three broken rows added to the first export when `broken`)."""
    server, why = find_server()
    if server is None:
        pytest.skip(f"no PostgreSQL server: {why}")
    admin = Admin(server)
    try:
        exports: list[Path] = []
        with Store(folder / "local.duckdb") as store:
            for label, load in loaders.items():
                name = admin.database(f"csv_{label}_{folder.name[-6:].lower()}")
                with admin.connect(name) as conn:
                    load(conn)
                import_postgres(store, PostgresOptions(dsn=admin.dsn(name)))
                _export(admin, name, folder / "export" / label, zipped=len(exports) == 1)
                exports.append(folder / "export" / label)
            local = check(store)
            tables = {t: _rows(store.con, f"(SELECT {fleet_columns(store, t)} FROM {t} r)")
                      for t in ("events", "run_records", "entities")}  # fmt: skip
    finally:
        admin.cleanup()
        server.close()
    events = exports[0] / "workflow_events.csv"
    if broken:
        with events.open("a") as fh:
            fh.write(BROKEN_EVENT + BAD_TIME)
        with (exports[0] / "workflow_runs.csv").open("a") as fh:
            fh.write("wrun_short,too,few\n")
    lines = len(events.read_text().splitlines())
    fleet = folder / "fleet"
    converted = _cli("convert", "--engine", "spark", str(folder / "export"), "--out", str(fleet),
                     "--master", "local[2]", "--buckets", "4")  # fmt: skip
    checked = _cli("check", "--engine", "spark", "--from", str(fleet), "--master", "local[2]")
    return {"local": local, "tables": tables, "fleet": fleet, "converted": converted,
            "checked": checked, "lines": lines, "exports": exports}  # fmt: skip


def _dump(schema: Path, data: Path) -> Callable[[Any], None]:
    def load(conn: Any) -> None:
        load_dump(conn, schema)
        load_dump(conn, data)

    return load


def _era(era: str) -> Callable[[Any], None]:
    def load(conn: Any) -> None:
        create_era(conn, era)
        insert(conn, "workflow_events", event_rows(era))
        for table, rows in entity_rows(era).items():
            insert(conn, table, rows)

    return load


@pytest.fixture(scope="module")
def both(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real 4.8.9 and 5.x databases."""
    loaders = {label: _dump(*paths) for label, paths in DUMPS.items()}
    return _round(spark, tmp_path_factory.mktemp("convert-pg"), loaders, broken=True)


@pytest.fixture(scope="module", params=["jsonb", "newest"])
def era(spark: Any, tmp_path_factory: pytest.TempPathFactory, request: Any) -> dict[str, Any]:
    """The oldest schema (eventData as jsonb) and the newest (timestamptz, slot ids, event
    slots, extra event columns), generated."""
    folder = tmp_path_factory.mktemp(f"convert-era-{request.param}")
    return _round(spark, folder, {request.param: _era(request.param)}, broken=False)


def test_every_era_converts_to_the_import_and_its_findings(era: dict[str, Any]) -> None:
    assert era["converted"] == 0
    test_postgres_csv_converts_to_the_same_findings(era, runs=1)
    test_postgres_csv_events_runs_and_entities_are_those_of_the_import(era)


def test_postgres_csv_converts_to_the_same_findings(both: dict[str, Any], runs: int = 80) -> None:
    local, fleet = both["local"], both["fleet"]
    con = duckdb.connect()
    found = con.execute(f"SELECT run_id, code, severity, event_ids, correlation_id"
                        f" FROM '{fleet}/findings/*.parquet'").fetchall()  # fmt: skip
    duck = {(f.run_id, f.code, f.severity, tuple(f.event_ids), f.correlation_id)
            for f in local.findings}  # fmt: skip
    assert {(r[0], r[1], r[2], tuple(r[3]), r[4]) for r in found} == duck
    assert len(found) == len(local.findings)
    verdicts = con.execute(
        f"SELECT run_id, verdict, reason FROM '{fleet}/run_verdicts/*.parquet'"
    ).fetchall()
    assert set(verdicts) == {(v.run_id, v.verdict, v.reason) for v in local.runs}
    assert len(verdicts) == len(local.runs) >= runs
    assert both["checked"] in (0, EXIT_ANOMALIES)


def _rows(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[Any, ...]]:
    """A table's rows as the fleet layout has them, without where they were read from
    (file or database, import)."""
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
               if r[0] not in _PROVENANCE and not r[0].startswith("source_")]  # fmt: skip
    names = ", ".join(f'"{c}"' for c in columns if c != "bucket")
    return sorted(con.execute(f"SELECT {names} FROM {source}").fetchall(), key=repr)


_PROVENANCE = ("import_id", "imported_at", "record_id")


def test_postgres_csv_events_runs_and_entities_are_those_of_the_import(
    both: dict[str, Any],
) -> None:
    """Every event, run record and entity record, column by column."""
    con = duckdb.connect()
    for table, rows in both["tables"].items():
        source = f"read_parquet('{both['fleet']}/{table}/*/*.parquet', hive_partitioning = true)"
        assert _rows(con, source) == rows, table
    counts = {table: len(rows) for table, rows in both["tables"].items()}
    assert all(counts.values()), counts


def test_postgres_csv_broken_rows_are_quarantined(both: dict[str, Any]) -> None:
    assert both["converted"] == EXIT_PARTIAL
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT location, position, reason FROM '{both['fleet']}/quarantine/*.parquet'"
        " ORDER BY 1, 2"
    ).fetchall()
    where = {(Path(r[0]).name, r[1]) for r in rows}
    n = both["lines"]
    runs = _lines(both, "workflow_runs.csv")
    assert where == {("workflow_events.csv", f"line {n - 1}"),
                     ("workflow_events.csv", f"line {n}"),
                     ("workflow_runs.csv", f"line {runs}")}  # fmt: skip
    reasons = " | ".join(r[2] for r in rows)
    assert "payload_cbor" in reasons and "not a timestamp: 'yesterday'" in reasons
    assert "3 values for" in reasons


def _lines(both: dict[str, Any], name: str) -> int:
    return len((both["exports"][0] / name).read_text().splitlines())


def test_csv_records_tell_null_from_empty_text_and_span_lines() -> None:
    from io import StringIO

    from forensics.importers.postgres.csv_tables import csv_rows, pg_time, table_of

    text = 'id,error,output\nwrun_1,,""\n"wrun_2","two\nlines ""quoted""",x\nwrun_3,"x"y,z\n'
    rows = list(csv_rows(StringIO(text, newline="")))
    assert rows[0] == (2, {"id": "wrun_1", "error": None, "output": ""})
    assert rows[1] == (3, {"id": "wrun_2", "error": 'two\nlines "quoted"', "output": "x"})
    assert rows[2][0] == 5 and "not CSV at character" in str(rows[2][1]["\0"])
    assert pg_time("2000-01-01 00:00:01.5") == 1_500_000
    assert pg_time("2000-01-01 01:00:00+01") == 0 and pg_time("infinity") is None
    names = [
        "workflow.workflow_runs.csv",
        "workflow_events-0001.csv.gz",
        "workflow_stream_chunks.csv",
    ]
    assert [table_of(n) for n in names] == ["workflow_runs", "workflow_events", None]
