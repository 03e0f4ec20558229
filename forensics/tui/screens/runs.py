"""The runs list: every run of the store with its status, verdict and finding counts.

The list is one snapshot (an Arrow table computed once in a worker); sorting and `/`
filtering are DuckDB queries over that snapshot, a page at a time, so a store of thousands
of runs opens as fast as it can be aggregated once. Enter opens the run under the cursor.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Static

from forensics.tui import format as fmt
from forensics.tui.handoff import hand_over
from forensics.tui.runsdata import RunsSource, runs_snapshot, with_event_counts
from forensics.tui.screens.base import ForensicsScreen
from forensics.tui.sources import runs_where
from forensics.tui.widgets.filter_bar import FilterBar
from forensics.tui.widgets.paged_table import Column, PagedTable


def findings_tone(text: object) -> str | None:
    """The worst severity in a findings cell such as `2✗ 1!`."""
    value = str(text or "")
    if "✗" in value:
        return "error"
    return "warning" if "!" in value else "muted"


COLUMNS = (
    Column("run_id", "run", 31),
    Column("status", "status", 9, tone=lambda v: fmt.tone_of(fmt.STATUS_TONES, v)),
    Column("error_code", "error", 12, fmt=lambda v: "" if v is None else str(v)),
    Column(
        "verdict",
        "verdict",
        12,
        fmt=fmt.verdict,
        tone=lambda v: fmt.tone_of(fmt.VERDICT_TONES, v),
    ),
    Column("findings", "findings", 9, tone=findings_tone),
    Column("workflow", "workflow", 0, fmt=fmt.short_name, min_width=12),
    Column("events", "events", 6, "right", fmt=lambda v: "…" if v is None else str(v)),
    Column("spec", "spec", 4, "right"),
    Column("first_at", "first event", 19, fmt=fmt.minute),
    Column("last_at", "last event", 19, fmt=fmt.minute),
    Column("codes", "finding codes", 60),
)
SORTABLE = tuple(c.key for c in COLUMNS)
SORT_AS = {"findings": "weight"}  # the text "2✗ 1!" sorts by its counts, errors first


class RunsScreen(ForensicsScreen):
    """The store's runs; the first screen."""

    CSS_PATH = "runs.tcss"
    AUTO_FOCUS = "#runs-table"
    HELP = (
        "Every run in the store. Verdicts and finding counts come from the last "
        "`forensics check` (unchecked runs say so). Enter opens a run. / filters: words "
        "match the run id, workflow, status, error code, verdict or finding codes;"
        " status:failed, error:CORRUPTED_EVENT_LOG, code:duplicate-creation, wf:approval or"
        " run:01KS look in one column."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("R", "reload", "Reload", show=False),
        Binding("q", "back", "Quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: pa.Table | None = None
        self.counted = False
        self.sort_key = "first_at"
        self.descending = False
        self.filter_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading runs…", id="runs-summary", markup=False)
        # small pages: each page's exact event counts are one query over its runs' events
        table = PagedTable(self.forensics.cursor, self._columns(), page_rows=50, id="runs-table")
        yield table
        yield FilterBar("run id, workflow, status, code:… verdict:…", id="runs-filter")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(PagedTable).busy = True
        self.load()

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def load(self) -> None:
        cur = self.forensics.cursor()
        try:
            table = runs_snapshot(cur)
        finally:
            cur.close()
        hand_over(self, self._loaded, table, False)

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def count_all(self, snapshot: pa.Table) -> None:
        """Every run's event count, once, so the list can be sorted by it."""
        cur = self.forensics.cursor()
        try:
            table = with_event_counts(cur, snapshot)
        finally:
            cur.close()
        hand_over(self, self._loaded, table, True)

    def _loaded(self, table: pa.Table, counted: bool, following: bool = False) -> None:
        self.snapshot, self.counted = table, counted
        self._show(self.query_one(PagedTable).cursor_row if counted else 0, following=following)

    def follow(self, touched: tuple[str, ...]) -> None:
        """A watched source stored something: read the runs again, staying where the user
        is (or at the bottom, if that is where they were)."""
        self.refollow()

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def refollow(self) -> None:
        cur = self.forensics.cursor()
        try:
            table = runs_snapshot(cur)
        finally:
            cur.close()
        hand_over(self, self._loaded, table, False, True)

    def _show(self, cursor: int = 0, *, following: bool = False) -> None:
        if self.snapshot is None:
            return
        if self.sort_key == "events" and not self.counted:
            self.query_one(PagedTable).busy = True
            self.count_all(self.snapshot)
            return
        where, params = runs_where(self.filter_text)
        order = SORT_AS.get(self.sort_key, self.sort_key)
        source = RunsSource(self.snapshot, where, params, order, self.descending)
        table = self.query_one(PagedTable)
        table.set_columns(self._columns())
        if following:
            table.follow(source)
        else:
            table.set_source(source, cursor=cursor)
        self._summarise(None)

    def on_paged_table_loaded(self, event: PagedTable.Loaded) -> None:
        self._summarise(event.total)

    def _summarise(self, shown: int | None) -> None:
        snap = self.snapshot
        if snap is None:
            return
        verdicts = snap.column("verdict")
        parts = [f"{snap.num_rows} runs"]
        for name in ("anomalous", "inconclusive", "ok"):
            n = pc.sum(pc.equal(verdicts, name)).as_py() or 0
            if n:
                parts.append(f"{n} {name}")
        unchecked = verdicts.null_count
        if unchecked:
            parts.append(f"{unchecked} unchecked (run `forensics check`)")
        if self.filter_text:
            parts.append(f"/{self.filter_text}: {shown if shown is not None else '…'} shown")
        self.query_one("#runs-summary", Static).update(" · ".join(parts))

    def _columns(self) -> list[Column]:
        arrow = " ▼" if self.descending else " ▲"
        return [
            Column(**{**c.__dict__, "label": c.label + arrow}) if c.key == self.sort_key else c
            for c in COLUMNS
        ]

    # -- actions --------------------------------------------------------------------------

    def action_open(self) -> None:
        self.query_one(PagedTable).action_select()

    def on_paged_table_row_selected(self, event: PagedTable.RowSelected) -> None:
        self.forensics.open_run(str(event.table.value(event.row, "run_id")))

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_changed(self, event: FilterBar.Changed) -> None:
        self.filter_text = event.text
        self._show()

    def action_clear_filter(self) -> None:
        """Esc on the first screen clears the filter; it never quits by accident."""
        if self.filter_text:
            self.filter_text = ""
            self._show()

    def action_sort(self) -> None:
        self._sort_by(SORTABLE[(SORTABLE.index(self.sort_key) + 1) % len(SORTABLE)])

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self._show()

    def on_paged_table_header_clicked(self, event: PagedTable.HeaderClicked) -> None:
        if event.key == self.sort_key:
            self.action_reverse()
        else:
            self._sort_by(event.key)

    def _sort_by(self, key: str) -> None:
        self.sort_key, self.descending = key, key in ("findings", "events")
        self._show()

    def action_reload(self) -> None:
        self.query_one(PagedTable).busy = True
        self.forensics.reloaded()
        self.load()
