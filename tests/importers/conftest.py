"""Shared fixtures of the importer tests (the suite-wide ones are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.importers.base import FileImporter, ImportOptions
from forensics.model import ImportSummary
from forensics.store import Store

# -- API / DynamoDB importers ---------------------------------------------------------------


@pytest.fixture
def run_import(tmp_store: Store) -> object:
    """Import one path with one importer into `tmp_store` through a real session.

    Called as `run_import(importer, path, options=None)`; returns the import's summary.
    """

    def run(
        importer: FileImporter, path: Path, options: ImportOptions | None = None
    ) -> ImportSummary:
        with tmp_store.begin_import(importer.name, str(path)) as session:
            importer.import_path(path, session, options or ImportOptions())
            return session.finish()

    return run
