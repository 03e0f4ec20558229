"""Fixtures of the report tests: the bundled samples in a store, built once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from forensics.demo import build_demo_store
from forensics.store import Store

# Runs of the bundled samples the tests look at (see forensics/samples/manifest.json).
DRAIN_SYNC = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"
STALE_TICK = "wrun_01KSMVX82Y9SG369YFNN13M2M7"
LATE_STARTED = "wrun_01KRDMDZFGG4MDNRMKT7WDCDC3"
HOOK_AFTER_DISPOSED = "wrun_01M7YP11YQM7RBMDNTRNMJQ8C6"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding every bundled event log, without traces (written once, then only read).

    Replays here are the reconstructed ones; traced replays are the replay engine's tests.
    """
    path = tmp_path_factory.mktemp("report-demo") / "demo.duckdb"
    store, _ = build_demo_store(path, traces=False)
    store.close()
    return path


@pytest.fixture
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the sample store a test may write to (the CLI analyses the run it reports)."""
    path = tmp_path / "demo-copy.duckdb"
    shutil.copy(demo_db, path)
    return path


@pytest.fixture
def con(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with Store(demo_db, read_only=True) as store:
        yield store.con
