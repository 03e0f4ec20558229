"""The `/` filter line: an input docked at the bottom of a screen, hidden until asked for.

Typing filters as you go (after a short pause); Enter keeps the filter and returns to the
list; Esc clears it. The screen reacts to `FilterBar.Changed` only.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Label

DEBOUNCE_S = 0.2


class FilterBar(Horizontal):
    """`/` then text; the owning screen decides what the text matches."""

    DEFAULT_CSS = """
    FilterBar { height: 1; display: none; background: $panel; }
    FilterBar.-open { display: block; }
    FilterBar > Label { width: auto; padding: 0 1; color: $text-accent; text-style: bold; }
    FilterBar > Input { border: none; height: 1; padding: 0; background: $panel; width: 1fr; }
    FilterBar > Input:focus { border: none; background-tint: $foreground 0%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter", show=True),
    ]

    class Changed(Message):
        """The filter text changed (empty = no filter); `done` when the user pressed Enter."""

        def __init__(self, bar: FilterBar, text: str, done: bool) -> None:
            super().__init__()
            self.bar, self.text, self.done = bar, text, done

        @property
        def control(self) -> FilterBar:
            return self.bar

    def __init__(self, hint: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hint = hint
        self._timer: Timer | None = None
        self._back_to: Widget | None = None
        self.value = ""

    def compose(self) -> ComposeResult:
        yield Label("/")
        yield Input(placeholder=self._hint, compact=True)

    def open(self) -> None:
        self._back_to = self.screen.focused
        self.add_class("-open")
        # a hidden input cannot take the focus: give it once the bar is laid out
        self.call_after_refresh(self.query_one(Input).focus)

    def close(self) -> None:
        """Hide the line and give the focus back to where `/` was pressed."""
        if self._back_to is not None and self._back_to.is_attached:
            self._back_to.focus()
        self._back_to = None
        self.remove_class("-open")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, lambda: self._emit(event.value, done=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._emit(event.value, done=True)
        self.close()

    def action_clear(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.query_one(Input).value = ""
        self._emit("", done=True)
        self.close()

    def _emit(self, text: str, *, done: bool) -> None:
        text = text.strip()
        if text != self.value or done:
            self.value = text
            self.post_message(self.Changed(self, text, done))
