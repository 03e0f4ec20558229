"""`events.createBatch` writes: a 5.x suspension's fan-out lands at consecutive slots in one
durable write, and the fence chain, the reconstruction and `check` treat it as one write."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from dsl import T0, ev

from forensics.analysis.engine import check
from forensics.model import EventRecord
from forensics.replay.fences import fence_chain
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.views import fence_rows, what_if_rows
from forensics.replay.whatif import in_force_for, what_if
from forensics.store import Store

RUN = "wrun_01M98MZV69S2NACX6EH7BP4967"
WF = "workflow//./src/workflows/demo.ts//flow"
A, W, H = "step_" + "1".zfill(26), "wait_" + "1".zfill(26), "hook_01M98MZV69YV5JH2A0T1VH6QXW"


CREATED = {"deploymentId": "dpl_1", "workflowName": WF,
           "executionContext": {"workflowCoreVersion": "5.0.0-beta.55"}}  # fmt: skip


def sid(n: int) -> str:
    return "evnt_" + str(n).zfill(26)


def slot(n: int, event_type: str, cid: str | None = None, data: Any = None, *, ms: int,
         fence: int | None = None) -> EventRecord:  # fmt: skip
    """The event at position `n`, `createdAt` T0 + `ms`, sent with fence `fence` (a slot)."""
    return replace(
        ev(n, event_type, cid, data, run=RUN), event_id=sid(n), spec_version=7,
        created_at=T0 + timedelta(milliseconds=ms),
        fence_last_event_id=sid(fence) if fence else None,
    )  # fmt: skip


def sdk_log(wait_ms: int = 41) -> list[EventRecord]:
    """What workflow 5.x writes for `createHook(); await Promise.race([step A, sleep])`: the
    hook through the single path, then one `createBatch` with the born-running step (its
    `step_created` and `step_started`) and the wait, each event's `createdAt` the request's
    `occurredAt`, the batch sent with the snapshot it was decided from (slot 3)."""
    name = {"stepName": "step//./src/workflows/demo.ts//fetchItem"}
    return [
        slot(1, "run_created", None, CREATED, ms=0),
        slot(2, "run_started", ms=5),
        slot(3, "hook_created", H, {"token": "t-1"}, ms=40, fence=2),
        slot(4, "step_created", A, name, ms=41, fence=3),
        slot(5, "step_started", A, name, ms=41, fence=3),
        slot(6, "wait_created", W, {"resumeAt": "2026-11-21T10:00:00.000Z"}, ms=wait_ms, fence=3),
        slot(7, "step_completed", A, name, ms=300),
        slot(8, "hook_disposed", H, {"token": "t-1"}, ms=320, fence=7),
        slot(9, "run_completed", None, {}, ms=321, fence=8),
    ]


def load(store: Store, events: list[EventRecord]) -> RunReplays:
    with store.begin_import("test", "dsl") as session:
        session.add_events(events)
        session.finish()
    return run_replays(store.con, RUN)


def verdicts(rr: RunReplays) -> dict[int, tuple[str, int | None]]:
    """Position -> (verdict, the commit rank of its batch's first member)."""
    return {row.index + 1: (row.verdict, row.batch) for row in fence_chain(rr)}


def test_a_create_batch_is_one_write_in_the_fence_chain(tmp_store: Store) -> None:
    rr = load(tmp_store, sdk_log())
    assert rr.log.replay_order.startswith("position")
    assert rr.log.commit_basis == "position"
    assert rr.log.batch_of == {3: 3, 4: 3, 5: 3}  # slots 4-6 (log indexes 3-5)
    assert verdicts(rr) == {
        1: ("ok", None), 2: ("ok", None), 3: ("ok", None),
        4: ("ok", 4), 5: ("ok", 4), 6: ("ok", 4),
        7: ("ok", None), 8: ("ok", None), 9: ("ok", None),
    }  # fmt: skip
    details = {r["n"]: r["detail"] for r in fence_rows(rr, fence_chain(rr))}
    assert details[6].startswith("one durable write with write 4 (a createBatch")
    assert details[4] == ""  # the first member is the write itself
    writers = {row.index + 1: row.writer for row in fence_chain(rr)}
    assert writers[4] == writers[6] is not None  # one decision, one reconstructed replay
    for outcome in what_if(rr, fence_chain(rr)):
        assert outcome.rejected in ((), (3, 4, 5)) or 3 not in outcome.rejected


def test_a_write_outside_the_batch_is_judged_on_its_own(tmp_store: Store) -> None:
    # the same wait written 2 s later is not part of the batch: its fence (slot 3) is not
    # the event committed before it (slot 5), so the chain shows the break
    rr = load(tmp_store, sdk_log(wait_ms=2041))
    assert rr.log.batch_of == {3: 3, 4: 3}
    assert verdicts(rr)[6] == ("fence-break", None)


def test_check_finds_nothing_in_a_batched_suspension(tmp_store: Store) -> None:
    load(tmp_store, sdk_log())
    result = check(tmp_store)
    assert [(f.code, f.severity, f.event_ids) for f in result.findings
            if f.severity != "info"] == []  # fmt: skip
    assert {v.verdict for v in result.runs} == {"ok"}


def test_a_noop_filler_keeps_its_slot_and_is_stepped_over(tmp_store: Store) -> None:
    # a writer took slot 7 and died; the backend sealed it with a noop (its createdAt is the
    # seal time, later than the slots after it). The step's end still chains from slot 6.
    events = sdk_log()
    name = events[6].event_data
    sealed = [
        *events[:6],
        slot(7, "noop", "noop_7", {"sealed": True}, ms=900),
        replace(events[6], event_id=sid(8)),
        slot(9, "hook_disposed", H, {"token": "t-1"}, ms=320, fence=8),
        slot(10, "run_completed", None, {}, ms=321, fence=9),
    ]
    assert name is not None
    rr = load(tmp_store, sealed)
    assert [e.event_type for e in rr.log.events][6] == "noop"  # kept, at its position
    rows = {row.index + 1: row for row in fence_chain(rr)}
    assert rows[8].chained_from == sid(6)  # stepped over
    assert {row.verdict for row in rows.values()} == {"ok"}
    result = check(tmp_store)
    assert [f.code for f in result.findings if f.severity != "info"] == []
    assert {v.verdict for v in result.runs} == {"ok"}


def test_a_sequential_step_transition_is_one_write(tmp_store: Store) -> None:
    # inline execution: step A's completion and step B born running go in one createBatch
    # [step_completed(A), step_created(B), step_started(B)], sent with the snapshot (slot 5)
    b = "step_" + "2".zfill(26)
    name_a = {"stepName": "step//./src/workflows/demo.ts//fetchItem"}
    name_b = {"stepName": "step//./src/workflows/demo.ts//saveItem"}
    events = [
        *sdk_log()[:2],
        slot(3, "step_created", A, name_a, ms=10, fence=2),
        slot(4, "step_started", A, name_a, ms=10, fence=2),
        slot(5, "attr_set", None, {"changes": []}, ms=20),
        slot(6, "step_completed", A, name_a, ms=90, fence=5),
        slot(7, "step_created", b, name_b, ms=90, fence=5),
        slot(8, "step_started", b, name_b, ms=91, fence=5),
        slot(9, "step_completed", b, name_b, ms=150),
        slot(10, "run_completed", None, {}, ms=151, fence=9),
    ]
    rr = load(tmp_store, events)
    assert rr.log.batch_of == {2: 2, 3: 2, 5: 5, 6: 5, 7: 5}
    assert {n: v for n, v in verdicts(rr).items() if n >= 6} == {
        6: ("ok", 6), 7: ("ok", 6), 8: ("ok", 6), 9: ("ok", None), 10: ("ok", None)}  # fmt: skip


def test_the_what_if_says_which_design_guarded_this_run(tmp_store: Store) -> None:
    rr = load(tmp_store, sdk_log())
    assert rr.log.judged_in == "E3 (workflow 5.0.0-beta.55, spec 7)"
    rows = {r["design"]: r for r in what_if_rows(rr, what_if(rr, fence_chain(rr)))}
    assert rows["in-band count (expectedSeqInBand)"]["in_force"] == "E4 (spec 9)"
    assert rows["in-band count (expectedSeqInBand)"]["in_force_for_this_run"] is False
    assert rows["stateUpdatedAt"]["in_force_for_this_run"] is False
    assert in_force_for("in-band", "E4 (workflow 5.x, spec 9)") is True
    assert in_force_for("state-updated-at", "E1-E2 (workflow 4.x, spec 3)") is None
