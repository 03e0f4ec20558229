"""The events the workflow runtime writes, with `eventData` shaped as in the real logs.

Field names and order follow the captured world-local and world-postgres data (runtime
4.8.9): `step_created` carries `stepName`, `workflowName`, `input`; `step_started` only
`stepName`; `step_completed` `stepName`, `workflowName`, `result`; hooks their `token`.
Every helper takes the story, a label for the event, its mint time and, through `extra`,
the write time / fence / staged flag of `Story.add`.
"""

from __future__ import annotations

from typing import Any

from forensics.decode import UNDEFINED
from forensics.samples._formats import Instant
from forensics.samples._kit import Data, Event, Story, devl, step_input

LOCAL_CONTEXT: dict[str, object] = {
    "traceCarrier": {},
    "workflowCoreVersion": "4.8.9",
    "features": {"encryption": False},
}


def run_created(
    story: Story, ms: int, args: list[object], deployment: str, context: dict[str, object]
) -> Event:
    data: Data = {
        "deploymentId": deployment,
        "workflowName": story.workflow,
        "input": devl(args),
        "executionContext": context,
    }
    return story.add("run_created", "run_created", ms, data=data)


def run_started(story: Story, ms: int) -> Event:
    return story.add("run_started", "run_started", ms)


def run_completed(story: Story, ms: int, output: object, **extra: Any) -> Event:
    return story.add("run_completed", "run_completed", ms, data={"output": devl(output)}, **extra)


def run_failed(story: Story, ms: int, message: str, code: str, **extra: Any) -> Event:
    """`run_failed` with the error as a devalue payload (hosted and newer worlds)."""
    error = {"message": message, "stack": f"{code_name(code)}: {message}"}
    data: Data = {"error": devl(error), "errorCode": code}
    return story.add("run_failed", "run_failed", ms, data=data, **extra)


def code_name(code: str) -> str:
    """The error class a runtime failure code is raised as."""
    return {
        "CORRUPTED_EVENT_LOG": "CorruptedEventLogError",
        "RUNTIME_ERROR": "WorkflowRuntimeError",
    }.get(code, "Error")


def step_created(
    story: Story,
    label: str,
    ms: int,
    cid: str,
    step: str,
    args: list[object],
    *,
    this: object = UNDEFINED,
    **extra: Any,
) -> Event:
    payload = step_input(*args, this=this)
    data: Data = {"stepName": step, "workflowName": story.workflow, "input": payload}
    return story.add(label, "step_created", ms, cid=cid, data=data, **extra)


def step_started(story: Story, label: str, ms: int, cid: str, step: str, **extra: Any) -> Event:
    return story.add(label, "step_started", ms, cid=cid, data={"stepName": step}, **extra)


def step_completed(
    story: Story, label: str, ms: int, cid: str, step: str, result: object, **extra: Any
) -> Event:
    data: Data = {"stepName": step, "workflowName": story.workflow, "result": devl(result)}
    return story.add(label, "step_completed", ms, cid=cid, data=data, **extra)


def hook_created(
    story: Story,
    label: str,
    ms: int,
    cid: str,
    token: str,
    *,
    webhook: bool = False,
    **extra: Any,
) -> Event:
    data: Data = {"token": token, "metadata": UNDEFINED, "isWebhook": webhook}
    return story.add(label, "hook_created", ms, cid=cid, data=data, **extra)


def hook_received(
    story: Story, label: str, ms: int, cid: str, token: str, payload: bytes, **extra: Any
) -> Event:
    data: Data = {"token": token, "payload": payload}
    return story.add(label, "hook_received", ms, cid=cid, data=data, **extra)


def wait_event(
    story: Story, label: str, event_type: str, ms: int, cid: str, resume_ms: int, **extra: Any
) -> Event:
    """`wait_created` or `wait_completed` (both carry the wait's `resumeAt`)."""
    data: Data = {"resumeAt": Instant(resume_ms)}
    return story.add(label, event_type, ms, cid=cid, data=data, **extra)


def run_step(
    story: Story,
    name: str,
    cid: str,
    step: str,
    times: tuple[int, int, int],
    args: list[object],
    result: object,
) -> None:
    """A step that runs once: created at t0, started at t1, completed at t2."""
    step_created(story, f"{name}.created", times[0], cid, step, args)
    step_started(story, f"{name}.started", times[1], cid, step)
    step_completed(story, f"{name}.completed", times[2], cid, step, result)
