"""A run's replays grouped by digest: which snapshot each loaded, what it wrote, how it ended.

One line per digest group (replays that loaded the same log). Space marks a group (two at
most), `d` diffs the two marked, Enter or `l` diffs the one under the cursor with the final
log, `c` shows the fence chain. The pane below lists the group's replays.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from forensics.errors import UsageError
from forensics.replay.views import replay_summary
from forensics.tui.handoff import hand_over
from forensics.tui.replaydata import (
    GROUP_FIELDS,
    ReplayGroup,
    SharedReplays,
    first_notable,
    load_replays,
    replay_groups,
)
from forensics.tui.screens.base import ForensicsScreen
from forensics.tui.sources import ListSource
from forensics.tui.widgets.paged_table import Column, PagedTable, Row

OUTCOME_TONES = {"failed": "error", "completed": "ok", "suspended": None}


def members_text(group: ReplayGroup) -> RenderableType:
    """The pane under the list: each replay of the group."""
    lines: list[RenderableType] = [
        Text(f"{group.group} · digest {group.digest or 'unknown'} · {group.count} replay(s)",
             style="bold"),
    ]  # fmt: skip
    for m in group.members:
        head = f"{m['replay']}  {m['source']}, {m['snapshot']} snapshot, {m['outcome'] or '?'}"
        if m["inv"] is not None:
            head += f"  (inv {m['inv']}, pid {m['pid']})"
        lines.append(Text(head, style="bold"))
        if m["wrote"]:
            lines.append(Text("  wrote " + ", ".join(m["wrote"])))
        for key in ("mismatch", "error"):
            if m[key]:
                lines.append(Text(f"  {key}: {m[key]}"))
        if m["holes"]:
            lines.append(Text(f"  {m['holes']} event(s) of its list are not in the stored log"))
    return Group(*lines)


class ReplaysScreen(ForensicsScreen):
    """Replays of one run, by digest group."""

    CSS_PATH = "replays.tcss"
    AUTO_FOCUS = "#replays-table"
    HELP = (
        "Each line is a digest group: replays that loaded the same log. Traced replays come "
        "from WF_TRACE lines; the others are reconstructed from the log's replay-origin "
        "writes. Space marks a group (two at most); d diffs the two marked; Enter or l "
        "diffs the group under the cursor with the final log; c shows the fence chain. "
        "R reads the replays again after an import changed the store."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("d", "diff", "Diff marked"),
        Binding("l", "diff_log", "Diff vs log"),
        Binding("c", "fences", "Fences"),
        Binding("R", "reload", "Reload", show=False),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, run_id: str, replays: SharedReplays | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.shared = replays
        self.groups: list[ReplayGroup] = []
        self.marked: list[str] = []  # group names, oldest first

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.run_id}: loading replays…", id="replays-summary", markup=False)
        yield PagedTable(self.forensics.cursor, self._columns(), id="replays-table")
        with VerticalScroll(id="replays-members"):
            yield Static("", id="replays-members-text", markup=False)
        yield Footer(compact=True)

    def _columns(self) -> list[Column]:
        return [
            Column("group", "", 1, fmt=lambda g: "●" if g in self.marked else ""),
            Column("group", "group", 5),
            Column("digest", "digest", 8, fmt=lambda d: str(d or "")[:8]),
            Column("count", "n", 3, "right"),
            Column("events", "events", 6, "right"),
            Column("outcome", "outcome", 10, tone=lambda v: OUTCOME_TONES.get(str(v), "warning")),
            Column("tail", "tail of the loaded log", 0, min_width=16),
            Column("source", "source", 13),
            Column("writes", "writes", 6, "right"),
            Column("mismatch", "mismatch", 40),
        ]

    def on_mount(self) -> None:
        table = self.query_one(PagedTable)
        table.row_tone = self._tone
        table.busy = True
        table.focus()
        self.load(self.shared)

    def action_reload(self) -> None:
        """Build the run's replays again (new events or traces), marks kept by group."""
        self.forensics.reloaded()
        self.query_one(PagedTable).busy = True
        self.load(None)

    def _tone(self, index: int, row: Row) -> str | None:
        return "accent" if row[0] in self.marked else None

    @work(thread=True, group="replays", exit_on_error=False)
    def load(self, known: SharedReplays | None) -> None:
        shared = known or load_replays(self.forensics.cursor, self.run_id)
        with shared.use() as rr:
            groups = replay_groups(rr)
            summary = replay_summary(rr).removeprefix(f"{self.run_id}: ")
        hand_over(self, self._loaded, shared, groups, summary)

    def _loaded(self, shared: SharedReplays, groups: list[ReplayGroup], summary: str) -> None:
        self.shared, self.groups = shared, groups
        self.marked = [m for m in self.marked if m in {g.group for g in groups}]
        self.query_one("#replays-summary", Static).update(f"{self.run_id} · {summary}")
        rows = tuple(g.row() for g in groups)
        start = first_notable(groups)  # open where the story is, not on g1
        self.query_one(PagedTable).set_source(ListSource(GROUP_FIELDS, rows), cursor=start)
        if not groups:
            self.query_one("#replays-members-text", Static).update(
                "No replays: the log holds no replay-origin writes and no traces were imported."
            )

    def on_paged_table_row_highlighted(self, event: PagedTable.RowHighlighted) -> None:
        group = self._group(event.row)
        if group is not None:
            self.query_one("#replays-members-text", Static).update(members_text(group))

    def on_paged_table_row_selected(self, event: PagedTable.RowSelected) -> None:
        self.action_diff_log()

    def _group(self, row: Row | None) -> ReplayGroup | None:
        if row is None:
            return None
        return next((g for g in self.groups if g.group == row[0]), None)

    def _current(self) -> ReplayGroup | None:
        table = self.query_one(PagedTable)
        return self._group(table.row_at(table.cursor_row))

    def action_mark(self) -> None:
        group = self._current()
        if group is None:
            return
        if group.group in self.marked:
            self.marked.remove(group.group)
        else:
            self.marked = [*self.marked, group.group][-2:]
        self.query_one(PagedTable).redraw()

    def action_diff(self) -> None:
        if len(self.marked) != 2:
            self.forensics.show_error(
                UsageError(
                    f"{len(self.marked)} group(s) marked; a diff needs two",
                    hint="mark two groups with space (or press l to diff one with the log)",
                )
            )
            return
        a, b = (self._spec(name) for name in self.marked)
        self._open_diff(a, b)

    def action_diff_log(self) -> None:
        group = self._current()
        if group is not None:
            self._open_diff(group.spec, "log")

    def _spec(self, name: str) -> str:
        return next(g.spec for g in self.groups if g.group == name)

    def _open_diff(self, a: str, b: str) -> None:
        from forensics.tui.screens.diff import DiffScreen

        self.app.push_screen(DiffScreen(self.run_id, a, b, self.shared))

    def action_fences(self) -> None:
        from forensics.tui.screens.fences import FencesScreen

        self.app.push_screen(FencesScreen(self.run_id, self.shared))
