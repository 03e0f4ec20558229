"""Two views of a run's log side by side: two replays, or a replay and the final log.

Lines are aligned by (correlation id, type, occurrence), as the replay engine matches
events. The first column says what differs and the colour repeats it: `-` only in A, `+`
only in B, `~` in both but moved, `≠` an entity the two sides map to different names. The
explanation of the first divergence sits on top; `n` / `N` jump between differences.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from forensics.tui.handoff import hand_over
from forensics.tui.replaydata import (
    DIFF_FIELDS,
    DiffView,
    SharedReplays,
    diff_view,
    load_replays,
)
from forensics.tui.screens.base import ForensicsScreen
from forensics.tui.sources import ListSource
from forensics.tui.widgets.paged_table import Column, PagedTable

KIND_TONES = {"only-a": "removed", "only-b": "added", "moved": "info", "conflict": "changed"}
KIND_WORDS = {"only-a": "only in A", "only-b": "only in B", "moved": "moved",
              "conflict": "mapped differently"}  # fmt: skip


class DiffScreen(ForensicsScreen):
    """A diff of two sides of one run."""

    CSS_PATH = "diff.tcss"
    AUTO_FOCUS = "#diff-table"
    HELP = (
        "A on the left, B on the right, matched by correlation id, type and occurrence. "
        "- only in A, + only in B, ~ in both but in another order, ≠ an entity the two sides "
        "allocate to different names (their snapshots took different branches). n / N jump "
        "to the next / previous difference; s swaps the sides."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "walk(1)", "Next diff"),
        Binding("N", "walk(-1)", "Prev diff"),
        Binding("s", "swap", "Swap"),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, run_id: str, a: str, b: str, replays: SharedReplays | None = None) -> None:
        super().__init__()
        self.run_id, self.a, self.b, self.shared = run_id, a, b, replays
        self.differences: list[int] = []  # row indexes of lines that differ

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            f"{self.run_id}: diffing {self.a} and {self.b}…", id="diff-title", markup=False
        )
        with VerticalScroll(id="diff-explanation"):
            yield Static("", id="diff-explanation-text", markup=False)
        yield PagedTable(self.forensics.cursor, self._columns(), id="diff-table")
        yield Footer(compact=True)

    def _columns(self) -> list[Column]:
        return [
            Column("mark", "", 1, tone=None),
            Column("a_pos", "#A", 4, "right"),
            Column("a_label", f"A: {self.a}", 0, min_width=14),
            Column("b_pos", "#B", 4, "right"),
            Column("b_label", f"B: {self.b}", 0, min_width=14),
        ]

    def on_mount(self) -> None:
        table = self.query_one(PagedTable)
        table.row_tone = lambda index, row: KIND_TONES.get(str(row[5]))
        table.busy = True
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def load(self) -> None:
        shared = self.shared or load_replays(self.forensics.cursor, self.run_id)
        with shared.use() as rr:
            view = diff_view(rr, self.a, self.b)
        hand_over(self, self._loaded, shared, view)

    def _loaded(self, shared: SharedReplays, view: DiffView) -> None:
        self.shared = shared
        self.differences = [n for n, row in enumerate(view.rows) if row[5] != "same"]
        counts = ", ".join(
            f"{view.counts[k]} {KIND_WORDS[k]}" for k in KIND_WORDS if view.counts.get(k)
        )
        title = Text.assemble(("A ", "bold"), view.a, ("  B ", "bold"), view.b)
        self.query_one("#diff-title", Static).update(title)
        lines = [Text(view.first_divergence or "no divergence: the two sides agree",
                      style="bold")]  # fmt: skip
        lines += [Text(f"· {line}") for line in view.explanation]
        lines.append(Text(counts or "no differences", style="italic"))
        self.query_one("#diff-explanation-text", Static).update(Text("\n").join(lines))
        table = self.query_one(PagedTable)
        table.set_columns(self._columns())
        first = self.differences[0] if self.differences else 0
        table.set_source(ListSource(DIFF_FIELDS, view.rows), cursor=first)

    def action_walk(self, step: int) -> None:
        if not self.differences:
            self.notify("the two sides do not differ", timeout=3)
            return
        table = self.query_one(PagedTable)
        here = table.cursor_row
        if step > 0:
            target = self.differences[bisect_right(self.differences, here) % len(self.differences)]
        else:
            target = self.differences[(bisect_left(self.differences, here) - 1)
                                      % len(self.differences)]  # fmt: skip
        table.move_cursor(target, center=True)

    def action_swap(self) -> None:
        self.a, self.b = self.b, self.a
        self.query_one(PagedTable).busy = True
        self.load()
