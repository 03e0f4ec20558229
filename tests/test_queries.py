"""Canned queries: every file parses, runs on a real store, and finds what it says it finds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from dsl import RUN, T0, ev

from forensics.errors import UsageError
from forensics.queries import bind, load_queries, run_canned
from forensics.store import Store

REPO = Path(__file__).resolve().parents[1]


def test_every_query_file_has_a_header_and_a_unique_name() -> None:
    files = sorted((REPO / "queries").glob("*.sql"))
    queries = load_queries()
    assert len(files) >= 8
    assert sorted(q.path.name for q in queries.values()) == [f.name for f in files]
    for q in queries.values():
        assert q.title and q.description
        assert q.path.stem == q.name


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_every_query_runs_on_the_real_store(real_store: Store, name: str) -> None:
    q = load_queries()[name]
    given = {p.name: "wrun_01M7YNNASS8KVC54EGYKZ763NW" for p in q.params if p.required}
    cols, _ = run_canned(real_store, name, given)
    assert cols


def test_real_healthy_logs_trip_none_of_the_anomaly_queries(real_store: Store) -> None:
    for name in (
        "events-after-terminal",
        "duplicate-creation",
        "hooks-received-after-disposal",
        "conflicting-copies",
    ):
        assert run_canned(real_store, name, {})[1] == [], name
    status = {r[0]: r[1] for r in run_canned(real_store, "runs-by-status", {})[1]}
    assert status == {"completed": 29, "failed": 9, "cancelled": 2, "running": 3}


@pytest.fixture
def shapes_store(tmp_store: Store) -> Iterator[Store]:
    """One run holding a late step_started, a duplicate step_created and a late hook_received."""
    step = {"stepName": "step//./w//charge"}
    late_started = ev(8, "step_started", "step_A", step, created_at=T0 + timedelta(milliseconds=2))
    log = [
        ev(1, "run_created", data={"workflowName": "workflow//./w//pay"}),
        ev(2, "run_started"),
        ev(3, "step_created", "step_A", step),
        ev(4, "step_started", "step_A", step),
        ev(5, "step_completed", "step_A", step),
        ev(6, "hook_created", "hook_B", {"token": "t"}),
        ev(7, "hook_disposed", "hook_B"),
        late_started,
        ev(9, "step_created", "step_A", step),
        ev(10, "hook_received", "hook_B"),
    ]
    with tmp_store.begin_import("test", "dsl") as session:
        session.add_events(log)
        session.finish()
    yield tmp_store


def test_events_after_terminal(shapes_store: Store) -> None:
    rows = run_canned(shapes_store, "events-after-terminal", {})[1]
    late = [(r[1], r[3], r[5]) for r in rows]
    assert late == [
        ("step_A", "step_completed", "step_started"),
        ("step_A", "step_completed", "step_created"),
        ("hook_B", "hook_disposed", "hook_received"),
    ]


def test_duplicate_creation(shapes_store: Store) -> None:
    rows = run_canned(shapes_store, "duplicate-creation", {})[1]
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [(RUN, "step_A", "step_created", 2, 1)]


def test_hooks_received_after_disposal(shapes_store: Store) -> None:
    rows = run_canned(shapes_store, "hooks-received-after-disposal", {})[1]
    assert [(r[0], r[1]) for r in rows] == [(RUN, "hook_B")]


def test_order_inversions_respect_the_tolerance(shapes_store: Store) -> None:
    rows = run_canned(shapes_store, "order-inversions", {})[1]
    # the late step_started was created at T0+2ms but sorts after an event created at T0+7ms
    assert [(r[2], r[5], r[7]) for r in rows] == [("hook_disposed", "step_started", 5)]
    assert run_canned(shapes_store, "order-inversions", {"tolerance_ms": "5"})[1] == []


def test_steps_most_attempts_and_run_events(shapes_store: Store) -> None:
    top = run_canned(shapes_store, "steps-most-attempts", {"limit": "1"})[1]
    assert [(r[1], r[3], r[4], r[5]) for r in top] == [("step_A", 2, 0, "step_completed")]
    events = run_canned(shapes_store, "run-events", {"run_id": RUN})[1]
    assert [r[0] for r in events] == list(range(1, 11))


def test_runs_near_event_cap(shapes_store: Store) -> None:
    assert run_canned(shapes_store, "runs-near-event-cap", {"threshold": "10"})[1][0][3] == 10
    assert run_canned(shapes_store, "runs-near-event-cap", {})[1] == []


def test_parameters_are_checked() -> None:
    q = load_queries()["run-events"]
    with pytest.raises(UsageError, match="needs --param run_id"):
        bind(q, {})
    with pytest.raises(UsageError, match="no parameter nope"):
        bind(q, {"run_id": "x", "nope": "1"})
    # values are bound, never formatted into the SQL
    assert bind(q, {"run_id": "x' OR 1=1 --"}) == {"run_id": "x' OR 1=1 --"}


def test_a_parameter_value_that_does_not_fit_is_a_usage_error(real_store: Store) -> None:
    with pytest.raises(UsageError, match=r"threshold=abc.*Could not convert") as info:
        run_canned(real_store, "runs-near-event-cap", {"threshold": "abc"})
    assert info.value.hint is not None and "threshold (default 20000)" in info.value.hint
    with pytest.raises(UsageError, match="limit=-1"):
        run_canned(real_store, "steps-most-attempts", {"limit": "-1"})
