"""Synthetic world-local runs, written into the same data directory as the copied real runs.

Both are variations of the demo app's hook scenarios, dated after the captured runs on the
same machine clock: a webhook whose sender retried after the workflow had disposed of it,
and a hook whose first invocation was processed twice, so the storage layer recorded the
run's own token as a conflict. The second run is still waiting on its hook, and a
`resumeHook()` for it is staged under `.locks/runs/<runId>.pending/`, not yet in the log.
"""

from __future__ import annotations

from forensics.decode import Tagged
from forensics.samples import _flow as f
from forensics.samples._kit import Data, Sample, Story, at, devl

DEPLOYMENT = "dpl_local@4.4.1"
DEMO = "./workflows/demo"
HOST = "http://localhost:3210"
HEADERS = (
    ("accept", "*/*"),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", "*"),
    ("connection", "keep-alive"),
    ("content-type", "application/json"),
    ("host", "localhost:3210"),
    ("sec-fetch-mode", "cors"),
    ("user-agent", "node"),
)


def step(name: str) -> str:
    return name if name.startswith("__") else f"step//{DEMO}//{name}"


def webhook_request(token: str, stream_id: str, body: str) -> Tagged:
    """A webhook POST as the runtime serializes the `Request` it hands the workflow."""
    headers = [list(h) for h in HEADERS]
    headers.insert(4, ["content-length", str(len(body.encode()))])
    return Tagged(
        "Request",
        {
            "method": "POST",
            "url": f"{HOST}/.well-known/workflow/v1/webhook/{token}",
            "headers": Tagged("Headers", headers),
            "body": Tagged(
                "ReadableStream", {"name": stream_id, "type": "bytes", "framing": "framed-v1"}
            ),
            "duplex": "half",
        },
    )


def hook_received_after_disposed() -> tuple[Sample, list[str]]:
    """webhookWorkflow that disposes its webhook; the sender's retry lands afterwards.

    Also returns the ids of the two request-body streams (their files are written too).
    """
    s = Story(
        seed="samples:hook-received-after-disposed",
        run_ms=at("2026-11-21T09:12:04.311Z"),
        started_ms=at("2026-11-21T09:12:04.346Z"),
        workflow=f"workflow//{DEMO}//webhookWorkflow",
    )
    t, tag = s.started_ms, "wh-local-retry-0"
    s.draw("hook", "hook", auto_token=True)
    for label in ("publish", "text", "read"):
        s.draw(label, "step")
    token, body = s.token("hook"), '{"event":"invoice.paid","n":7}'
    url = f"{HOST}/.well-known/workflow/v1/webhook/{token}"
    streams = ["strm_" + s.mint_aside(t + 418), "strm_" + s.mint_aside(t + 597)]
    f.run_created(s, s.created_ms, [tag], DEPLOYMENT, f.LOCAL_CONTEXT)
    f.run_started(s, t)
    f.hook_created(s, "hook_created", t + 47, "hook", token, webhook=True)
    publish = (t + 251, t + 277, t + 293)
    f.run_step(s, "publish", "publish", step("publishWebhookUrl"), publish, [tag, url, token],
               {"published": True})  # fmt: skip
    request = webhook_request(token, streams[0], body)
    f.hook_received(s, "hook_received", t + 421, "hook", token, devl(request))
    f.step_created(s, "text.created", t + 432, "text", step("__builtin_response_text"), [],
                   this=request)  # fmt: skip
    f.step_started(s, "text.started", t + 441, "text", step("__builtin_response_text"))
    f.step_completed(s, "text.completed", t + 496, "text", step("__builtin_response_text"), body)
    parsed = {"method": "POST", "body": {"event": "invoice.paid", "n": 7}}
    read = (t + 539, t + 550, t + 574)
    f.run_step(s, "read", "read", step("readWebhookRequest"), read, [body, "POST"], parsed)
    s.add("hook_disposed", "hook_disposed", t + 596, cid="hook", data={"token": token})
    # The sender's retry looked the token up just before the disposal and writes now.
    retry = devl(webhook_request(token, streams[1], body))
    f.hook_received(s, "hook_received.retry", t + 600, "hook", token, retry)
    f.run_completed(s, t + 605, parsed)
    sample = Sample(
        s,
        "hook-received-after-disposed",
        "webhookWorkflow disposed of its webhook before returning; the sender's retried POST "
        "had found the token just before and wrote hook_received after hook_disposed "
        "(unconsumed: fatal for any E1/E2 replay of this log)",
        {"event-after-terminal": s.ids("hook_received.retry", "hook_disposed")},
    )
    return sample, streams


def hook_self_conflict() -> Sample:
    """hookWorkflow whose first invocation ran twice: hook_created, then its own conflict."""
    s = Story(
        seed="samples:hook-self-conflict",
        run_ms=at("2026-11-21T09:12:04.402Z"),
        started_ms=at("2026-11-21T09:12:04.421Z"),
        workflow=f"workflow//{DEMO}//hookWorkflow",
    )
    t, token = s.started_ms, "approval:local-dup-mwq7a1c2-0"
    s.draw("hook", "hook")
    s.draw("note", "step")
    f.run_created(s, s.created_ms, [token], DEPLOYMENT, f.LOCAL_CONTEXT)
    f.run_started(s, t)
    f.hook_created(s, "hook_created", t + 44, "hook", token)
    # The duplicate delivery of the same queue message replays the same log; the storage
    # layer finds the token taken (by this very run) and records a conflict instead.
    conflict: Data = {"token": token, "conflictingRunId": s.run_id}
    s.add("hook_conflict", "hook_conflict", t + 71, cid="hook", data=conflict)
    message = f"waiting on {token}"
    result = {"msg": message, "at": "2026-11-21T09:12:04.699Z"}
    f.run_step(s, "note", "note", step("note"), (t + 236, t + 262, t + 279), [message], result)
    payload = devl({"approved": True, "by": "reviewer-3"})
    f.hook_received(s, "hook_received.staged", t + 912, "hook", token, payload, staged=True)
    return Sample(
        s,
        "hook-self-conflict",
        "the run's first invocation was processed twice: hook_created, then hook_conflict "
        "for the same token naming the run itself; the run still waits on the hook and a "
        "resumeHook() is staged, not yet in the log",
        {"hook-self-conflict": s.ids("hook_created", "hook_conflict")},
    )
