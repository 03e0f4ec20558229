"""Synthetic world-postgres runs (before the fixes of issue #2039 and PR #2714).

Event ids are `wevt_` ULIDs minted by the writer; `createdAt` is the row's `created_at`
(`DEFAULT now()`: the time its transaction began), so it can differ from the id's time by
a few milliseconds either way, as in the captured world-postgres data. Both runs are dated
before 2026-05-20, when an unconsumed event still failed the run as a plain runtime error.
"""

from __future__ import annotations

from forensics.samples import _flow as f
from forensics.samples._kit import Sample, Story, at

DEPLOYMENT = "postgres"
DEMO = "./workflows/demo"
SEQUENTIAL = f"workflow//{DEMO}//sequentialWorkflow"
LOAD, TAX, RECEIPT = (f"step//{DEMO}//{n}" for n in ("loadOrder", "computeTax", "formatReceipt"))


def unconsumed(event_type: str, cid: str | None, event_id: str) -> str:
    return (
        f"Unconsumed event in event log: eventType={event_type}, correlationId={cid}, "
        f"eventId={event_id}."
    )


def _order(order_id: str) -> dict[str, object]:
    return {"orderId": order_id, "amount": len(order_id) * 10, "currency": "EUR"}


def late_step_started() -> Sample:
    """sequentialWorkflow: a second worker's step_started landed after step_completed."""
    s = Story(
        seed="samples:late-step-started",
        run_ms=at("2026-05-12T08:21:37.904Z"),
        started_ms=at("2026-05-12T08:21:38.022Z"),
        workflow=SEQUENTIAL,
        event_prefix="wevt_",
    )
    t, order_id = s.started_ms, "ord-pg-20260512-0147"
    for label in ("load", "tax", "receipt"):
        s.draw(label, "step")
    f.run_created(s, s.created_ms, [order_id], DEPLOYMENT, f.LOCAL_CONTEXT)
    f.run_started(s, t + 6)
    f.step_created(s, "load.created", t + 61, "load", LOAD, [order_id], created_ms=t + 47)
    f.step_started(s, "load.started", t + 130, "load", LOAD, created_ms=t + 121)
    # Worker A completes; worker B (a redelivered job) passed its status UPDATE before A's
    # completion and inserts its step_started right after: id minted at t+173, which is
    # below A's created_at (t+176), yet it sorts after A's event.
    completed = f.step_completed(
        s, "load.completed", t + 171, "load", LOAD, _order(order_id), created_ms=t + 176
    )
    late = f.step_started(s, "load.started-late", t + 173, "load", LOAD, created_ms=t + 179)
    message = unconsumed("step_started", late.correlation_id, late.event_id)
    f.run_failed(s, t + 203, message, "RUNTIME_ERROR", created_ms=t + 201)
    return Sample(
        s,
        "late-step-started",
        "non-atomic UPDATE-then-INSERT: worker B's step_started landed after worker A's "
        "step_completed, its ULID time below the terminal's createdAt; the next replay found "
        "it unconsumed (fatal E1/E2, skipped in E3)",
        {
            "event-after-terminal": [late.event_id, completed.event_id],
            "corrupted-log-error": s.ids("run_failed", "load.started-late"),
        },
    )


def duplicate_step_created() -> Sample:
    """sequentialWorkflow: two engines created computeTax; the slow one after it completed."""
    s = Story(
        seed="samples:duplicate-step-created",
        run_ms=at("2026-05-14T16:05:12.447Z"),
        started_ms=at("2026-05-14T16:05:12.568Z"),
        workflow=SEQUENTIAL,
        event_prefix="wevt_",
    )
    t, order_id = s.started_ms, "ord-pg-20260514-0932"
    for label in ("load", "tax", "receipt"):
        s.draw(label, "step")
    order = _order(order_id)
    taxed = {**order, "tax": round(len(order_id) * 10 * 0.19 * 100) / 100}
    f.run_created(s, s.created_ms, [order_id], DEPLOYMENT, f.LOCAL_CONTEXT)
    f.run_started(s, t + 3)
    f.run_step(s, "load", "load", LOAD, (t + 58, t + 127, t + 166), [order_id], order)
    # Two invocations loaded the log right after loadOrder completed; both decided computeTax.
    f.run_step(s, "tax", "tax", TAX, (t + 189, t + 214, t + 241), [order], taxed)
    f.step_created(s, "tax.created-again", t + 252, "tax", TAX, [order], created_ms=t + 250)
    again = s["tax.created-again"]
    message = unconsumed("step_created", again.correlation_id, again.event_id)
    f.run_failed(s, t + 270, message, "RUNTIME_ERROR")
    return Sample(
        s,
        "duplicate-step-created",
        "two engines replayed the same log and both wrote computeTax's step_created; "
        "without the unique index the slow one was stored after the step's terminal and "
        "the next replay failed on it (fatal E1/E2)",
        {
            "duplicate-creation": s.ids("tax.created", "tax.created-again"),
            "event-after-terminal": s.ids("tax.created-again", "tax.completed"),
            "corrupted-log-error": s.ids("run_failed", "tax.created-again"),
        },
    )
