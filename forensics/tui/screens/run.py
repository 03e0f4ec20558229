"""One run: its event log in replay order, lanes per entity, findings, and a detail pane.

The events and lanes are paged tables (a 25,000-event run opens like a small one); the
detail pane shows the event under the cursor, fetched in a worker. Choosing a finding (or a
lane) marks its events: the list jumps to the first and `n`/`N` walk the rest. Rows that any
finding points at carry a severity glyph in the first column.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane, Tabs

from forensics.analysis.ranks import rank
from forensics.model import SEVERITIES, Finding
from forensics.tui import format as fmt
from forensics.tui.data import EventDetail as EventDetailRows
from forensics.tui.data import RunHeader, event_detail, positions, run_header
from forensics.tui.findings import load_findings
from forensics.tui.handoff import hand_over
from forensics.tui.screens.run_story import RunStoryScreen
from forensics.tui.sources import EventsSource, LanesSource
from forensics.tui.widgets.event_detail import EventDetail, lane_text
from forensics.tui.widgets.filter_bar import FilterBar
from forensics.tui.widgets.findings_panel import FindingsPanel
from forensics.tui.widgets.paged_table import Column, PagedTable, Row
from forensics.tui.widgets.story_banner import StoryBanner

NARROW = 110  # below this width the detail pane goes under the list
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
TIME_LABELS = {"created_at": "created", "write_time": "written"}


class RunScreen(RunStoryScreen):
    """Events, lanes and findings of one run."""

    CSS_PATH = "run.tcss"
    AUTO_FOCUS = "PagedTable"  # the first one shown: the initial view's list
    HELP = (
        "One run's event log in replay (eventId) order. The first column flags events that "
        "findings point at (✗ error, ! warning, i info). Enter on a finding or a lane marks "
        "its events and jumps to the first (the list shows errors and warnings; i adds the "
        "info findings); n / N walk the marked "
        "events, else the errors; w / W the warnings. A run that failed or has errors opens "
        "on its story: the headline, the root cause, and the cursor on its event. "
        "Lane glyphs: c created, s started, r retrying, ✓ completed, ✗ failed, "
        "h hook received, d disposed, ! conflict, x cancelled, a attribute set, . noop. "
        "r shows the run's replays (grouped by digest), c its fence chain; y copies a "
        "reference to the event under the cursor (wrun_…#131), m writes the story as "
        "Markdown and H the run's HTML report (as `forensics report RUN`) to the current "
        "folder. R reloads the run after an import or a check changed it."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        # the tabs name their keys, so the footer keeps its room for the rest
        Binding("e", "view('events')", "Events", show=False),
        Binding("l", "view('lanes')", "Lanes", show=False),
        Binding("f", "view('findings')", "Findings", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("n", "walk(1, 'error')", "Next error"),
        Binding("N", "walk(-1, 'error')", "Prev error", show=False),
        Binding("w", "walk(1, 'warning')", "Next warning", show=False),
        Binding("W", "walk(-1, 'warning')", "Prev warning", show=False),
        Binding("y", "copy_reference", "Copy ref", show=False),
        Binding("m", "markdown", "Story .md", show=False),
        Binding("i", "info", "Info findings", show=False),
        Binding("t", "time", "Created/written time", show=False),
        Binding("d", "detail", "Detail pane", show=False),
        Binding("r", "replays", "Replays"),
        Binding("c", "fences", "Fences"),
        Binding("H", "report", "Write report", show=False),
        Binding("R", "reload", "Reload", show=False),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, run_id: str, *, view: str = "events") -> None:
        super().__init__(run_id)
        self.initial_view = view
        self.time_key = "created_at"
        self.filter_text = ""
        self.total = 0
        self.flags: dict[str, str] = {}  # event id -> worst severity of the findings on it
        self.flagged: dict[str, list[int]] = {}  # severity -> log positions it flags
        self.show_info = False  # the findings list shows errors and warnings unless asked
        self.note = ""
        self.lane_flags: dict[str, str] = {}  # correlation id -> worst severity on it
        self.marked: list[int] = []  # log positions marked by the chosen finding or lane
        self._started = False  # header and findings asked for (after the first page)

    def compose(self) -> ComposeResult:
        cursor = self.forensics.cursor
        yield Header()
        yield Static(Text(self.run_id), id="run-header", markup=False)
        yield StoryBanner(id="story")
        with Horizontal(id="run-body"):
            with TabbedContent(initial=self.initial_view, id="run-views"):
                with TabPane("Events e", id="events"):
                    yield PagedTable(cursor, self._event_columns(), id="events-table")
                with TabPane("Lanes l", id="lanes"):
                    yield PagedTable(cursor, self._lane_columns(), id="lanes-table")
                with TabPane("Findings f", id="findings"):
                    yield FindingsPanel(cursor, id="findings-panel")
            yield EventDetail(id="detail")
        yield FilterBar("event type, correlation id, event id or step name", id="run-filter")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # e / l / f switch views (and the mouse works), so the tab strip need not take focus
        self.query_one(TabbedContent).query_one(Tabs).can_focus = False
        events_table = self.query_one("#events-table", PagedTable)
        events_table.row_tone = self._event_tone
        events_table.set_source(EventsSource(self.run_id))
        lanes = self.query_one("#lanes-table", PagedTable)
        lanes.row_tone = lambda index, row: fmt.SEVERITY_TONES.get(self.lane_flags.get(row[0], ""))
        self.set_class(self.size.width < NARROW, "narrow")
        self.action_view(self.initial_view)

    def on_paged_table_loaded(self, event: PagedTable.Loaded) -> None:
        # the header and the findings wait for the first page to be drawn: the log comes
        # first, and the story the findings lead to would hold up its frame
        if event.table.id == "events-table" and not self._started:
            self._started = True
            self.call_after_refresh(self.load_header)
            self.call_after_refresh(self.load_findings)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW, "narrow")

    # -- columns --------------------------------------------------------------------------

    def _event_columns(self) -> list[Column]:
        return [
            Column("event_id", "", 1, fmt=self._flag_glyph, tone=self._flag_tone),
            Column("pos", "#", 5, "right"),
            Column("event_type", "type", 14),
            Column("correlation_id", "correlation", 12, fmt=lambda v: fmt.short_id(v, 6)),
            Column("step_name", "step", 0, fmt=fmt.short_name, min_width=8),
            Column(self.time_key, TIME_LABELS[self.time_key], 12, fmt=fmt.clock),
            Column("event_id", "event", 14, fmt=lambda v: fmt.short_id(v, 8)),
        ]

    def _lane_columns(self) -> list[Column]:
        return [
            Column("lane", "entity", 13, fmt=lambda v: fmt.short_id(v, 6)),
            Column("name", "name", 16, fmt=fmt.short_names),
            Column("events", "n", 3, "right"),
            Column("marks", "lifecycle (log position →)", 0, draw=self._bar, min_width=20),
            Column("first_pos", "first", 5, "right"),
            Column("last_pos", "last", 5, "right"),
        ]

    def _bar(self, marks: object, width: int) -> str:
        return fmt.lane_bar(str(marks or ""), self.total, width)

    def _flag_glyph(self, event_id: object) -> str:
        severity = self.flags.get(str(event_id))
        return fmt.SEVERITY_GLYPHS[severity] if severity else ""

    def _flag_tone(self, event_id: object) -> str | None:
        return fmt.SEVERITY_TONES.get(self.flags.get(str(event_id), ""))

    def _event_tone(self, index: int, row: Row) -> str | None:
        pos = int(row[0])
        where = bisect_left(self.marked, pos)
        return "accent" if where < len(self.marked) and self.marked[where] == pos else None

    # -- loading --------------------------------------------------------------------------

    @work(thread=True, group="run-header", exit_on_error=False)
    def load_header(self) -> None:
        cur = self.forensics.cursor()
        try:
            header = run_header(cur, self.run_id)
        finally:
            cur.close()
        hand_over(self, self._show_header, header)

    def _show_header(self, header: RunHeader) -> None:
        self.total = header.events
        span = ""
        if header.first_at and header.last_at:
            start = f"{header.first_at:%Y-%m-%d} {fmt.clock(header.first_at)}"
            span = f"{start} → {fmt.clock(header.last_at)}"
        parts = [
            header.run_id,
            fmt.short_name(header.workflow) or "?",
            header.status,
            f"spec {header.spec if header.spec is not None else '?'}",
            f"{header.events} events",
            span,
        ]
        self.query_one("#run-header", Static).update(" · ".join(p for p in parts if p))
        self.query_one("#lanes-table", PagedTable).redraw()

    @work(thread=True, group="findings", exit_on_error=False)
    def load_findings(self) -> None:
        cur = self.forensics.cursor()
        try:
            findings, note = load_findings(self.forensics.store, cur, self.run_id)
            findings.sort(key=rank)  # root causes first
            flagged = {
                sev: positions(cur, self.run_id, sorted({e for f in found for e in f.event_ids}))
                for sev in SEVERITIES
                if (found := [f for f in findings if f.severity == sev])
            }
        finally:
            cur.close()
        hand_over(self, self._show_findings, findings, note, flagged)

    def _show_findings(
        self, findings: list[Finding], note: str, flagged: dict[str, list[int]]
    ) -> None:
        self.findings, self.flagged, self.note = findings, flagged, note
        self.flags = {}
        self.lane_flags = {}
        for finding in sorted(findings, key=lambda f: -_SEVERITY_RANK.get(f.severity, 3)):
            for event_id in finding.event_ids:
                self.flags[event_id] = finding.severity
            if finding.correlation_id:
                self.lane_flags[finding.correlation_id] = finding.severity
        self._list_findings()
        self.query_one("#events-table", PagedTable).redraw()
        self.query_one("#lanes-table", PagedTable).redraw()
        self.story = None
        if "error" in flagged:  # open on the problem: its story (`run_story.py`)
            self.load_story(findings)
        else:
            self.show_story(None)

    def _list_findings(self) -> None:
        shown = [f for f in self.findings if self.show_info or f.severity != "info"]
        hidden = len(self.findings) - len(shown)
        note = self.note if not hidden else f"{hidden} info finding(s) not shown: press i."
        self.query_one(FindingsPanel).show(shown, note)
        tab = self.query_one(TabbedContent).get_tab("findings")
        tab.label = f"Findings {len(shown)} f" if shown else "Findings f"

    def action_info(self) -> None:
        self.show_info = not self.show_info
        self._list_findings()
        self.notify("info findings " + ("shown" if self.show_info else "hidden"), timeout=2)

    # -- views ----------------------------------------------------------------------------

    def action_view(self, view: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = view
        self._focus_view(view)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_view(event.pane.id or "events")

    def _focus_view(self, view: str) -> None:
        self.set_class(view == "findings", "findings-view")
        target = {"events": "#events-table", "lanes": "#lanes-table"}.get(view)
        widget = self.query_one(target or "#findings-table", PagedTable)
        if view == "lanes" and widget.source is None:  # lanes cost a pass: only when asked
            widget.set_source(LanesSource(self.run_id))
        widget.focus_when_shown()
        widget.announce()

    def action_detail(self) -> None:
        self.toggle_class("no-detail")

    def action_time(self) -> None:
        self.time_key = "write_time" if self.time_key == "created_at" else "created_at"
        self.query_one("#events-table", PagedTable).set_columns(self._event_columns())

    def action_reload(self) -> None:
        """Read the run again (events, header, findings) after another command wrote it."""
        self.forensics.reloaded()
        self._set_filter(self.filter_text, self.query_one("#events-table", PagedTable).cursor_row)
        self.load_header()
        self.load_findings()

    def follow(self, touched: tuple[str, ...]) -> None:
        """A watched source stored events of this run: show them, staying where the user is
        (or following the end of the log, if that is where they were)."""
        if self.run_id not in touched:
            return
        table = self.query_one("#events-table", PagedTable)
        table.follow(EventsSource(self.run_id, self.filter_text))
        self.load_header()
        self.load_findings()

    def action_filter(self) -> None:
        self.action_view("events")
        self.query_one(FilterBar).open()

    def on_filter_bar_changed(self, event: FilterBar.Changed) -> None:
        self._set_filter(event.text)

    def _set_filter(self, text: str, cursor: int = 0) -> None:
        self.filter_text = text
        self.query_one("#events-table", PagedTable).set_source(
            EventsSource(self.run_id, text), cursor=cursor
        )

    # -- detail ---------------------------------------------------------------------------

    def on_paged_table_row_highlighted(self, event: PagedTable.RowHighlighted) -> None:
        active = self.query_one(TabbedContent).active
        if event.table.id != f"{active}-table":
            return  # a table in a hidden view announced its first row
        if event.table.id == "events-table":
            row = event.row
            self.load_detail(str(event.table.value(row, "event_id")), int(row[0]))
        elif event.table.id == "lanes-table":
            self.query_one(EventDetail).show(lane_text(event.table, event.row))

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load_detail(self, event_id: str, position: int) -> None:
        cur = self.forensics.cursor()
        try:
            detail = event_detail(cur, self.run_id, event_id, position)
        finally:
            cur.close()
        hand_over(self, self._show_detail, detail)

    def _show_detail(self, detail: EventDetailRows) -> None:
        self.query_one(EventDetail).show_event(detail.fields, detail.copies)

    # -- marking and walking --------------------------------------------------------------

    def on_paged_table_row_selected(self, event: PagedTable.RowSelected) -> None:
        if event.table.id == "events-table":
            self.query_one(EventDetail).focus()
        elif event.table.id == "lanes-table":
            marks = str(event.table.value(event.row, "marks") or "")
            self.mark([int(m.partition(":")[0]) for m in marks.split()])

    def on_findings_panel_chosen(self, event: FindingsPanel.Chosen) -> None:
        self.mark_events(list(event.finding.event_ids))

    @work(thread=True, group="mark", exit_on_error=False)
    def mark_events(self, event_ids: list[str]) -> None:
        cur = self.forensics.cursor()
        try:
            found = positions(cur, self.run_id, event_ids)
        finally:
            cur.close()
        hand_over(self, self.mark, found)

    def mark(self, marked: list[int]) -> None:
        """Highlight the events at these log positions and go to the first."""
        self.marked = sorted(marked)
        self.action_view("events")
        if self.marked:
            self.go_to(self.marked[0])
        self.query_one("#events-table", PagedTable).redraw()

    def action_walk(self, step: int, severity: str = "error") -> None:
        """n/N: the marked events, else the errors; w/W: the warnings."""
        stops = (self.marked if severity == "error" else []) or self.flagged.get(severity, [])
        if not stops:
            other = "w walks the warnings" if severity == "error" else "n walks the errors"
            self.notify(f"no {severity}s {'marked ' if self.marked else ''}in this run; {other}",
                        timeout=3)  # fmt: skip
            return
        here = self.cursor_position() or 0
        if step > 0:
            where = bisect_right(stops, here)
            target = stops[where % len(stops)]
        else:
            where = bisect_left(stops, here) - 1
            target = stops[where % len(stops)]
        self.action_view("events")
        self.go_to(target)

    def cursor_position(self) -> int | None:
        table = self.query_one("#events-table", PagedTable)
        row = table.row_at(table.cursor_row)
        return int(row[0]) if row is not None else None

    def at_start(self) -> bool:
        return self.query_one("#events-table", PagedTable).cursor_row == 0

    def go_to(self, pos: int) -> None:
        """Put the events cursor on log position `pos` (clearing a filter that hides it)."""
        if self.filter_text:
            self.query_one(FilterBar).close()
            self._set_filter("", cursor=pos - 1)
            return
        self.query_one("#events-table", PagedTable).move_cursor(pos - 1, center=True)

    def action_back(self) -> None:
        if self.query_one(EventDetail).has_focus:
            self._focus_view(self.query_one(TabbedContent).active or "events")
            return
        super().action_back()
