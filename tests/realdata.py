"""Where the tests find the real Workflow DevKit 4.8.9 logs: a copy kept in the repository.

`tests/data/realdata/` holds the world-local and world-postgres captures (43 runs each, see
its README), so a fresh clone runs every test that reads them, with nothing beside the checkout.
"""

from __future__ import annotations

from pathlib import Path

REALDATA = Path(__file__).resolve().parent / "data" / "realdata"
