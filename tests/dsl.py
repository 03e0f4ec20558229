"""A small DSL for tiny event logs in tests: `log(run, ("step_created", "step_A", {...}), …)`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from forensics.analysis.seed import encode_time
from forensics.model import EventRecord, Provenance

T0 = datetime(2026, 11, 21, 9, 0, 0, tzinfo=UTC)
RUN = "wrun_01M7YNNASS8KVC54EGYKZ763NW"


def event_id(n: int, *, at_ms: int | None = None, prefix: str = "evnt_") -> str:
    """A valid ULID event id whose time part is T0 + n ms (or `at_ms`), ordered by n."""
    ms = at_ms if at_ms is not None else int(T0.timestamp() * 1000) + n
    return prefix + encode_time(ms) + f"{n:016d}".replace("0", "0")[-16:]


def ev(
    n: int,
    event_type: str,
    cid: str | None = None,
    data: dict[str, Any] | None = None,
    *,
    run: str = RUN,
    where: str = "test",
    **fields: Any,
) -> EventRecord:
    base: dict[str, Any] = {
        "run_id": run,
        "event_id": event_id(n),
        "event_type": event_type,
        "provenance": Provenance(where, f"#{n}"),
        "correlation_id": cid,
        "created_at": T0 + timedelta(milliseconds=n),
        "spec_version": 3,
        "event_data": data,
    }
    base.update(fields)
    return EventRecord(**base)
