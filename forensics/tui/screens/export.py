"""The export modal: a file name whose suffix picks the format (csv, json, parquet).

`export_sql` writes a query's whole result with DuckDB's COPY, parameters bound, so an
export is never limited to the rows the table holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import duckdb
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from forensics.errors import UsageError

FORMATS = {
    ".csv": "(FORMAT csv, HEADER)",
    ".json": "(FORMAT json, ARRAY true)",
    ".parquet": "(FORMAT parquet, COMPRESSION zstd)",
}
DEFAULT_NAME = "forensics-results.csv"


def export_sql(
    cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], path: Path
) -> None:
    """Write the rows of `sql` to `path` in the format its suffix names."""
    options = FORMATS.get(path.suffix.lower())
    if options is None:
        raise UsageError(
            f"cannot tell the format of {path.name}", hint="end the name in .csv, .json or .parquet"
        )
    quoted = str(path).replace("'", "''")
    cur.execute(f"COPY ({sql}) TO '{quoted}' {options}", params or None)


class ExportScreen(ModalScreen[Path | None]):
    """Asks where to write the result; returns the path, or None when cancelled."""

    CSS_PATH = "export.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export the whole result to (the suffix picks the format):")
            yield Input(DEFAULT_NAME, id="export-path")
            with Horizontal(id="export-formats"):
                for suffix in FORMATS:
                    yield Button(suffix[1:].upper(), id=f"as-{suffix[1:]}", compact=True)
            yield Label("Enter writes · Esc cancels", id="export-keys")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        suffix = "." + (event.button.id or "as-csv").removeprefix("as-")
        field = self.query_one(Input)
        field.value = str(Path(field.value or DEFAULT_NAME).with_suffix(suffix))
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
