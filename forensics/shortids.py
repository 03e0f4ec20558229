"""How ids are shortened for people, the same way in every table of the CLI and the TUI.

Run, event and correlation ids are a kind prefix and a ULID whose first half is a time that
neighbouring ids share, so their *end* tells them apart: `wrun_…Z763NW`. Tables show the
shortest end (at least six characters) that still tells the ids of a column apart, and any
part of an id resolves back to it (`forensics.store.runids`). JSON, CSV and `--wide` keep
whole ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_END = 6
# `wrun_01M7YNNASS8KVC54EGYKZ763NW`, `step_…`, a bare 26-character ULID; not digests or words
_ID = re.compile(r"^(?P<kind>[a-z]{2,8}_)?(?P<body>[0-9A-HJKMNP-TV-Z]{20,})$")


def _match(value: str) -> re.Match[str] | None:
    """An id: a kind prefix and a long body, or a bare ULID (26 characters)."""
    found = _ID.match(value)
    return found if found and (found["kind"] or len(value) == 26) else None


def is_id(value: object) -> bool:
    return isinstance(value, str) and _match(value) is not None


def short_id(value: str, keep: int = MIN_END) -> str:
    """`kind_…END` with the last `keep` characters of the id's body; other text unchanged."""
    found = _match(value)
    if found is None or len(found["body"]) <= keep + 1:
        return value
    return f"{found['kind'] or ''}…{found['body'][-keep:]}"


def unique_end(values: Iterable[object], minimum: int = MIN_END) -> int:
    """The shortest end (at least `minimum`) that tells these ids apart."""
    ids = {v for v in values if isinstance(v, str) and is_id(v)}
    keep = minimum
    longest = max((len(v) for v in ids), default=0)
    while keep < longest and len({short_id(v, keep) for v in ids}) < len(ids):
        keep += 1
    return keep
