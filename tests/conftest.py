"""Fixtures shared by the whole suite, and the CI rule that no test may skip silently.

`FORENSICS_NO_SKIP=1` (set by `.ci/run`) turns every skip into a failure: a missing
PostgreSQL, DynamoDB endpoint or Chromium must break CI, not hide. The real logs the tests
read are in the repository (`tests/data/realdata`), so they never skip for want of data.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from forensics.importers.run import import_paths
from forensics.store import Store
from tests.realdata import REALDATA


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("FORENSICS_NO_SKIP") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but FORENSICS_NO_SKIP forbids skips: {reason}"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real 4.8.9 logs kept in the repository (tests/data/realdata)."""
    return REALDATA


@pytest.fixture(scope="session")
def world_local_dir(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real world-local data directory, extracted once per session (read-only use)."""
    target = tmp_path_factory.mktemp("realdata-local")
    with tarfile.open(realdata / "local" / "workflow-data.tar.gz") as tar:
        tar.extractall(target, filter="data")
    return target / ".workflow-data"


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "store.duckdb") as store:
        yield store


@pytest.fixture(scope="session")
def real_store_path(world_local_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the real world-local data set (43 runs, 448 events)."""
    path = tmp_path_factory.mktemp("real-store") / "real.duckdb"
    with Store(path) as store:
        import_paths(store, [world_local_dir])
    return path


@pytest.fixture
def real_store(real_store_path: Path) -> Iterator[Store]:
    with Store(real_store_path, read_only=True) as store:
        yield store
