"""Kept sieve statistics: `check` reads them while they hold and never trusts stale ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensics.analysis import scan
from forensics.analysis.engine import check
from forensics.analysis.scan import Settings, forget_statistics, keep_statistics
from forensics.cli import cli
from forensics.importers.base import ImportOptions
from forensics.importers.run import import_paths
from forensics.samples import build
from forensics.store import Store
from forensics.store.findings import clear_findings

SAMPLES = build.SAMPLES_DIR
DOCUMENT = json.loads((SAMPLES / build.MANIFEST).read_text())
SOURCES = sorted({run["file"] for run in DOCUMENT["runs"]})
LATE = "dynamodb-incident-scan.json"  # holds copies of runs the other sources have too


def _results(store: Store, settings: Settings | None = None) -> tuple[object, ...]:
    clear_findings(store.con)
    result = check(store, settings=settings)
    return result.runs, result.findings


def _kept_runs(store: Store) -> set[str]:
    return {r[0] for r in store.con.execute("SELECT run_id FROM sieve_runs").fetchall()}


def _options(source: str) -> ImportOptions:
    return ImportOptions(preset=DOCUMENT["presets"].get(source))


def _import_all(db: Path, exclude: str | None = None) -> None:
    runner = CliRunner()
    for source in SOURCES:
        if source == exclude:
            continue
        args = ["--db", str(db), "import", "json", str(SAMPLES / source)]
        preset = DOCUMENT["presets"].get(source)
        if preset:
            args += ["--preset", preset]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output


def test_import_keeps_statistics_and_check_agrees_with_a_pass_without_them(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.duckdb"
    _import_all(db)
    with Store(db) as store:
        runs = {r[0] for r in store.con.execute("SELECT DISTINCT run_id FROM events").fetchall()}
        assert _kept_runs(store) == runs
        with_kept = _results(store)
        forget_statistics(store.con)
        without = _results(store)
        assert with_kept == without
        assert any(f.severity == "error" for f in check(store).findings)
        # the check that computed them kept them again
        assert _kept_runs(store) == runs


def test_statistics_that_no_longer_match_their_events_are_recomputed(tmp_path: Path) -> None:
    """Events imported without keeping statistics (a library call) change their runs' keys:
    `check` must see what the new copies say (here: conflicting copies), not the kept rows."""
    db = tmp_path / "s.duckdb"
    _import_all(db, exclude=LATE)
    with Store(db) as store:
        assert _kept_runs(store)
        before = _results(store)
        import_paths(store, [SAMPLES / LATE], options=_options(LATE))
        after = _results(store)
        forget_statistics(store.con)
        assert after == _results(store)
        assert after != before


def test_other_settings_do_not_use_statistics_kept_for_the_defaults(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    _import_all(db)
    tight = Settings(inversion_tolerance_ms=1)
    with Store(db) as store:
        with_other = _results(store, tight)
        forget_statistics(store.con)
        assert with_other == _results(store, tight)


def test_keep_statistics_computes_only_what_is_missing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        for source in SOURCES:
            import_paths(store, [SAMPLES / source], options=_options(source))
        cur = store.cursor()
        total = keep_statistics(cur, Settings(), None)
        assert total == len(_kept_runs(store)) > 0
        assert keep_statistics(cur, Settings(), None) == 0


def test_long_run_lists_go_through_a_temp_table_with_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.duckdb"
    _import_all(db)
    with Store(db) as store:
        rows = store.con.execute("SELECT DISTINCT run_id FROM events").fetchall()
        runs = sorted(r[0] for r in rows)
        forget_statistics(store.con)
        clear_findings(store.con)
        bound = check(store, run_ids=runs[1:])
        monkeypatch.setattr(scan, "_BOUND_RUNS", 1)
        forget_statistics(store.con)
        clear_findings(store.con)
        assert check(store, run_ids=runs[1:]) == bound
        both = check(store, run_ids=runs)
        forget_statistics(store.con)
        clear_findings(store.con)
        again = check(store, run_ids=runs)
        assert (both.runs, both.findings) == (again.runs, again.findings)
