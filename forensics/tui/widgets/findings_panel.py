"""The findings of one run: a list on top, the highlighted finding's explanation below.

Each line says severity (glyph and word), code, entity, the eras whose replay fails on it
and how many events witness it. Enter posts `FindingsPanel.Chosen`, on which the run screen
jumps to the witness events and highlights them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from forensics.analysis.explain import not_fatal_sentence
from forensics.analysis.invariants import invariants_of
from forensics.model import Finding
from forensics.tui import format as fmt
from forensics.tui.sources import ListSource
from forensics.tui.widgets.paged_table import Column, CursorFactory, PagedTable

_FIELDS = ("n", "severity", "code", "correlation_id", "fatal_in", "witnesses")
_COLUMNS = (
    Column(
        "severity",
        "",
        1,
        fmt=lambda v: fmt.SEVERITY_GLYPHS.get(str(v), "?"),
        tone=lambda v: fmt.SEVERITY_TONES.get(str(v)),
    ),
    Column("severity", "severity", 8, tone=lambda v: fmt.SEVERITY_TONES.get(str(v))),
    Column("code", "code", 0, min_width=18),
    Column("correlation_id", "entity", 16, fmt=lambda v: fmt.short_id(v, 8)),
    Column("fatal_in", "fatal in", 11),
    Column("witnesses", "events", 6, "right"),
)


def finding_text(finding: Finding) -> RenderableType:
    """The explanation pane for one finding."""
    parts: list[RenderableType] = [
        Text.assemble((f"{finding.code}", "bold"), f"  ({finding.severity})"),
        Text(finding.explanation or "(no explanation recorded)"),
    ]
    parts.append(_fatal(finding))
    if finding.replay_message:
        said = "The runtime reported: " if finding.code == "corrupted-log-error" else None
        parts.append(
            Text.assemble((said or "A replay would report: ", "bold"), finding.replay_message)
        )
    rules = invariants_of(finding.code, finding.evidence)
    if rules:
        parts.append(Text.assemble(("Breaks world-sim invariant: ", "bold"), ", ".join(rules)))
    if finding.evidence.get("judged_in"):
        parts.append(Text.assemble(("Run judged in: ", "bold"), finding.evidence["judged_in"]))
    ids = ", ".join(finding.event_ids) or "none"
    parts.append(Text.assemble(("Witness: ", "bold"), ids, ("  (Enter shows them)", "italic")))
    if finding.evidence:
        evidence = json.dumps(finding.evidence, indent=2, sort_keys=True, default=str)
        parts += [Text("Evidence", style="bold"), Text(evidence)]
    return Group(*[p for part in parts for p in (part, Text(""))][:-1])


def _fatal(finding: Finding) -> Text:
    """The eras whose replay fails on the finding, or what instead, per code and shape."""
    if not finding.fatal_in:
        why = not_fatal_sentence(finding.code, finding.evidence, finding.severity)
        return Text.assemble(("Fatal in: none. ", "bold"), why)
    text = Text(f"Fatal in: {' '.join(finding.fatal_in)}", style="bold")
    if finding.evidence.get("inert_from_spec"):
        text.append(
            f". Not in E4, the era this run is judged in: from spec"
            f" {finding.evidence['inert_from_spec']} events after an entity's terminal event are"
            " inert.",
            style="",
        )
    return text


class FindingsPanel(Vertical):
    """A run's findings and the explanation of the one under the cursor."""

    DEFAULT_CSS = """
    FindingsPanel > PagedTable { height: auto; max-height: 45%; min-height: 3; }
    FindingsPanel > #finding-explanation {
        height: 1fr; padding: 0 1; border-top: hkey $panel-lighten-2; background: $surface;
    }
    """

    class Chosen(Message):
        """Enter on a finding: show its witness events."""

        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    class Highlighted(Message):
        """The cursor moved onto a finding."""

        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, cursor_factory: CursorFactory, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cursor_factory = cursor_factory
        self._findings: list[Finding] = []

    def compose(self) -> ComposeResult:
        yield PagedTable(self._cursor_factory, _COLUMNS, id="findings-table")
        with VerticalScroll(id="finding-explanation"):
            yield Static("", id="finding-text", markup=False)

    def show(self, findings: Sequence[Finding], note: str) -> None:
        """Show `findings`; `note` is what to say when there are none."""
        self._findings = list(findings)
        rows: list[tuple[Any, ...]] = [
            (
                n,
                f.severity,
                f.code,
                f.correlation_id,
                " ".join(f.fatal_in) or "none",
                len(f.event_ids),
            )
            for n, f in enumerate(self._findings)
        ]
        table = self.query_one(PagedTable)
        table.set_source(ListSource(_FIELDS, tuple(rows)))
        if not rows:
            self.query_one("#finding-text", Static).update(note)

    def on_paged_table_row_highlighted(self, event: PagedTable.RowHighlighted) -> None:
        event.stop()
        finding = self._findings[int(event.row[0])]
        self.query_one("#finding-text", Static).update(finding_text(finding))
        self.post_message(self.Highlighted(finding))

    def on_paged_table_row_selected(self, event: PagedTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self._findings[int(event.row[0])]))
