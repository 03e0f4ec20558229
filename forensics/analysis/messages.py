"""Reading the runtime's own failure messages: which event a failed replay blamed, and how.

`run_failed` events of corrupted runs carry the replay's error (event-model.md section 6).
`parse_failure` pulls out what each wording names: the event type, correlation id and event
id; for the step consumer mismatch the two step names; for the E2 summary the number of
divergences and recovery replays. The result is plain data for `corrupted-log-error`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Final

_PATTERNS: Final = (
    (
        "unconsumed",
        re.compile(
            r"Unconsumed event in event log: eventType=(?P<event_type>[\w]+), "
            r"correlationId=(?P<cid>[^,]+), eventId=(?P<event_id>[A-Za-z0-9_]+)"
        ),
    ),
    (
        "unconsumed",
        re.compile(
            r"Replay could not consume event: eventType=(?P<event_type>[\w]+), "
            r"correlationId=(?P<cid>[^,]+), eventId=(?P<event_id>[A-Za-z0-9_]+)"
        ),
    ),
    (
        "step-mismatch",
        re.compile(
            r"step event (?P<event_type>\w+) for (?P<cid>\S+) belongs to \"(?P<in_log>[^\"]*)\","
            r" but the current step consumer is \"(?P<in_replay>[^\"]*)\""
        ),
    ),
    (
        "token-mismatch",
        re.compile(
            r"hook event (?P<event_type>\w+) for (?P<cid>\S+) belongs to token "
            r"\"(?P<in_log>[^\"]*)\", but the current hook consumer expects "
            r"\"(?P<in_replay>[^\"]*)\""
        ),
    ),
    (
        "resume-at-mismatch",
        re.compile(
            r"wait_completed event for (?P<cid>\S+) has resumeAt \"(?P<in_log>[^\"]*)\","
            r" but the current wait consumer expects \"(?P<in_replay>[^\"]*)\""
        ),
    ),
)
_DIVERGED: Final = re.compile(
    r"Workflow replay diverged (?P<divergences>\d+) times after (?P<recoveries>\d+) recovery"
    r" replays; latest divergent event was (?P<event_id>[A-Za-z0-9_]+)"
)


@dataclass(frozen=True)
class Failure:
    """What a failure message names; fields the wording does not carry are None."""

    kind: str
    event_type: str | None = None
    correlation_id: str | None = None
    event_id: str | None = None
    name_in_log: str | None = None
    name_in_replay: str | None = None
    divergences: int | None = None
    recovery_replays: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def parse_failure(message: str) -> Failure:
    """The blamed event and details of a replay failure message (kind `unknown` if none fit)."""
    diverged = _DIVERGED.search(message)
    for kind, pattern in _PATTERNS:
        m = pattern.search(message)
        if m is None:
            continue
        groups = m.groupdict()
        event_id = groups.get("event_id") or (diverged.group("event_id") if diverged else None)
        return Failure(
            kind=kind,
            event_type=groups.get("event_type") or ("wait_completed" if "resume" in kind else None),
            correlation_id=groups.get("cid"),
            event_id=event_id,
            name_in_log=groups.get("in_log"),
            name_in_replay=groups.get("in_replay"),
            divergences=int(diverged.group("divergences")) if diverged else None,
            recovery_replays=int(diverged.group("recoveries")) if diverged else None,
        )
    if diverged:
        return Failure(
            kind="diverged",
            event_id=diverged.group("event_id"),
            divergences=int(diverged.group("divergences")),
            recovery_replays=int(diverged.group("recoveries")),
        )
    return Failure(kind="unknown")


def error_message(payload: Any) -> str | None:
    """The message of a decoded error payload: a string, `{message}`, or a tagged Error."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict):
        for key in ("message", "value"):
            inner = payload.get(key)
            found = error_message(inner) if key == "value" else inner
            if isinstance(found, str):
                return found
    return None
