"""`convert --engine spark` then `check --engine spark` finds what `import` then `check` finds.

Two raw exports, each converted on Spark `local[2]` and imported on one machine:

* a DynamoDB export to S3 as AWS writes it (`AWS/DynamoDB/<export>/manifest-*.json`,
  `data/*.json.gz` of `{"Item": …}` lines) of the real world-postgres events, a run's items
  spread over both data files, with three broken lines;
* JSON Lines dumps (one gzipped) of the real world-local events and the generated runs with
  every corruption shape, with two broken lines.

Findings (codes, runs, witness events, severities), verdicts and the quarantine (file,
line, reason) must be the same on both sides.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from forensics.analysis.engine import check
from forensics.cli import main
from forensics.errors import EXIT_ANOMALIES, EXIT_PARTIAL, EXIT_USAGE
from forensics.importers.run import import_paths
from forensics.store import Store
from tests.fleet.conftest import _generated
from tests.importers.wire_helpers import export_lines, local_events, pg_row_to_item, pg_rows

EXPORT_ID = "01733000000000-5e1f00d7"


def _cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _dynamodb_export(root: Path) -> Path:
    """The real world-postgres events as a DynamoDB export (two data files, runs split)."""
    items = [pg_row_to_item(r) for r in pg_rows()]
    lines = list(export_lines(items))
    base = root / "AWS" / "DynamoDB" / EXPORT_ID
    (base / "data").mkdir(parents=True)
    halves = [lines[0::2], lines[1::2]]
    halves[0][3:3] = ["{not json", json.dumps({"Items": []})]
    halves[1].append(json.dumps({"Item": {"eventId": {"S": "wevt_01M7YNQXYFMDWSBP2FNBJ89PSJ"}}}))
    manifest = []
    for n, part in enumerate(halves):
        name = f"data/{n:04d}-part.json.gz"
        (base / name).write_bytes(gzip.compress(("\n".join(part) + "\n").encode()))
        manifest.append({"itemCount": len(part), "md5Checksum": "x", "etag": "y",
                         "dataFileS3Key": f"AWS/DynamoDB/{EXPORT_ID}/{name}"})  # fmt: skip
    (base / "manifest-files.json").write_text("\n".join(json.dumps(m) for m in manifest) + "\n")
    # what else AWS writes beside the data: checksums of the manifests, a start marker
    (base / "manifest-files.md5").write_text("0cc175b9c0f1b6a831c399e269772661\n")
    (base / "manifest-summary.md5").write_text("92eb5ffee6ae2fec3ad71c777531578f\n")
    (root / "AWS" / "DynamoDB" / "_started").write_text("")
    (base / "manifest-summary.json").write_text(json.dumps({
        "version": "2020-06-30",
        "exportArn": f"arn:aws:dynamodb:eu-west-1:1:table/events/export/{EXPORT_ID}",
        "outputFormat": "DYNAMODB_JSON", "itemCount": len(lines), "exportType": "FULL_EXPORT",
        "manifestFilesS3Key": f"AWS/DynamoDB/{EXPORT_ID}/manifest-files.json"}))  # fmt: skip
    return root / "AWS"


def _jsonl_dumps(root: Path) -> list[Path]:
    """World-local's real events and the generated shapes as two JSON Lines dumps."""
    generated, _ = _generated(root)
    plain = root / "dump-a.jsonl"
    text = generated.read_bytes().decode().splitlines()
    text[5:5] = ['{"runId": "wrun_broken", "eventType": 7}', "[1, 2"]
    plain.write_text("\n".join(text) + "\n")
    generated.unlink()
    zipped = root / "dump-b.jsonl.gz"
    zipped.write_bytes(gzip.compress(b"\n".join(orjson.dumps(e) for e in local_events())))
    return [plain, zipped]


def _both(spark: Any, sources: list[Path], folder: Path, *buckets: str) -> dict[str, Any]:
    """One machine (`import` + `check`) and Spark (`convert` + `check`) on `sources`."""
    db = folder / "local.duckdb"
    with Store(db) as store:
        import_paths(store, sources)
        local = check(store)
        quarantine = set(store.con.execute(
            "SELECT location, position, reason FROM quarantine").fetchall())  # fmt: skip
    fleet = folder / "fleet"
    converted = _cli("convert", "--engine", "spark", *map(str, sources), "--out", str(fleet),
                     "--master", "local[2]", *buckets)  # fmt: skip
    checked = _cli("check", "--engine", "spark", "--from", str(fleet), "--master", "local[2]")
    con = duckdb.connect()
    found = con.execute(f"SELECT run_id, code, severity, event_ids, correlation_id"
                        f" FROM '{fleet}/findings/*.parquet'").fetchall()  # fmt: skip
    verdicts = con.execute(
        f"SELECT run_id, verdict, reason FROM '{fleet}/run_verdicts/*.parquet'"
    ).fetchall()
    spark_q = con.execute(
        f"SELECT location, position, reason FROM '{fleet}/quarantine/*.parquet'"
    ).fetchall()
    return {"local": local, "quarantine": quarantine, "converted": converted, "checked": checked,
            "found": found, "verdicts": verdicts, "spark_q": set(spark_q),
            "fleet": fleet}  # fmt: skip


