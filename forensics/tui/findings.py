"""Where a run's findings come from in the TUI, and what to say when there are none.

The TUI reads the results `forensics check` stored (it opens the store read-only, so other
readers can share it); a run that was never checked says how to check it.
"""

from __future__ import annotations

import duckdb

from forensics.model import Finding
from forensics.store import Store
from forensics.store.opening import StoreReader
from forensics.tui.data import stored_findings


def load_findings(
    store: Store | StoreReader, cur: duckdb.DuckDBPyConnection, run_id: str
) -> tuple[list[Finding], str]:
    """The run's findings and the sentence to show when the list is empty."""
    stored = stored_findings(cur, run_id)
    if stored is not None:
        return stored, "No findings: `forensics check` found nothing wrong in this run."
    return [], (
        "Not checked yet: run `forensics check` (or open with `forensics open --check`) to"
        " analyse the store; this screen shows the findings it stores."
    )
