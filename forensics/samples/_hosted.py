"""Synthetic runs of the hosted backend: the DynamoDB incident dump and the API v1 pages.

Each run is a variation of a scenario of the captured demo app, re-timed into the era its
corruption belongs to. Event ids are `evnt_` ULIDs minted at `createdAt`; in the incident
dump every item also has the time the backend wrote it (`writtenAt`) and, for fenced
writes, the tail the writer fenced on (`lastKnownEventId`). The fences tell each race as
it happened: a tick that loaded the log before an out-of-band event committed fences on the
older tail and is accepted anyway (the CAS did not hold).
"""

from __future__ import annotations

from forensics.samples import _flow as f
from forensics.samples._kit import Sample, Story, at, devl

DEPLOYMENT = "dpl_5WJNf2xHbRqQ9cAz3TmVYuK7pLsE"
DEMO = "./workflows/demo"
INVENTORY = "./workflows/inventory"


def step(module: str, name: str) -> str:
    return f"step//{module}//{name}"


def workflow(module: str, name: str) -> str:
    return f"workflow//{module}//{name}"


def mismatch(cid: str, in_log: str, in_replay: str) -> str:
    """The step consumer mismatch message of a `CorruptedEventLogError`."""
    return (
        f"Corrupted event log: step event step_created for {cid} belongs to "
        f'"{in_log}", but the current step consumer is "{in_replay}"'
    )


def hook_vs_sleep() -> Sample:
    """raceWorkflow whose branches call different steps; a stale tick picked the sleep."""
    s = Story(
        seed="samples:hook-vs-sleep",
        run_ms=at("2026-05-27T14:02:41.118Z"),
        started_ms=at("2026-05-27T14:02:41.154Z"),
        workflow=workflow(DEMO, "approvalRaceWorkflow"),
    )
    t, token = s.started_ms, "approval:po-58213"
    note, approve = step(DEMO, "note"), step(DEMO, "processApproval")
    s.draw("hook", "hook")
    s.draw("sleep", "wait")
    s.draw("branch", "step")
    f.run_created(s, s.created_ms, [token, "30s"], DEPLOYMENT, f.LOCAL_CONTEXT)
    f.run_started(s, t + 2)
    f.hook_created(s, "hook_created", t + 49, "hook", token)
    resume = t + 47 + 30_000
    f.wait_event(s, "wait_created", "wait_created", t + 231, "sleep", resume)
    # The approval arrives as the sleep elapses; the timer's tick has already read the log.
    payload = devl({"decision": "approve", "by": "ops-7"})
    f.hook_received(s, "hook_received", resume + 11, "hook", token, payload, written_ms=resume + 14)
    f.wait_event(
        s, "wait_completed", "wait_completed", resume + 17, "sleep", resume,
        written_ms=resume + 19, fence="wait_created",
    )  # fmt: skip
    f.step_created(
        s, "step_created", resume + 27, "branch", note, [f"timeout won for {s.run_id}"],
        written_ms=resume + 30,
    )  # fmt: skip
    # A cold replay sees hook_received first, takes the hook branch and meets `note`.
    f.run_failed(s, resume + 88, mismatch(s.cid("branch"), note, approve), "CORRUPTED_EVENT_LOG")
    return Sample(
        s,
        "hook-vs-sleep-stale-tick",
        "Promise.race([hook, sleep]): the timer's tick loaded the log before hook_received "
        "committed, wrote wait_completed (fenced on wait_created) and the timeout branch's "
        "step_created; the next replay took the hook branch and failed on a step consumer "
        "mismatch (fatal E1/E2)",
        {
            "corrupted-log-error": s.ids("run_failed", "step_created"),
            "race-window": s.ids("hook_received", "wait_completed", "step_created"),
        },
    )


