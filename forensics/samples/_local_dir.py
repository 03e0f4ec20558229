"""The world-local data directory sample: real runs copied verbatim plus synthetic runs.

Synthetic runs get the files world-local would have left: one pretty-printed file per event
(flat layout), the run record, step records and the `.terminal` lock markers of finished
steps, the hook record and token claim of a hook still waiting, request-body streams, and
staged `hook_received` events under `.locks/runs/<runId>.pending/`.
"""

from __future__ import annotations

import hashlib
import struct

from forensics.analysis.seed import decode_time
from forensics.samples._formats import compact, event_object, pretty, uint8array
from forensics.samples._kit import SPEC_VERSION, Event, Minter, Story, iso

Files = dict[str, bytes]
TERMINAL_RUN = {"run_completed": "completed", "run_failed": "failed", "run_cancelled": "cancelled"}


def story_files(story: Story, streams: dict[str, list[bytes]]) -> Files:
    """Every file a synthetic run leaves in the data directory."""
    files: Files = {}
    for event in story.events:
        name = f"events/{story.run_id}-{event.event_id}.json"
        files[name] = pretty(event_object(story.run_id, event, uint8array))
    for event in story.staged:
        name = f".locks/runs/{story.run_id}.pending/{event.event_id}.json"
        files[name] = pretty(event_object(story.run_id, event, uint8array))
    files[f"runs/{story.run_id}.json"] = pretty(run_record(story))
    files.update(step_files(story))
    if run_status(story) == "running":
        files.update(hook_files(story))
    for stream_id, bodies in streams.items():
        files.update(stream_files(stream_id, bodies))
    if streams:
        files[f"streams/runs/{story.run_id}.json"] = pretty({"streams": sorted(streams)})
    return files


def run_status(story: Story) -> str:
    ends = [TERMINAL_RUN[e.event_type] for e in story.events if e.event_type in TERMINAL_RUN]
    return ends[-1] if ends else "running"


def run_record(story: Story) -> dict[str, object]:
    """`runs/<runId>.json` in world-local's field order."""
    created = story["run_created"]
    assert created.data is not None
    record: dict[str, object] = {
        "runId": story.run_id,
        "deploymentId": created.data["deploymentId"],
        "workflowName": story.workflow,
        "specVersion": SPEC_VERSION,
        "executionContext": created.data["executionContext"],
        "input": uint8array(_bytes(created.data["input"])),
        "createdAt": iso(created.ms),
    }
    status = run_status(story)
    if status == "running":
        record |= {"status": status, "startedAt": iso(story.started_ms)}
        record["updatedAt"] = iso(story.started_ms)
        return record
    end = story.events[-1]
    assert end.data is not None
    record |= {"startedAt": iso(story.started_ms), "status": status}
    if "output" in end.data:
        record["output"] = uint8array(_bytes(end.data["output"]))
    record |= {"completedAt": iso(end.ms), "updatedAt": iso(end.ms)}
    return record


def step_files(story: Story) -> Files:
    """`steps/<runId>-<stepId>.json` and the lock marker of each finished step."""
    files: Files = {}
    by_step: dict[str, list[Event]] = {}
    for event in story.events:
        if event.event_type.startswith("step_") and event.correlation_id:
            by_step.setdefault(event.correlation_id, []).append(event)
    for step_id, events in by_step.items():
        files[f"steps/{story.run_id}-{step_id}.json"] = pretty(step_record(story, events))
        if events[-1].event_type in ("step_completed", "step_failed"):
            files[f".locks/steps/{story.run_id}-{step_id}.terminal"] = b""
    return files


def step_record(story: Story, events: list[Event]) -> dict[str, object]:
    created, last = events[0], events[-1]
    starts = [e for e in events if e.event_type == "step_started"]
    assert created.data is not None and created.correlation_id is not None
    status = {"step_completed": "completed", "step_failed": "failed"}.get(
        last.event_type, "running" if starts else "pending"
    )
    record: dict[str, object] = {
        "runId": story.run_id,
        "stepId": created.correlation_id,
        "stepName": created.data["stepName"],
        "status": status,
        "input": uint8array(_bytes(created.data["input"])),
        "attempt": len(starts),
    }
    if starts:
        record["startedAt"] = iso(starts[0].ms)
    record |= {"createdAt": iso(created.ms), "updatedAt": iso(last.ms), "specVersion": SPEC_VERSION}
    if last.event_type == "step_completed" and last.data is not None:
        record["output"] = uint8array(_bytes(last.data["result"]))
        record["completedAt"] = iso(last.ms)
    return record


def hook_files(story: Story) -> Files:
    """The record and token claim of every hook created and not disposed."""
    files: Files = {}
    disposed = {e.correlation_id for e in story.events if e.event_type == "hook_disposed"}
    for event in story.events:
        if event.event_type != "hook_created" or event.correlation_id in disposed:
            continue
        assert event.data is not None and event.correlation_id is not None
        token = str(event.data["token"])
        record = {
            "runId": story.run_id,
            "hookId": event.correlation_id,
            "token": token,
            "ownerId": "local-owner",
            "projectId": "local-project",
            "environment": "local",
            "createdAt": iso(event.ms),
            "specVersion": SPEC_VERSION,
            "isWebhook": event.data["isWebhook"],
        }
        files[f"hooks/{event.correlation_id}.json"] = pretty(record)
        claim = {
            "token": token,
            "hookId": event.correlation_id,
            "runId": story.run_id,
            "eventId": event.event_id,
        }
        digest = hashlib.sha256(token.encode()).hexdigest()
        files[f"hooks/tokens/{digest}.json"] = compact(claim).encode()
    return files


def stream_files(stream_id: str, bodies: list[bytes]) -> Files:
    """A stream's chunk files: each data chunk framed `0x00 ‖ u32 length ‖ bytes`, then `0x01`."""
    mint = Minter(f"samples:{stream_id}")
    start = decode_time(stream_id.removeprefix("strm_"))
    files: Files = {}
    for n, body in enumerate([*bodies, None]):
        chunk = "chnk_" + mint(start + 3 + n)
        data = b"\x01" if body is None else b"\x00" + struct.pack(">I", len(body)) + body
        files[f"streams/chunks/{stream_id}-{chunk}.bin"] = data
    return files


def _bytes(value: object) -> bytes:
    assert isinstance(value, bytes)
    return value
