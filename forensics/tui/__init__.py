"""The terminal UI (`forensics open`): the only package that imports Textual.

`run_tui(store, run_id)` opens the app on an open store; the CLI's `open` command is the
only caller, so the rest of forensics never needs Textual installed.
"""

from __future__ import annotations

from forensics.store import Store


def run_tui(store: Store, run_id: str | None = None) -> None:
    """Show the TUI on `store` (optionally straight into one run) until the user quits."""
    from forensics.tui.app import ForensicsApp

    ForensicsApp(store, run_id).run()
