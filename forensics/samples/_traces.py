"""`WF_TRACE` lines for sample replays, in raw Lambda-style text or a JSON-lines log export.

A `ReplaySpec` says what one invocation loaded (story events, in eventId order), what it
subscribed in program order, and how it ended; the lines carry the digest by the formula of
replay.md §4 and the times the story gives. Raw text lines are `time<TAB>request<TAB>INFO
<TAB>WF_TRACE {…}`; export lines are `{"timestamp", "level", "source", "requestId",
"message"}` objects with the trace line in `message`.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from forensics.samples._formats import Instant
from forensics.samples._kit import Event, Story, iso
from forensics.store.traces import digest_lines, item_line

Sub = tuple[str, str, str | None]  # kind (step|hook|sleep), correlation id, name/token/resumeAt


@dataclass
class ReplaySpec:
    """One traced invocation of a story's run."""

    inv: int
    pid: int
    at: int  # ms of replay_start
    loaded: list[Event]
    subs: Sequence[Sub]
    outcome: str
    end_at: int
    error: str | None = None
    mismatch: Mapping[str, object] | None = None
    request: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def item(e: Event) -> dict[str, object]:
    """An `events[]` item: i, t, c?, n?, r?."""
    out: dict[str, object] = {"i": e.event_id, "t": e.event_type}
    if e.correlation_id:
        out["c"] = e.correlation_id
    data = e.data or {}
    if isinstance(data.get("stepName"), str):
        out["n"] = data["stepName"]
    resume = data.get("resumeAt")
    if isinstance(resume, Instant):
        out["r"] = iso(resume.ms)
    return out


def digest_of(events: list[Event]) -> str:
    items = [item(e) for e in events]
    return digest_lines(
        [item_line(str(i["i"]), str(i["t"]), _s(i.get("c")), _s(i.get("n"))) for i in items]
    )


def _s(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _dump(obj: dict[str, object]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def trace_lines(story: Story, spec: ReplaySpec) -> list[tuple[int, str]]:
    """(ms, WF_TRACE payload) of every line one replay logs."""
    run = story.run_id
    start = {
        "k": "replay_start",
        "runId": run,
        "workflowName": story.workflow,
        "inv": spec.inv,
        "pid": spec.pid,
        "startedAt": iso(story.started_ms),
        "eventCount": len(spec.loaded),
        "digest": digest_of(spec.loaded),
        "events": [item(e) for e in spec.loaded],
    }
    lines = [(spec.at, _dump(start))]
    for seq, (kind, cid, value) in enumerate(spec.subs, start=1):
        key = {"step": "stepName", "hook": "token", "sleep": "resumeAt"}[kind]
        sub = {
            "k": f"{kind}_subscribe",
            "runId": run,
            "inv": spec.inv,
            "seq": seq,
            "correlationId": cid,
            key: value,
        }
        lines.append((spec.at + 1 + seq // 4, _dump(sub)))
    last = lines[-1][0]
    if spec.mismatch is not None:
        lines.append(
            (
                last + 1,
                _dump({"k": "step_mismatch", "runId": run, "inv": spec.inv, **spec.mismatch}),
            )
        )
    end: dict[str, object] = {
        "k": "replay_end",
        "runId": run,
        "inv": spec.inv,
        "outcome": spec.outcome,
    }
    if spec.error is not None:
        end["error"] = spec.error
    lines.append((spec.end_at, _dump(end)))
    return lines


def request_ids(seed: str, count: int) -> list[str]:
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]


def raw_text(entries: list[tuple[int, str, str]]) -> bytes:
    """Lambda-style log text: `time<TAB>request<TAB>INFO<TAB>WF_TRACE {…}` per line."""
    return "".join(
        f"{iso(ms)}\t{req}\tINFO\tWF_TRACE {text}\n" for ms, req, text in entries
    ).encode()


def export_lines(entries: list[tuple[int, str, str]], other: list[tuple[int, str, str]]) -> bytes:
    """A JSON-lines log export: trace lines and `other` plain log lines, by time."""
    rows = [(ms, req, "WF_TRACE " + text) for ms, req, text in entries] + other
    out = []
    for ms, req, message in sorted(rows, key=lambda r: r[0]):
        obj = {
            "timestamp": ms,
            "level": "info",
            "source": "lambda",
            "requestId": req,
            "message": message,
        }
        out.append(_dump(obj) + "\n")
    return "".join(out).encode()
