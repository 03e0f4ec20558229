"""`forensics export --layout fleet`: every table as bucketed Parquet, each run in one bucket."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forensics.cli import main
from forensics.demo import build_demo_store
from forensics.errors import EXIT_USAGE
from forensics.fleet.layout import (
    MANIFEST,
    RUN_TABLES,
    SCAN_PER_BUCKET,
    bucket_of,
    default_buckets,
)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    store, _ = build_demo_store(db)
    store.close()
    return db


def _read(folder: Path, table: str) -> duckdb.DuckDBPyRelation:
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{folder}/{table}/**/*.parquet', hive_partitioning = true)"
    )


# 4: each bucket written on its own; 64: more buckets with rows than that, one partitioned write
@pytest.mark.parametrize("buckets", [4, 64])
def test_fleet_export_buckets_every_run_and_keeps_every_row(
    capsys: pytest.CaptureFixture[str], demo_db: Path, tmp_path: Path, buckets: int
) -> None:
    out = tmp_path / "fleet"
    code, stdout, err = _cli(capsys, "--db", str(demo_db), "export", str(out), "--layout",
                             "fleet", "--buckets", str(buckets))  # fmt: skip
    assert code == 0, err
    assert stdout.strip() == str(out) and f"{buckets} buckets" in err
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["layout"] == "forensics-fleet" and manifest["buckets"] == buckets
    held_buckets = {p.name for p in (out / "events").iterdir()}
    assert (len(held_buckets) > SCAN_PER_BUCKET) == (buckets == 64)
    with duckdb.connect(str(demo_db), read_only=True) as src:
        for table, rows in manifest["tables"].items():
            held = src.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            assert rows == held, table
            assert _read(out, table).count("*").fetchall()[0][0] == held, table
        hashes = {k: f"{int(h):032x}" for k, h in src.execute(
            "SELECT event_id || run_id, content_hash FROM events").fetchall()}  # fmt: skip
    events = _read(out, "events")
    placed = events.aggregate("run_id, min(bucket) AS lo, max(bucket) AS hi").fetchall()
    assert len(placed) > 5
    for run_id, lo, hi in placed:
        assert lo == hi == bucket_of(run_id, buckets)
    # the 128-bit content hash is exact, as 32 hex digits; JSON columns are text
    written = dict(events.project("event_id || run_id, content_hash").fetchall())
    assert written == hashes
    types = dict(zip(events.columns, [str(t) for t in events.types], strict=True))
    assert types["event_data"] == "VARCHAR" and types["created_at"].startswith("TIMESTAMP")
    # the trace tables keyed by replay find their run's bucket too
    subs = _read(out, "trace_subscriptions").aggregate("count(DISTINCT bucket)").fetchall()
    assert subs[0][0] >= 1 and set(RUN_TABLES) <= set(manifest["tables"])
    # an empty table is still there, with its columns
    assert "reason" in _read(out, "quarantine").columns


def test_fleet_export_refuses_a_non_empty_folder_unless_told(
    capsys: pytest.CaptureFixture[str], demo_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fleet"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = _cli(capsys, "--db", str(demo_db), "export", str(out), "--layout", "fleet")
    assert code == EXIT_USAGE and "not empty" in err and "--overwrite" in err
    code, _, err = _cli(capsys, "--db", str(demo_db), "export", str(out), "--layout", "fleet",
                        "--overwrite")  # fmt: skip
    assert code == EXIT_USAGE and "replaces fleets only" in err
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    for _ in range(2):
        code, _, err = _cli(capsys, "--db", str(demo_db), "export", str(out), "--layout",
                            "fleet", "--overwrite", "--buckets", "2")  # fmt: skip
        assert code == 0, err
    assert json.loads((out / MANIFEST).read_text())["buckets"] == 2
    code, _, err = _cli(capsys, "--db", str(demo_db), "export", str(tmp_path / "x"), "--layout",
                        "fleet", "--format", "csv")  # fmt: skip
    assert code == EXIT_USAGE and "Parquet" in err


def test_default_bucket_count_grows_with_the_fleet() -> None:
    assert [default_buckets(n) for n in (0, 999_999, 1_000_001, 5_000_000)] == [1, 1, 2, 8]
    assert default_buckets(10**13) == 4096
