"""The one reading of times and durations given on a command line or in the TUI.

A moment is ISO-8601 with or without `Z` or an offset (no offset = UTC), a date, the way
tables print times (`2026-05-28 19:42:19.123`), or a duration back from now (`90s`,
`15min`/`15m`, `24h`, `7d`, `2w`). A duration is a number and a unit (a bare number is
seconds). Errors say which forms are read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from forensics.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d|w)?\s*$")
_UNIT_SECONDS: dict[str | None, float] = {
    "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800,
    None: 1,
}  # fmt: skip
MOMENT_FORMS = (
    "an ISO-8601 time (2026-11-20T14:00:00Z), a date (2026-11-20) or a duration (24h, 7d)"
)


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """`90`, `30s`, `10min`, `2h`, `7d` (a bare number is seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(
            f"{what} {text!r} is not a duration", hint="use a number and a unit: 30s, 10min, 2h, 7d"
        )
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_moment(text: str, what: str = "time", *, now: datetime | None = None) -> datetime:
    """A moment in UTC-aware form from any of the forms above (a duration counts back)."""
    value = text.strip()
    if (match := _DURATION.match(value)) and match.group(2):  # a bare number is no duration
        return (now or datetime.now(UTC)) - parse_duration(value, what)
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "zZ" else value)
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a time", hint=f"give {MOMENT_FORMS}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
