"""Which ``eventData`` field of each event type holds its payload.

Every event type carries at most one opaque payload (spec §5): run input and output,
step input and result, errors, hook metadata and hook payloads. The 2025 logs used
``workflow_started``/``workflow_completed``/``workflow_failed`` where later logs have
``run_*``; they map the same way. Event types not listed carry no payload. Note that in
4.x logs the ``error`` fields are stored inline (a string, or ``{message, stack}``)
rather than as prefixed bytes; `decode_field` handles both.
"""

from __future__ import annotations

from typing import Final

PAYLOAD_FIELDS: Final[dict[str, str]] = {
    "run_created": "input",
    "run_completed": "output",
    "run_failed": "error",
    "step_created": "input",
    "step_completed": "result",
    "step_failed": "error",
    "step_retrying": "error",
    "hook_created": "metadata",
    "hook_received": "payload",
    "workflow_started": "input",
    "workflow_completed": "output",
    "workflow_failed": "error",
}
