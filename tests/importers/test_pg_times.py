"""PostgreSQL binary times become UTC timestamps; ±infinity becomes NULL."""

from __future__ import annotations

from datetime import UTC, datetime

from forensics.importers.postgres.events import EPOCH_2000_US, pg_times


def test_binary_times_become_utc_and_infinity_null() -> None:
    at = datetime(2026, 11, 21, 9, 7, 5, 450503, tzinfo=UTC)
    micros = int(at.timestamp()) * 1_000_000 + at.microsecond - EPOCH_2000_US
    values = [micros, None, 2**63 - 1, -(2**63), 0]
    assert pg_times(values).to_pylist() == [
        at,
        None,
        None,
        None,
        datetime(2000, 1, 1, tzinfo=UTC),
    ]
    assert pg_times([micros, 0]).null_count == 0
