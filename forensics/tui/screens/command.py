"""The `:` prompt: one line at the bottom of the screen; Enter runs it, Esc forgets it."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label

from forensics.tui.commands import COMMANDS


class CommandScreen(ModalScreen[str | None]):
    """Returns the typed line, or None when cancelled."""

    CSS_PATH = "command.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        with Horizontal(id="command-line"):
            yield Label(":")
            yield Input(
                self._text,
                placeholder="run ID · runs · diff A B · replays · fences · sql TEXT · help · quit",
                suggester=SuggestFromList([f"{name} " for name in COMMANDS], case_sensitive=False),
                compact=True,
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
