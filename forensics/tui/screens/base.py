"""What every full screen shares: going back, showing worker failures, its help text.

A screen runs its DuckDB work in thread workers; when one fails, the error is shown in a
modal instead of ending the app. `HELP` is the paragraph the `?` screen shows above the keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from forensics.tui.widgets.paged_table import PagedTable

if TYPE_CHECKING:
    from forensics.tui.app import ForensicsApp


class ForensicsScreen(Screen[None]):
    """A full screen of the app; Esc and `q` go back to the one below."""

    HELP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
    ]

    @property
    def forensics(self) -> ForensicsApp:
        from forensics.tui.app import ForensicsApp

        app = self.app
        assert isinstance(app, ForensicsApp)
        return app

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.forensics.show_error(event.worker.error)

    def on_paged_table_load_failed(self, event: PagedTable.LoadFailed) -> None:
        self.forensics.show_error(event.error)
