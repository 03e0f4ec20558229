"""A store holding the bundled samples that come with replay traces, built once per session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forensics.importers.run import import_paths
from forensics.importers.trace import import_traces
from forensics.samples.build import MANIFEST, SAMPLES_DIR
from forensics.store import Store

TRACED: list[dict[str, Any]] = [
    run for run in json.loads((SAMPLES_DIR / MANIFEST).read_text())["runs"] if "traces" in run
]


@pytest.fixture(scope="session")
def traced_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every sample run that has traces: its events, then all its trace files."""
    path = tmp_path_factory.mktemp("traced") / "traced.duckdb"
    with Store(path) as store:
        import_paths(store, sorted({SAMPLES_DIR / run["file"] for run in TRACED}))
        for traces in sorted({run["traces"] for run in TRACED}):
            import_traces(store, [SAMPLES_DIR / traces])
    return path


@pytest.fixture
def traced_store(traced_store_path: Path) -> Iterator[Store]:
    with Store(traced_store_path, read_only=True) as store:
        yield store
