"""The bundled sample logs and building a demo store from them.

Samples live in `forensics/samples/` (package data): real-looking logs of healthy runs and of
every known corruption shape, in several source formats. See `forensics/samples/README.md`.
"""

from __future__ import annotations

import json
from pathlib import Path

from forensics.importers.run import import_paths
from forensics.model import ImportSummary
from forensics.store import Store

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def sample_paths() -> list[Path]:
    """Every sample file or directory the manifest names, in a stable order."""
    manifest = SAMPLES_DIR / "manifest.json"
    if not manifest.is_file():
        return []
    runs = json.loads(manifest.read_text(encoding="utf-8"))["runs"]
    return sorted({SAMPLES_DIR / str(run["file"]) for run in runs})


def build_demo_store(db: Path) -> tuple[Store, list[ImportSummary]]:
    """A fresh store at `db` holding every sample; the caller closes it."""
    for suffix in ("", ".wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    summaries = import_paths(store, sample_paths())
    return store, summaries