def _same_findings(both: dict[str, Any]) -> None:
    local = both["local"]
    duck = {(f.run_id, f.code, f.severity, tuple(f.event_ids), f.correlation_id)
            for f in local.findings}  # fmt: skip
    spark = {(r[0], r[1], r[2], tuple(r[3]), r[4]) for r in both["found"]}
    assert spark == duck and len(both["found"]) == len(local.findings)
    assert set(both["verdicts"]) == {(v.run_id, v.verdict, v.reason) for v in local.runs}
    assert len(both["verdicts"]) == len(local.runs)


@pytest.fixture(scope="module")
def dynamodb(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("convert-ddb")
    return _both(spark, [_dynamodb_export(folder / "export")], folder, "--buckets", "4")


@pytest.fixture(scope="module")
def jsonl(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("convert-jsonl")
    return _both(spark, _jsonl_dumps(folder), folder)  # buckets from the input's size


def test_dynamodb_export_converts_to_the_same_findings(dynamodb: dict[str, Any]) -> None:
    _same_findings(dynamodb)
    assert dynamodb["local"].runs and dynamodb["checked"] in (0, EXIT_ANOMALIES)


def test_dynamodb_broken_lines_are_quarantined_as_on_one_machine(dynamodb: dict[str, Any]) -> None:
    assert dynamodb["converted"] == EXIT_PARTIAL
    assert dynamodb["spark_q"] == dynamodb["quarantine"] and len(dynamodb["quarantine"]) == 3
    positions = {(Path(q[0]).name, q[1]) for q in dynamodb["spark_q"]}
    assert ("0000-part.json.gz", "line 4") in positions


def test_dynamodb_fleet_has_every_table_and_a_manifest(dynamodb: dict[str, Any]) -> None:
    fleet = dynamodb["fleet"]
    manifest = json.loads((fleet / "_forensics_fleet.json").read_text())
    assert manifest["layout"] == "forensics-fleet" and manifest["buckets"] == 4
    assert manifest["tables"]["events"] == len(pg_rows()) and manifest["tables"]["quarantine"] == 3
    for table in ("events", "run_records", "entities", "trace_replays", "imports", "quarantine"):
        assert any((fleet / table).rglob("*.parquet")), table
    con = duckdb.connect()
    runs = con.execute(
        f"SELECT count(DISTINCT bucket), count(DISTINCT run_id) FROM read_parquet("
        f"'{fleet}/events/*/*.parquet', hive_partitioning = true)").fetchall()[0]  # fmt: skip
    assert runs[0] > 1 and runs[1] == len({r["run_id"] for r in pg_rows()})


def test_jsonl_dumps_convert_to_the_same_findings(jsonl: dict[str, Any]) -> None:
    _same_findings(jsonl)
    assert jsonl["checked"] == EXIT_ANOMALIES
    assert len({f.code for f in jsonl["local"].findings}) >= 8
    assert jsonl["converted"] == EXIT_PARTIAL
    assert jsonl["spark_q"] == jsonl["quarantine"] and len(jsonl["quarantine"]) == 2
    manifest = json.loads((jsonl["fleet"] / "_forensics_fleet.json").read_text())
    assert manifest["buckets"] == 1  # a few MB: one bucket


def test_convert_refuses_a_non_empty_folder_and_unknown_input(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    src = tmp_path / "e.jsonl"
    src.write_text('{"runId": "wrun_1", "eventId": "evnt_1", "eventType": "run_created"}\n')
    code = _cli("convert", "--engine", "spark", str(src), "--out", str(tmp_path / "out"))
    assert code == EXIT_USAGE and "not empty" in capsys.readouterr().err
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"
    odd = tmp_path / "odd.txt"
    odd.write_text("hello\n")
    code = _cli("convert", "--engine", "spark", str(odd), "--out", str(tmp_path / "o2"))
    assert code != 0 and "neither DynamoDB export lines nor JSON Lines" in capsys.readouterr().err


def test_shuffle_partitions_follow_the_fleet_unless_given(
    spark: Any, dynamodb: dict[str, Any]
) -> None:
    from forensics.fleet.session import cores
    from forensics.fleet.spark_check import _tune

    given = spark.conf.get("spark.sql.shuffle.partitions")
    try:
        spark.conf.set("spark.sql.shuffle.partitions", "200")  # Spark's default: not chosen
        _tune(spark, str(dynamodb["fleet"]))
        assert spark.conf.get("spark.sql.shuffle.partitions") == str(2 * cores(spark))
        assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
        assert spark.conf.get("spark.sql.files.minPartitionNum") == str(4 * cores(spark))
        spark.conf.set("spark.sql.shuffle.partitions", "7")  # the user's own: kept
        _tune(spark, str(dynamodb["fleet"]))
        assert spark.conf.get("spark.sql.shuffle.partitions") == "7"
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", given)
