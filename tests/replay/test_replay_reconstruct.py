"""Replays rebuilt from the log alone: batches, snapshots, digests, and the fence chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from dsl import T0, ev, event_id

from forensics.model import EventRecord
from forensics.replay.fences import fence_chain
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.whatif import what_if
from forensics.store import Store
from forensics.store.traces import digest_lines

A, B, H = "step_01", "step_02", "hook_01"


def healthy() -> list[EventRecord]:
    """hook + step A in one suspension, then B, then the run's end; a receive in between."""
    return [
        ev(1, "run_created", data={"workflowName": "w"}),
        ev(2, "run_started"),
        ev(3, "hook_created", H, {"token": "t-1"}),
        ev(4, "step_created", A, {"stepName": "a"}),
        ev(5, "step_started", A, {"stepName": "a"}),
        ev(6, "step_completed", A, {"stepName": "a"}),
        ev(7, "step_created", B, {"stepName": "b"}),
        ev(8, "step_started", B, {"stepName": "b"}),
        ev(9, "hook_received", H, {"token": "t-1"}),
        ev(10, "step_completed", B, {"stepName": "b"}),
        ev(11, "run_completed"),
    ]


def load(store: Store, events: list[EventRecord]) -> RunReplays:
    with store.begin_import("test", "dsl") as session:
        session.add_events(events)
        session.finish()
    return run_replays(store.con, events[0].run_id)


def shape(rr: RunReplays) -> list[tuple[str, list[int], str, int | None, tuple[int, ...]]]:
    return [
        (r.id, [i + 1 for i in r.writes], r.snapshot.kind, r.snapshot.end, r.snapshot.missing)
        for r in rr.replays
    ]


def test_an_empty_run_has_no_replays(tmp_store: Store) -> None:
    rr = run_replays(tmp_store.con, "wrun_missing")
    assert (rr.replays, fence_chain(rr)) == ((), [])


def test_batches_and_inferred_snapshots_of_a_healthy_run(tmp_store: Store) -> None:
    rr = load(tmp_store, healthy())
    assert rr.log.commit_basis == "eventId"
    assert shape(rr) == [
        ("r1", [3, 4], "inferred", 2, ()),
        ("r2", [7], "inferred", 6, ()),
        ("r3", [11], "inferred", 10, ()),
    ]
    lines = [e.line for e in rr.log.events]
    assert [r.snapshot.digest for r in rr.replays] == [
        digest_lines(lines[:2]), digest_lines(lines[:6]), digest_lines(lines[:10])
    ]  # fmt: skip
    assert [r.outcome for r in rr.replays] == ["suspended", "suspended", "completed"]
    assert {row.verdict for row in fence_chain(rr)} == {"ok"}
    assert [o.evaluated for o in what_if(rr, fence_chain(rr))] == [0, 0, 0, 0]


def test_a_late_commit_is_left_out_of_the_snapshot_that_missed_it(tmp_store: Store) -> None:
    def at(n: int, ms: int) -> EventRecord:
        return replace(healthy()[n - 1], write_time=T0 + timedelta(milliseconds=ms))

    # hook_received (9) minted before step_completed B (10) but written after run_completed.
    times = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 40, 10: 10, 11: 12}
    rr = load(tmp_store, [at(n, ms) for n, ms in times.items()])
    assert rr.log.commit_basis == "write time"
    assert shape(rr)[-1] == ("r3", [11], "inferred", 10, (8,))
    lines = [e.line for e in rr.log.events]
    assert rr.replays[-1].snapshot.digest == digest_lines(lines[:8] + lines[9:10])
    assert rr.replays[-1].snapshot.count == 9


def test_a_suspension_is_split_by_a_repeated_creation_and_by_a_gap(tmp_store: Store) -> None:
    slow = T0 + timedelta(seconds=5)
    events = [
        ev(1, "run_created"),
        ev(2, "run_started"),
        ev(3, "step_created", A, {"stepName": "a"}),
        ev(4, "step_started", A, {"stepName": "a"}),  # a consequence: the batch goes on
        ev(5, "step_created", B, {"stepName": "b"}),
        ev(6, "step_created", B, {"stepName": "b"}),  # a second creation: another invocation
        ev(7, "wait_created", "wait_01", created_at=slow),  # five seconds later: another one
    ]
    rr = load(tmp_store, events)
    assert [(r.id, [i + 1 for i in r.writes]) for r in rr.replays] == [
        ("r1", [3, 5]), ("r2", [6]), ("r3", [7]),
    ]  # fmt: skip


def test_fences_make_snapshots_exact_and_judge_each_write(tmp_store: Store) -> None:
    events = healthy()
    events[6] = replace(events[6], fence_last_event_id=event_id(6))  # B decided after A: ok
    events[10] = replace(events[10], fence_last_event_id=event_id(7))  # stale run end
    rr = load(tmp_store, events)
    assert shape(rr) == [
        ("r1", [3, 4], "inferred", 2, ()),
        ("r2", [7], "fenced", 6, ()),
        ("r3", [11], "fenced", 7, ()),
    ]
    rows = {row.index + 1: row for row in fence_chain(rr)}
    assert {n: row.verdicts for n, row in rows.items() if row.verdicts} == {
        3: ("unfenced-decision-write",),
        4: ("unfenced-decision-write",),
        11: ("fence-break", "stale-snapshot-write"),
    }
    assert [i + 1 for i in rows[11].missed] == [8, 9, 10]
    assert (rows[11].symmetry, rows[11].fence, rows[11].chained_from) == (
        "symmetric", event_id(7), event_id(10),
    )  # fmt: skip
    outcomes = {o.design: o for o in what_if(rr, fence_chain(rr))}
    assert {k: [i + 1 for i in o.rejected] for k, o in outcomes.items()} == {
        "tail": [11], "state-updated-at": [11], "state-event-count": [11], "in-band": [],
    }  # fmt: skip
    assert {k: o.prevented for k, o in outcomes.items()} == {
        "tail": True, "state-updated-at": True, "state-event-count": True, "in-band": False,
    }  # fmt: skip


def test_a_fence_naming_an_event_that_never_landed_is_stuck(tmp_store: Store) -> None:
    events = healthy()
    events[6] = replace(events[6], fence_last_event_id=event_id(99))
    rr = load(tmp_store, events)
    row = next(r for r in fence_chain(rr) if r.index == 6)
    assert (row.verdict, row.fence, row.fence_source) == ("stuck-fence", event_id(99), "imported")
    assert rr.replays[1].snapshot.kind == "inferred"


def test_real_runs_rebuild_as_prefixes_with_sound_fences(real_store: Store) -> None:
    runs = [r[0] for r in real_store.query("SELECT run_id FROM runs ORDER BY run_id")[1]]
    assert len(runs) == 43
    count = 0
    for run in runs:
        rr = run_replays(real_store.con, run)
        ids = [e.event_id for e in rr.log.events]
        for r in rr.replays:
            count += 1
            assert r.source == "reconstructed" and r.snapshot.missing == ()
            end = r.snapshot.end or 0
            assert r.snapshot.digest == digest_lines([e.line for e in rr.log.events[:end]])
            assert all(ids.index(rr.log.events[i].event_id) >= end for i in r.writes)
        assert {row.verdict for row in fence_chain(rr)} <= {"ok", "unfenced-decision-write"}
    assert count == 128
