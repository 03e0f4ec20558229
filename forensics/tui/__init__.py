"""The terminal UI (`forensics open`): the only package that imports Textual.

`run_tui(reader, run_id)` opens the app on a store; the CLI's `open` command is the only
caller, so the rest of forensics never needs Textual installed.
"""

from __future__ import annotations

from forensics.store.opening import StoreReader


def run_tui(store: StoreReader, run_id: str | None = None) -> None:
    """Show the TUI on `store` (optionally straight into one run) until the user quits.

    A `StoreReader` holds the file only while a query runs, so imports and checks started
    while the TUI is open are not locked out; `R` reloads what they wrote."""
    from forensics.tui.app import ForensicsApp

    try:
        ForensicsApp(store, run_id).run()
    finally:
        store.close()
