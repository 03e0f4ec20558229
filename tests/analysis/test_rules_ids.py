"""Correlation-id detectors: shared bodies, time prefixes, ordinal regressions, the seed."""

from __future__ import annotations

from dsl import RUN, T0, ev
from findings_dsl import WF, completed, e, found, load, opening, record, unconsumed

from forensics.analysis.engine import check
from forensics.analysis.seed import CorrelationIdGenerator, encode_time, int_to_body
from forensics.store import Store

STARTED = round(T0.timestamp() * 1000) + 2
NAME = {"stepName": "step//./workflows/demo//work"}
ALL = ("E0", "E1", "E2", "E3", "E4")


def seeded(*kinds: str, started: int = STARTED) -> list[str]:
    gen = CorrelationIdGenerator(RUN, WF, started)
    return [gen.next_id(k) for k in kinds]


def _step(n: int, cid: str) -> list[object]:
    return [ev(n, "step_created", cid, NAME), ev(n + 1, "step_completed", cid, NAME)]


def _started_record(ms: int = STARTED) -> object:
    from datetime import UTC, datetime

    return record(started_at=datetime.fromtimestamp(ms / 1000, UTC))


def test_seeded_ids_with_their_run_record_are_clean(tmp_store: Store) -> None:
    a, b = seeded("step", "step")
    load(tmp_store, [*opening(), *_step(3, a), *_step(5, b), completed(7)],
         runs=[_started_record()])  # fmt: skip
    assert found(tmp_store) == []


def test_one_body_under_two_prefixes(tmp_store: Store) -> None:
    a, b = seeded("step", "step")
    twin = "wait_" + b[5:]
    events = [
        *opening(),
        *_step(3, a),
        *_step(5, b),
        ev(7, "wait_created", twin, {"resumeAt": "2026-11-21T10:00:00.000Z"}),
        completed(8),
    ]
    load(tmp_store, events, runs=[_started_record()])
    assert found(tmp_store) == [
        ("correlation-body-reuse", "error", twin, (e(5), e(7)), ALL,
         unconsumed("wait_created", twin, 7)),
    ]  # fmt: skip


def test_prefix_other_than_started_at(tmp_store: Store) -> None:
    a, b = seeded("step", "step", started=STARTED + 1000)
    load(tmp_store, [*opening(), *_step(3, a), *_step(5, b), completed(7)],
         runs=[_started_record()])  # fmt: skip
    result = check(tmp_store)
    assert [(f.code, f.correlation_id, f.event_ids, f.fatal_in) for f in result.findings] == [
        ("correlation-prefix-mismatch", a, (e(3),), ALL)
    ]
    evidence = result.findings[0].evidence
    assert (evidence["expected_prefix"], evidence["mismatching_count"]) == (
        encode_time(STARTED),
        2,
    )


def test_without_a_record_the_minority_prefix_is_reported(tmp_store: Store) -> None:
    a, b, c = seeded("step", "step", "step")
    odd = seeded("step", started=STARTED + 5)[0]
    steps = [*_step(3, a), *_step(5, b), *_step(7, c), *_step(9, odd)]
    load(tmp_store, [*opening(), *steps, completed(11)])
    assert [(f.code, f.correlation_id, f.event_ids) for f in check(tmp_store).findings] == [
        ("correlation-prefix-mismatch", odd, (e(9),))
    ]


def test_bodies_the_seed_does_not_explain(tmp_store: Store) -> None:
    prefix = encode_time(STARTED)
    ids = [f"step_{prefix}{int_to_body(7 + k)}" for k in range(2)]
    load(tmp_store, [*opening(), *_step(3, ids[0]), *_step(5, ids[1]), completed(7)],
         runs=[_started_record()])  # fmt: skip
    result = check(tmp_store)
    assert [(f.code, f.severity, f.event_ids) for f in result.findings] == [
        ("seed-mismatch", "info", (e(3),))
    ]
    assert result.findings[0].evidence["smallest_body"] == int_to_body(7)
    assert [v.verdict for v in result.runs] == ["ok"]


def test_ordinal_regression_across_suspensions_not_within_one(tmp_store: Store) -> None:
    ids = seeded("step", "step", "step", "step")
    events = [
        *opening(),
        # one suspension writes ordinals 3 then 0 (any order is fine within it)
        ev(3, "step_created", ids[3], NAME),
        ev(4, "step_created", ids[0], NAME),
        ev(5, "step_completed", ids[0], NAME),
        # a later suspension writes ordinal 1, below the 3 already written; 2 never appears
        ev(6, "step_created", ids[1], NAME),
        ev(7, "step_completed", ids[1], NAME),
        ev(8, "step_completed", ids[3], NAME),
        completed(9),
    ]
    load(tmp_store, events, runs=[_started_record()])
    assert found(tmp_store) == [("ordinal-regression", "warning", ids[1], (e(3), e(6)), (), None)]
