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


def sample_paths(*, traces: bool = True) -> list[Path]:
    """Every sample the manifest names: the event logs, then (with `traces`) their traces."""
    manifest = SAMPLES_DIR / "manifest.json"
    if not manifest.is_file():
        return []
    runs = json.loads(manifest.read_text(encoding="utf-8"))["runs"]
    logs = sorted({str(run["file"]) for run in runs})
    traced = sorted({str(run["traces"]) for run in runs if run.get("traces")}) if traces else []
    return [SAMPLES_DIR / name for name in logs + traced]


def build_demo_store(db: Path, *, traces: bool = True) -> tuple[Store, list[ImportSummary]]:
    """A fresh store at `db` holding every sample (and its traces); the caller closes it."""
    for suffix in ("", ".wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    summaries = import_paths(store, sample_paths(traces=traces))
    return store, summaries
