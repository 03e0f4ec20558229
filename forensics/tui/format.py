"""How values look in the TUI: short names, times, tones for statuses and verdicts, lane bars.

Pure functions from a value to text (or to a tone name of the table palette), so every
screen shortens ids and colours verdicts the same way, and tests can check them directly.
Meaning never rests on colour alone: glyphs and words carry it too (NO_COLOR terminals).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from forensics import shortids
from forensics.tui.widgets.paged_table import plain

STATUS_TONES = {
    "failed": "error",
    "completed": "ok",
    "running": "info",
    "pending": "info",
    "cancelled": "warning",
    "unknown": "muted",
}
VERDICT_TONES = {"anomalous": "error", "inconclusive": "warning", "ok": "ok"}
SEVERITY_TONES = {"error": "error", "warning": "warning", "info": "info"}
SEVERITY_GLYPHS = {"error": "✗", "warning": "!", "info": "i"}


def short_name(name: Any) -> str:
    """`workflow//./src/x//sequentialWorkflow` → `sequentialWorkflow` (the part after `//`)."""
    if not name:
        return ""
    text = str(name)
    return text.rsplit("//", 1)[-1] or text


def short_names(names: Any) -> str:
    """Several names joined by ` | ` (an entity the log names twice), each shortened."""
    return " | ".join(short_name(n) for n in str(names or "").split(" | ") if n)


def short_id(value: Any, keep: int = 10) -> str:
    """An id's kind prefix and its last `keep` characters: `step_…VS4P3Q`, the way every
    table shortens ids (`forensics.shortids`); other text as it is."""
    if not value:
        return ""
    return shortids.short_id(str(value), keep)


def clock(value: Any) -> str:
    """A time of day to the millisecond (the run header gives the date)."""
    if isinstance(value, datetime):
        return value.strftime("%H:%M:%S.%f")[:-3]
    return plain(value)


def minute(value: Any) -> str:
    """A date and time to the second."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return plain(value)


def count(value: Any) -> str:
    """A count; zero and unknown show as `·` so non-zero counts stand out."""
    return "·" if not value else str(value)


def verdict(value: Any) -> str:
    return str(value) if value else "unchecked"


def tone_of(table: dict[str, str], value: Any) -> str | None:
    return table.get(str(value)) if value is not None else "muted"


# One glyph per event type on a lane: creation, progress, resolution, trouble.
LANE_GLYPHS = {
    "created": "c",
    "started": "s",
    "retrying": "r",
    "completed": "✓",
    "failed": "✗",
    "received": "h",
    "disposed": "d",
    "conflict": "!",
    "cancelled": "x",
    "set": "a",
    "noop": ".",
}
# When two events of a lane fall on one cell, the more telling glyph wins.
_GLYPH_RANK = {g: n for n, g in enumerate("..acshrd✓x✗!")}


def lane_glyph(event_type: str) -> str:
    if event_type == "noop":
        return "."
    return LANE_GLYPHS.get(event_type.rsplit("_", 1)[-1], "?")


def lane_bar(marks: str, total: int, width: int) -> str:
    """A lane's events placed by log position on `width` cells: `──c──s────✓`.

    `marks` is `pos:type pos:type …`; `total` is the run's event count, so lanes of one run
    share one scale and overlapping lifecycles line up.
    """
    if width <= 0 or not marks:
        return ""
    cells = [" "] * width
    points: list[tuple[int, str]] = []
    scale = width / max(total, 1)
    for mark in marks.split():
        pos, _, event_type = mark.partition(":")
        column = min(int((int(pos) - 1) * scale), width - 1)
        points.append((column, lane_glyph(event_type)))
    first, last = min(p[0] for p in points), max(p[0] for p in points)
    for column in range(first, last + 1):
        cells[column] = "─"
    for column, glyph in points:
        held = cells[column]
        if held == "─" or _GLYPH_RANK.get(glyph, 99) >= _GLYPH_RANK.get(held, 99):
            cells[column] = glyph
    return "".join(cells)
