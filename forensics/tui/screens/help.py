"""The `?` screen: what the screen below shows and every key it answers to right now.

The keys are read from the live bindings of the screen that was on top when `?` was
pressed (its focused widget, the screen, then the app), so the list never goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static


@dataclass(frozen=True)
class KeyHelp:
    keys: str
    description: str
    scope: str  # "screen", "list" (the focused widget) or "everywhere" (the app)


SCOPES = {"screen": "On this screen", "list": "In the focused pane", "everywhere": "Everywhere"}


def _own_actions(node: DOMNode) -> set[str]:
    """Actions bound by forensics' own classes of `node` (not Textual's stock keys)."""
    actions: set[str] = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("forensics."):
            for binding in cls.__dict__.get("BINDINGS", ()):
                if isinstance(binding, Binding):
                    actions.add(binding.action)
    return actions


def key_help(screen: Screen[object]) -> list[KeyHelp]:
    """The bindings active on `screen`, one line per action: screen, focused pane, app."""
    app = screen.app
    by_action: dict[tuple[str, str], list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding, node = active.binding, active.node
        if not binding.description or binding.action not in _own_actions(node):
            continue
        scope = "everywhere" if node is app else "screen" if node is screen else "list"
        keys = by_action.setdefault((scope, binding.description), [])
        shown = app.get_key_display(Binding(key, binding.action))
        if shown not in keys:
            keys.append(shown)
    rows = [KeyHelp(" ".join(keys), desc, scope) for (scope, desc), keys in by_action.items()]
    order = list(SCOPES)
    return sorted(rows, key=lambda r: order.index(r.scope))


class HelpScreen(ModalScreen[None]):
    """Help for the screen below; Esc, `q` or `?` closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, title: str, about: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.about_title, self.about, self.keys = title, about, keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label(self.about_title, id="help-title")
            if self.about:
                yield Static(self.about, id="help-about", markup=False)
            yield Static(self._table(), id="help-keys")
            yield Label("Esc to close", id="help-close")

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        scope = ""
        for row in self.keys:
            if row.scope != scope:
                scope = row.scope
                table.add_row(Text(SCOPES[scope], style="italic"), "")
            table.add_row(row.keys, row.description)
        return table

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
