"""The terminal UI (`forensics open`): the only package that imports Textual.

`run_tui(reader, run_id)` opens the app on a store; the CLI's `open` command is the only
caller, so the rest of forensics never needs Textual installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from forensics.store.opening import StoreReader

if TYPE_CHECKING:
    from forensics.store import Store
    from forensics.watch.sources import Source


def run_tui(store: StoreReader, run_id: str | None = None) -> None:
    """Show the TUI on `store` (optionally straight into one run) until the user quits.

    A `StoreReader` holds the file only while a query runs, so imports and checks started
    while the TUI is open are not locked out; `R` reloads what they wrote."""
    from forensics.tui.app import ForensicsApp

    try:
        ForensicsApp(store, run_id).run()
    finally:
        store.close()


def follow_tui(
    store: Store, sources: Sequence[Source], run_id: str | None = None, interval: float = 2.0
) -> bool:
    """The TUI on a writable `store` while `sources` are watched into it (see `follow`).

    On quitting, the pass under way is finished before returning; False when it did not
    finish within a minute (what it stored is completed by the next import)."""
    from forensics.tui.app import ForensicsApp
    from forensics.tui.follow import Follower

    follower = Follower(store, sources, interval)
    try:
        ForensicsApp(store, run_id, follower).run()
    finally:
        done = follower.close()
    return done