def drain_sync() -> Sample:
    """Two replays with different snapshots gave step 3 two names: drainQueue, syncInventory."""
    s = Story(
        seed="samples:drain-sync",
        run_ms=at("2026-05-28T03:17:09.604Z"),
        started_ms=at("2026-05-28T03:17:09.645Z"),
        workflow=workflow(INVENTORY, "inventorySyncWorkflow"),
    )
    t, shop = s.started_ms, "shop-eu-114"
    register = step(INVENTORY, "registerCallback")
    drain, sync = step(INVENTORY, "drainQueue"), step(INVENTORY, "syncInventory")
    s.draw("hook", "hook", auto_token=True)
    s.draw("register", "step")
    s.draw("idle", "wait")
    s.draw("branch", "step")
    token = s.token("hook")
    f.run_created(s, s.created_ms, [shop], DEPLOYMENT, f.LOCAL_CONTEXT)
    f.run_started(s, t + 1)
    f.hook_created(s, "hook_created", t + 52, "hook", token)
    f.step_created(s, "register.created", t + 58, "register", register, [shop, token])
    f.step_started(s, "register.started", t + 85, "register", register)
    f.step_completed(s, "register.completed", t + 212, "register", register, {"ok": True})
    resume = t + 236 + 300_000
    f.wait_event(s, "wait_created", "wait_created", t + 240, "idle", resume)
    batch = devl({"batch": ["sku-2291", "sku-2292", "sku-3310"]})
    f.hook_received(s, "hook_received", resume + 4, "hook", token, batch, written_ms=resume + 6)
    # Tick A loaded the log at resume+5: it missed hook_received and took the idle branch.
    f.wait_event(
        s, "wait_completed", "wait_completed", resume + 9, "idle", resume,
        written_ms=resume + 11, fence="wait_created",
    )  # fmt: skip
    f.step_created(s, "drain.created", resume + 21, "branch", drain, [shop], written_ms=resume + 24)
    # Invocation B (queued by resumeHook) loaded up to wait_completed: the push branch.
    f.step_created(
        s, "sync.created", resume + 26, "branch", sync, [["sku-2291", "sku-2292", "sku-3310"]],
        written_ms=resume + 29, fence="wait_completed",
    )  # fmt: skip
    f.step_started(s, "drain.started", resume + 47, "branch", drain)
    f.step_completed(s, "drain.completed", resume + 388, "branch", drain, {"drained": 37})
    message = mismatch(s.cid("branch"), drain, sync)
    f.run_failed(s, resume + 421, message, "CORRUPTED_EVENT_LOG")
    return Sample(
        s,
        "drain-sync-step-created",
        "hook and idle sleep resolved together; the timer's tick wrote step 3 as drainQueue, "
        "the hook's invocation wrote the same correlation id as syncInventory (both stored); "
        "later replays allocate syncInventory and fail on the drainQueue row (fatal E1/E2)",
        {
            "duplicate-creation": s.ids("drain.created", "sync.created"),
            "step-name-conflict": s.ids("drain.created", "sync.created"),
            "corrupted-log-error": s.ids("run_failed", "drain.created"),
            "race-window": s.ids("hook_received", "wait_completed", "drain.created"),
        },
    )


def double_step_completed() -> Sample:
    """parallelWorkflow whose fetchItem(12) was delivered twice and completed twice (E2)."""
    s = Story(
        seed="samples:double-step-completed",
        run_ms=at("2026-06-18T10:44:03.270Z"),
        started_ms=at("2026-06-18T10:44:03.299Z"),
        workflow=workflow(DEMO, "parallelWorkflow"),
    )
    t, ids = s.started_ms, [11, 12, 13, 14, 15]
    fetch, steps = step(DEMO, "fetchItem"), [f"item{i}" for i in ids]
    for label in steps:
        s.draw(label, "step")
    f.run_created(s, s.created_ms, [ids], DEPLOYMENT, f.LOCAL_CONTEXT)
    f.run_started(s, t + 1)
    for n, (label, item) in enumerate(zip(steps, ids, strict=True)):
        f.step_created(s, f"{label}.created", t + 44 + n // 2, label, fetch, [item])
    starts = {item: t + 78 + n for n, item in enumerate(ids)}
    for label, item in zip(steps, ids, strict=True):
        f.step_started(s, f"{label}.started", starts[item], label, fetch)
    f.step_started(s, "item12.redelivered", t + 121, "item12", fetch)
    done = [(starts[i] + 50 + (i * 37) % 200, i, f"item{i}.completed") for i in ids]
    done.append((t + 121 + 50 + (12 * 37) % 200, 12, "item12.completed-again"))
    for end, item, label in sorted(done):
        f.step_completed(s, label, end, f"item{item}", fetch, {"id": item, "price": item * 3})
    again = s["item12.completed-again"]
    message = (
        f"Workflow replay diverged 4 times after 3 recovery replays; latest divergent event "
        f"was {again.event_id}. Last divergence: Replay could not consume event: "
        f"eventType=step_completed, correlationId={again.correlation_id}, "
        f"eventId={again.event_id}."
    )
    f.run_failed(s, again.ms + 6_437, message, "CORRUPTED_EVENT_LOG")
    return Sample(
        s,
        "double-step-completed",
        "at-least-once delivery ran fetchItem(12) twice and both executions wrote "
        "step_completed; every replay after the second one diverged until the run failed "
        "(fatal E1/E2, skipped in E3)",
        {
            "multiple-terminals": s.ids("item12.completed", "item12.completed-again"),
            "event-after-terminal": s.ids("item12.completed-again", "item12.completed"),
            "corrupted-log-error": s.ids("run_failed", "item12.completed-again"),
        },
    )
