"""The detail pane: one event's ids, times, fence, provenance, data and decoded payload.

Scrollable; shows whatever the screen hands it (`show_event`, or a plain text), so fetching
stays in the screen's worker. JSON is pretty-printed; a source's folder is cut to its file
name, since the pane is for reading, not for copying machine paths.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from forensics.tui import format as fmt
from forensics.tui.widgets.paged_table import PagedTable, Row, plain

_IDS = (
    ("event_id", "event"),
    ("event_type", "type"),
    ("correlation_id", "correlation"),
    ("log_position", "position"),
    ("id_scheme", "id scheme"),
    ("slot", "slot"),
    ("spec_version", "spec"),
    ("resume_id", "resume id"),
)
_TIMES = (
    ("created_at", "created"),
    ("occurred_at", "occurred"),
    ("write_time", "written"),
    ("id_time", "id time"),
    ("fence_last_event_id", "fence"),
    ("fence_state_updated_at", "fence state"),
)
_JSON = (("event_data", "event data"), ("payload_decoded", "payload"), ("extra", "extra"))


def _grid(pairs: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in pairs:
        grid.add_row(Text(name), Text(value))  # values from the log are never markup
    return grid


def _json(value: Any) -> RenderableType:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return Text(value)
    rendered = JSON.from_data(value, indent=2, default=str)
    rendered.text.no_wrap, rendered.text.overflow = False, "fold"
    return rendered


def render_event(fields: dict[str, Any], copies: int) -> RenderableType:
    """The pane's content for one event (`fields` as `data.event_detail` returns them)."""
    parts: list[RenderableType] = []
    ids = [(label, plain(fields.get(key))) for key, label in _IDS if fields.get(key) is not None]
    times = [(label, plain(fields.get(key))) for key, label in _TIMES if fields.get(key)]
    parts += [_grid(ids + times)]
    where = fields.get("source_location")
    if where:
        source = f"{fields.get('source_kind')} {PurePath(str(where)).name}"
        if fields.get("source_position"):
            source += f" @ {fields['source_position']}"
        parts.append(_grid([("source", source)]))
    if copies > 1:
        note = "copies disagree" if fields.get("conflict") else "same content"
        parts.append(Text(f"{copies} copies in the store ({note})", style="bold"))
    for key, label in _JSON:
        value = fields.get(key)
        if value is None:
            continue
        title = label
        if key == "payload_decoded":
            title += f" ({fields.get('payload_field') or '?'}, {fields.get('payload_format')})"
        parts += [Text(""), Text(title, style="bold underline"), _json(value)]
    return Group(*parts)


class EventDetail(VerticalScroll, can_focus=True):
    """A scrollable pane of one event (or of a short message)."""

    DEFAULT_CSS = """
    EventDetail { background: $surface; padding: 0 1; border-left: vkey $panel-lighten-2; }
    EventDetail:focus { border-left: vkey $accent; }
    EventDetail > Static { width: 1fr; }
    """

    event_id: str | None = None  # the event shown, if an event is shown

    def compose(self) -> Any:
        yield Static("", id="detail-body", markup=False)

    def show(self, content: RenderableType) -> None:
        self.event_id = None
        self.query_one("#detail-body", Static).update(content)
        self.scroll_home(animate=False)

    def show_event(self, fields: dict[str, Any], copies: int) -> None:
        self.show(render_event(fields, copies) if fields else Text("event not found"))
        self.event_id = fields.get("event_id")


def lane_text(table: PagedTable, row: Row) -> Text:
    """The detail pane for a lane: its entity and each event with its log position."""
    lines = [
        Text(str(table.value(row, "lane")), style="bold"),
        Text(f"{table.value(row, 'kind')} · {table.value(row, 'name') or '(no name)'}"),
        Text(""),
    ]
    for mark in str(table.value(row, "marks") or "").split():
        pos, _, event_type = mark.partition(":")
        lines.append(Text(f"{'#' + pos:>6}  {fmt.lane_glyph(event_type)}  {event_type}"))
    lines += [Text(""), Text("Enter marks these events in the log", style="italic")]
    return Text("\n").join(lines)
