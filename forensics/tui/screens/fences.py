"""A run's fence chain: every write in commit order with its fence and verdict, then what
each fence design would have done with these writes.

The chain comes first (a verdict other than `ok` is what to look at); the pane under it
says, for the highlighted write, what fence it carried, what it chained from and why the
verdict; the what-if table below has one line per fence design.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Label, Static

from forensics.tui.handoff import hand_over
from forensics.tui.replaydata import (
    CHAIN_FIELDS,
    WHATIF_FIELDS,
    SharedReplays,
    fences_view,
    load_replays,
)
from forensics.tui.screens.base import ForensicsScreen
from forensics.tui.sources import ListSource
from forensics.tui.widgets.paged_table import Column, PagedTable, Row

VERDICT_TONES = {
    "ok": "muted",
    "stuck-fence": "error",
    "fence-break": "error",
    "stale-snapshot-write": "warning",
    "unfenced-decision-write": "warning",
}


def design_tone(verdict: object) -> str | None:
    text = str(verdict)
    if text.startswith("would have prevented"):
        return "ok"
    if text.startswith("would NOT"):
        return "error"
    return "muted"


def chain_text(row: Row) -> Text:
    """The pane for one write of the chain."""
    n, event, klass, writer, fence, chained, verdict, detail = row
    by = f", written by {writer}" if writer else ""
    lines = [
        Text.assemble((f"{n}. {event}", "bold"), f"  {klass}{by}"),
        Text(f"fence: {fence or 'none'} · committed after: {chained or 'nothing'}"),
        Text.assemble(("verdict: ", "bold"), str(verdict)),
    ]
    if detail:
        lines.append(Text(str(detail)))
    return Text("\n").join(lines)


def design_text(row: Row) -> Text:
    design, verdict, rejects, evaluated = row
    return Text("\n").join([
        Text(str(design), style="bold"),
        Text(str(verdict)),
        Text(f"rejects: {rejects} · writes with a known snapshot: {evaluated}"),
    ])  # fmt: skip


class FencesScreen(ForensicsScreen):
    """The fence chain and the what-if table of one run."""

    CSS_PATH = "fences.tcss"
    AUTO_FOCUS = "#fences-chain"
    HELP = (
        "Every write of the run in commit order (write time when the source has it). A "
        "verdict other than ok: stuck-fence (the fence names an event that never landed), "
        "fence-break (accepted though the fence is not the event just before: the CAS did "
        "not hold), stale-snapshot-write (decided from a snapshot that missed an earlier "
        "commit), unfenced-decision-write. The screen opens on the first write that corrupted "
        "the log; v cycles a verdict filter (not ok, then each verdict, then all). Below: "
        "what each fence design would have done. Tab moves between the two tables."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "walk", "Next verdict"),
        Binding("v", "verdict", "Verdict filter"),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, run_id: str, replays: SharedReplays | None = None) -> None:
        super().__init__()
        self.run_id, self.shared = run_id, replays
        self.chain: list[Row] = []
        self.verdict: str | None = None  # the filter: None (all), "not ok" or one verdict
        self.basis = ""

    def compose(self) -> ComposeResult:
        cursor = self.forensics.cursor
        yield Header()
        yield Static(f"{self.run_id}: loading the fence chain…", id="fences-title", markup=False)
        yield PagedTable(cursor, CHAIN_COLUMNS, id="fences-chain")
        with VerticalScroll(id="fences-detail"):
            yield Static("", id="fences-detail-text", markup=False)
        yield Label("What each fence design would have done", id="fences-whatif-title")
        yield PagedTable(cursor, WHATIF_COLUMNS, id="fences-whatif")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        chain = self.query_one("#fences-chain", PagedTable)
        chain.busy = True
        chain.focus()
        self.load()

    @work(thread=True, group="fences", exit_on_error=False)
    def load(self) -> None:
        shared = self.shared or load_replays(self.forensics.cursor, self.run_id)
        with shared.use() as rr:
            chain, whatif = fences_view(rr)
            basis = rr.log.commit_basis
        hand_over(self, self._loaded, shared, chain, whatif, basis)

    def _loaded(
        self, shared: SharedReplays, chain: list[Row], whatif: list[Row], basis: str
    ) -> None:
        self.shared, self.chain, self.basis = shared, chain, basis
        first = next((n for n, row in enumerate(chain) if row[6] in CORRUPTING), 0)
        self._show_chain(cursor=first)
        self.query_one("#fences-whatif", PagedTable).set_source(ListSource(WHATIF_FIELDS, whatif))

    def _show_chain(self, cursor: int = 0) -> None:
        """The chain under the verdict filter, and a title counting each verdict."""
        counts = Counter(str(row[6]) for row in self.chain if row[6] != "ok")
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=_by_verdict))
        shown = [row for row in self.chain if _passes(self.verdict, str(row[6]))]
        where = f" · showing {self.verdict} ({len(shown)})" if self.verdict else ""
        title = (f"{self.run_id} · {len(self.chain)} writes · {verdicts or 'all ok'}"
                 f" · by {self.basis}{where} · v filters by verdict")  # fmt: skip
        self.query_one("#fences-title", Static).update(title)
        table = self.query_one("#fences-chain", PagedTable)
        table.set_source(ListSource(CHAIN_FIELDS, shown), cursor=cursor)

    def action_verdict(self) -> None:
        present = sorted({str(row[6]) for row in self.chain if row[6] != "ok"}, key=_rank)
        cycle: list[str | None] = [None, "not ok", *present, "ok"]
        self.verdict = cycle[(cycle.index(self.verdict) + 1) % len(cycle)]
        self._show_chain()

    def on_paged_table_row_highlighted(self, event: PagedTable.RowHighlighted) -> None:
        if not event.table.has_focus:
            return
        text = chain_text(event.row) if event.table.id == "fences-chain" else design_text(event.row)
        self.query_one("#fences-detail-text", Static).update(text)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        for table in self.query(PagedTable):
            if table.has_focus:
                table.announce()

    def action_walk(self) -> None:
        table = self.query_one("#fences-chain", PagedTable)
        total = table.total or 0
        for step in range(1, total + 1):
            index = (table.cursor_row + step) % total
            row = table.row_at(index)
            if row is not None and row[6] != "ok":
                table.focus()
                table.move_cursor(index, center=True)
                return
        self.notify("every write of the chain is ok", timeout=3)


CORRUPTING = ("stale-snapshot-write", "fence-break", "stuck-fence")


def _rank(verdict: str) -> int:
    order = (*CORRUPTING, "unfenced-decision-write")
    return order.index(verdict) if verdict in order else len(order)


def _by_verdict(item: tuple[str, int]) -> int:
    return _rank(item[0])


def _passes(chosen: str | None, verdict: str) -> bool:
    if chosen is None:
        return True
    return verdict != "ok" if chosen == "not ok" else verdict == chosen


CHAIN_COLUMNS = (
    Column("n", "#", 3, "right"),
    Column("event", "write (log position and event)", 0, min_width=20),
    Column("class", "class", 13),
    Column("writer", "writer", 6),
    Column("verdict", "verdict", 23, tone=lambda v: VERDICT_TONES.get(str(v), "warning")),
    Column("fence", "fence", 30),
    Column("chained_from", "committed after", 30),
)
WHATIF_COLUMNS = (
    Column("design", "design", 34),
    Column("verdict", "verdict", 0, tone=design_tone, min_width=20),
)
