"""`check --engine spark` finds what `check` finds: the same codes, runs, witness event ids,
severities and verdicts, over the samples, the real logs and every generated corruption shape.

One Spark check (through the CLI, with `--into`) serves every test of this module.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from forensics.analysis.engine import check, explain_run
from forensics.cli import main
from forensics.errors import EXIT_ANOMALIES, EXIT_USAGE
from forensics.fleet.layout import export_fleet
from forensics.store import Store


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


Key = tuple[str, str, str, tuple[str, ...], str | None]


@pytest.fixture(scope="module")
def both(
    spark: Any,
    fleet_store: tuple[Path, list[dict[str, Any]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """DuckDB's check of the fleet store, and Spark's of its fleet layout (via the CLI)."""
    db, injected = fleet_store
    folder = tmp_path_factory.mktemp("spark-check")
    local = folder / "local.duckdb"
    shutil.copy(db, local)
    with Store(local) as store:
        duck = check(store)
        fleet = folder / "fleet"
        export_fleet(store, fleet, buckets=4)
    home = folder / "home.duckdb"
    try:
        main(["check", "--engine", "spark", "--from", str(fleet), "--master", "local[2]",
              "--into", str(home), "--format", "json"])  # fmt: skip
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    con = duckdb.connect()
    found = con.execute(
        f"SELECT run_id, code, severity, event_ids, correlation_id, finding_id"
        f" FROM '{fleet}/findings/*.parquet'"
    ).fetchall()
    verdicts = con.execute(
        f"SELECT run_id, verdict, reason FROM '{fleet}/run_verdicts/*.parquet'"
    ).fetchall()
    return {"duck": duck, "found": found, "verdicts": verdicts, "code": code, "home": home,
            "injected": injected}  # fmt: skip


def _duck_keys(both: dict[str, Any]) -> set[Key]:
    return {(f.run_id, f.code, f.severity, tuple(f.event_ids), f.correlation_id)
            for f in both["duck"].findings}  # fmt: skip


def test_spark_findings_are_duckdbs(both: dict[str, Any]) -> None:
    spark = {(r[0], r[1], r[2], tuple(r[3]), r[4]) for r in both["found"]}
    duck = _duck_keys(both)
    assert len(both["found"]) == len(both["duck"].findings)
    assert spark == duck
    # finding ids are the same too, so a finding is named alike on both engines
    assert {r[5] for r in both["found"]} == {f.finding_id for f in both["duck"].findings}
    assert both["code"] == EXIT_ANOMALIES


def test_spark_verdicts_are_duckdbs(both: dict[str, Any]) -> None:
    duck = {(v.run_id, v.verdict, v.reason) for v in both["duck"].runs}
    assert set(both["verdicts"]) == duck and len(both["verdicts"]) == len(duck)
    assert {v[1] for v in duck} >= {"ok", "anomalous"}


def test_the_fixtures_cover_every_shape_and_real_logs(both: dict[str, Any]) -> None:
    duck = _duck_keys(both)
    for shape in both["injected"]:
        assert any(k[0] == shape["run_id"] and k[1] == shape["code"]
                   and set(shape["witness"]) <= set(k[3]) for k in duck), shape  # fmt: skip
    codes = {k[1] for k in duck}
    # the samples bring the replay detectors' codes, the generated fleet the lifecycle ones
    assert len(codes) >= 12
    runs = {v.run_id for v in both["duck"].runs}
    assert len(runs) > 60


def test_into_brings_the_flagged_runs_home_for_explain(both: dict[str, Any]) -> None:
    flagged = {f.run_id for f in both["duck"].findings}
    with Store(both["home"]) as store:
        held = {r[0] for r in store.con.execute("SELECT DISTINCT run_id FROM events").fetchall()}
        assert held == flagged
        # the stored results are fresh: a check here analyses nothing and agrees
        again = check(store)
        assert again.analysed == 0
        keys = {(f.run_id, f.code, f.severity, tuple(f.event_ids), f.correlation_id)
                for f in again.findings}  # fmt: skip
        assert keys == _duck_keys(both)
        run = sorted(flagged)[0]
        assert explain_run(store, run).findings


def test_spark_options_without_the_engine_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _cli(capsys, "--db", str(tmp_path / "x.duckdb"), "check", "--master", "local")
    assert code == EXIT_USAGE and "--engine spark" in err
    code, _, err = _cli(capsys, "check", "--engine", "spark")
    assert code == EXIT_USAGE and "--from" in err
