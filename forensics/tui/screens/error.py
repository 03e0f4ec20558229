"""The error modal: what went wrong and what to try, over the screen where it happened."""

from __future__ import annotations

import os
import traceback
from typing import ClassVar

import duckdb
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from forensics.errors import ForensicsError
from forensics.store import is_read_only_refusal


def describe(error: BaseException) -> tuple[str, str, str]:
    """(title, message, what to try) for any error a worker can raise."""
    if isinstance(error, ForensicsError):
        return error.title, error.message, error.hint or "press Esc and try something else"
    if is_read_only_refusal(error):
        return (
            "read-only",
            "the SQL would change the store, and the SQL screen only reads it",
            "use SELECT (or WITH … SELECT); the store changes only through forensics' commands",
        )
    if isinstance(error, duckdb.Error):
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return (
            "query failed",
            message,
            "check the SQL; tables: events, run_log, runs, run_records, entities, findings,"
            " run_verdicts, imports, quarantine",
        )
    text = f"{type(error).__name__}: {error}"
    if os.environ.get("FORENSICS_DEBUG"):
        text += "\n" + "".join(traceback.format_exception(error)[-3:])
    return (
        "internal error",
        text,
        "this is a bug in forensics: rerun with FORENSICS_DEBUG=1 and report what it shows",
    )


class ErrorScreen(ModalScreen[None]):
    """One error; Esc, Enter or `q` closes it."""

    CSS_PATH = "error.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss", "Close"),
    ]

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.title_text, self.message, self.hint = describe(error)

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Label(self.title_text, id="error-title", markup=False)
            yield Static(self.message, id="error-message", markup=False)
            yield Static(f"try: {self.hint}", id="error-hint", markup=False)
            yield Label("Esc to close", id="error-keys")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
