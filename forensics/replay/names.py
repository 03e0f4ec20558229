"""Short, stable names for what replay output talks about: entities, steps, events, ms.

An incident review says "step_created PMX (drain)", not two 31-character ids: a ULID-era
correlation id is shown by the last three characters of its body (consecutive draws differ
there), a counter id by its number, a step by the last part of its name.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from forensics.replay.traced import Mismatch

_MISMATCH: Final = re.compile(
    r"step event (?P<type>\w+) for (?P<cid>\S+) belongs to \"(?P<found>[^\"]*)\", "
    r"but the current step consumer is \"(?P<expected>[^\"]*)\""
)


def short_cid(cid: str | None) -> str:
    """`PMX` for `step_01KSN…PMX`, `#7` for a counter id, the id itself otherwise."""
    if not cid:
        return ""
    _head, _, body = cid.partition("_")
    if body.isdigit() and len(body) >= 8:
        return f"#{int(body)}"
    if len(body) == 26:
        return body[-3:]
    return cid


def short_step(name: str | None) -> str:
    """`drain` for `step//./src/workflows/replicate//drain`."""
    if not name:
        return ""
    return name.rsplit("//", 1)[-1] if "//" in name else name


def event_label(event_type: str, cid: str | None, name: str | None = None) -> str:
    """`step_created PMX (drain)`, `wait_completed PMP`, `run_started`."""
    text = event_type if not cid else f"{event_type} {short_cid(cid)}"
    step = short_step(name) if event_type.startswith("step_") else ""
    return f"{text} ({step})" if step else text


def ms_between(earlier: datetime | None, later: datetime | None) -> int | None:
    """Whole milliseconds from `earlier` to `later` (None when either is unknown)."""
    if earlier is None or later is None:
        return None
    return round((later - earlier).total_seconds() * 1000)


def mismatch_from_message(message: str | None) -> Mismatch | None:
    """The step consumer mismatch a `run_failed` error reports, when it is one."""
    found = _MISMATCH.search(message or "")
    if found is None:
        return None
    return Mismatch(found["cid"], found["expected"], found["found"], None, found["type"], None)
