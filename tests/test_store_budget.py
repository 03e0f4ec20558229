"""DuckDB's memory budget follows the store, not the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.store import Store, default_memory_limit


def _limit(store: Store) -> int:
    (value,) = store.con.execute(
        "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'"
    ).fetchall()[0]
    number, unit = str(value).split()
    return int(float(number) * {"MiB": 2**20, "GiB": 2**30, "KiB": 2**10}[unit])


def test_the_budget_follows_the_store_size(tmp_path: Path) -> None:
    small = tmp_path / "small.duckdb"
    with Store(small):
        pass
    assert default_memory_limit(small, read_only=False) == "640MB"
    assert default_memory_limit(small, read_only=True) == "256MB"
    big = tmp_path / "big.duckdb"
    with big.open("wb") as fh:  # a sparse file of 200 MB reads as a store of that size
        fh.truncate(200 * 2**20)
    assert default_memory_limit(big, read_only=True) == "400MB"
    with big.open("wb") as fh:
        fh.truncate(4 * 2**30)
    assert default_memory_limit(big, read_only=True) == "600MB"


def test_connections_get_it_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.duckdb"
    monkeypatch.delenv("FORENSICS_MEMORY_LIMIT", raising=False)
    with Store(db) as store:
        assert 600 * 10**6 <= _limit(store) <= 640 * 2**20
    with Store(db, read_only=True) as store:
        assert 240 * 10**6 <= _limit(store) <= 256 * 2**20
    monkeypatch.setenv("FORENSICS_MEMORY_LIMIT", "1GB")
    with Store(db, read_only=True) as store:
        assert _limit(store) >= 900 * 2**20
