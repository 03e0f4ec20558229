"""The command line on real input: data on stdout, one error line on stderr, fixed exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forensics.cli import main
from forensics.errors import EXIT_INPUT, EXIT_PARTIAL, EXIT_STORE, EXIT_USAGE
from forensics.store import Store

RUN = "wrun_01M7YNNASS8KVC54EGYKZ763NW"  # a real sequentialWorkflow run


def forensics(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.duckdb")


def test_import_then_reimport_the_real_world_local_data(
    capsys: pytest.CaptureFixture[str], db: str, world_local_dir: Path
) -> None:
    code, out, err = forensics(
        capsys, "--db", db, "import", "json", str(world_local_dir), "--output", "json"
    )
    assert code == 0, err
    [summary] = json.loads(out)
    assert (summary["source"], summary["read"], summary["stored"]) == ("world-local", 448, 448)
    assert (summary["runs"], summary["entities"], summary["status"]) == (43, 90, "ok")
    code, out, _ = forensics(
        capsys, "--db", db, "import", "json", str(world_local_dir), "--output", "json"
    )
    assert code == 0
    assert json.loads(out)[0]["stored"] == 0
    assert json.loads(out)[0]["duplicates"] == 448


@pytest.fixture
def real_db(capsys: pytest.CaptureFixture[str], db: str, world_local_dir: Path) -> str:
    assert forensics(capsys, "--db", db, "import", "json", str(world_local_dir))[0] == 0
    return db


def test_runs_and_events(capsys: pytest.CaptureFixture[str], real_db: str) -> None:
    code, out, _ = forensics(capsys, "--db", real_db, "runs", "--format", "json")
    runs = json.loads(out)
    assert code == 0 and len(runs) == 43
    assert {r["status"] for r in runs} == {"completed", "failed", "cancelled", "running"}
    assert {r["error_code"] for r in runs if r["status"] == "failed"} == {"USER_ERROR"}
    code, out, err = forensics(capsys, "--db", real_db, "runs", "--status", "failedd")
    assert code == 0 and "no run has status 'failedd'; statuses in the store: cancelled" in err
    code, out, _ = forensics(capsys, "--db", real_db, "events", RUN[-10:], "--format", "json")
    events = json.loads(out)
    assert [e["event_type"] for e in events][:3] == ["run_created", "run_started", "step_created"]
    assert events[-1]["payload"] == {"receipt": "receipt:ord-local-main-mwq6nign-0:297.5"}
    code, out, _ = forensics(capsys, "--db", real_db, "events", RUN)
    assert code == 0 and "step//./workflows/demo//loadOrder" in out


def test_sql_and_canned_queries(capsys: pytest.CaptureFixture[str], real_db: str) -> None:
    code, out, _ = forensics(
        capsys,
        "--db",
        real_db,
        "sql",
        "--format",
        "csv",
        "select event_type, count(*) n from events group by 1 order by 1",
    )
    assert code == 0
    assert out.splitlines()[0] == "event_type,n"
    assert "step_completed,81" in out.splitlines()
    code, out, _ = forensics(
        capsys,
        "--db",
        real_db,
        "sql",
        "--query",
        "run-events",
        "--param",
        f"run_id={RUN}",
        "--format",
        "json",
    )
    assert code == 0 and len(json.loads(out)) == 12
    code, out, _ = forensics(capsys, "queries", "--format", "json")
    assert "runs-by-status" in {q["name"] for q in json.loads(out)}


def test_export_parquet_whole_store_and_one_run(
    capsys: pytest.CaptureFixture[str], real_db: str, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    code, out, _ = forensics(capsys, "--db", real_db, "export", str(out_dir))
    assert code == 0 and len(out.splitlines()) == 13
    con = duckdb.connect()
    assert con.execute(f"select count(*) from '{out_dir}/events.parquet'").fetchall() == [(448,)]
    assert con.execute(f"select count(*) from '{out_dir}/runs.parquet'").fetchall() == [(43,)]
    # the 128-bit content hash survives as 32 hex digits (Parquet would make it a lossy double)
    with duckdb.connect(real_db, read_only=True) as src:
        held = src.execute("select event_id, content_hash from events")
        hashes = {e: f"{h:032x}" for e, h in held.fetchall()}
    written = con.execute(f"select event_id, content_hash from '{out_dir}/events.parquet'")
    assert dict(written.fetchall()) == hashes
    one = tmp_path / "one"
    assert forensics(capsys, "--db", real_db, "export", str(one), "--run", RUN)[0] == 0
    assert con.execute(f"select count(*) from '{one}/events.parquet'").fetchall() == [(12,)]


def test_errors_are_one_line_with_a_hint_and_a_fixed_code(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    code, out, err = forensics(capsys, "--db", db, "import", "json", str(tmp_path / "nope"))
    assert (code, out) == (EXIT_INPUT, "")
    assert err.startswith("forensics: input: ") and "no such file" in err and "try:" in err
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert forensics(capsys, "--db", db, "import", "json", str(empty))[0] == EXIT_INPUT
    odd = tmp_path / "odd.txt"
    odd.write_text("hello")
    code, _, err = forensics(capsys, "--db", db, "import", "json", str(odd))
    assert code == EXIT_INPUT and "--format" in err
    code, _, err = forensics(capsys, "--db", str(tmp_path / "none.duckdb"), "runs")
    assert code == EXIT_STORE and "no store" in err
    assert forensics(capsys, "--db", db, "sql")[0] == EXIT_USAGE
    assert forensics(capsys, "--db", db, "sql", "  ")[0] == EXIT_USAGE
    nowhere = str(tmp_path / "no" / "such" / "s.duckdb")
    code, _, err = forensics(capsys, "--db", nowhere, "import", "json", str(odd))
    assert code == EXIT_STORE and "does not exist" in err
    pg = ("import", "postgres", "--dsn", "host=127.0.0.1 dbname=none")
    assert forensics(capsys, "--db", db, *pg, "--status", "bogus")[0] == EXIT_USAGE
    # the failed imports above left no store behind: they created it for nothing
    assert not Path(db).exists()
    Store(db).close()
    assert forensics(capsys, "--db", db, "sql", "--query", "nope")[0] == EXIT_USAGE


def test_bad_lines_go_to_quarantine_and_the_rest_imports(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path, realdata: Path
) -> None:
    lines = (realdata / "local" / "local-events.jsonl").read_text().splitlines()[:20]
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"eventType": "run_started", "runId": "wrun_X"}))
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(lines) + "\n")
    code, out, err = forensics(capsys, "--db", db, "import", "json", str(dump), "--output", "json")
    assert code == EXIT_PARTIAL
    assert json.loads(out)[0]["stored"] == 20 and json.loads(out)[0]["quarantined"] == 2
    assert "quarantine" in err
    code, out, _ = forensics(
        capsys,
        "--db",
        db,
        "sql",
        "--format",
        "json",
        "select position, reason from quarantine order by position",
    )
    assert json.loads(out) == [
        {"position": "line 4", "reason": json.loads(out)[0]["reason"]},
        {"position": "line 8", "reason": "missing eventId"},
    ]
    assert json.loads(out)[0]["reason"].startswith("not JSON")
    # a file of which nothing imports is an input error, not a partial import
    junk = tmp_path / "rows.jsonl"
    junk.write_text('{"id": 1, "type": "run_started"}\n{"id": 2}\n')
    code, _, err = forensics(capsys, "--db", db, "import", "json", "--format", "jsonl", str(junk))
    assert code == EXIT_INPUT and "nothing could be imported: all 2 record(s)" in err
