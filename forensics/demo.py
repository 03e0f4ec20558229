"""The bundled sample logs and building a demo store from them.

Samples live in `forensics/samples/` (package data): real-looking logs of healthy runs and of
every known corruption shape, in several source formats. See `forensics/samples/README.md`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from forensics.errors import StoreError, UsageError
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


def is_demo_store(db: Path) -> bool:
    """Whether `db` is a store `forensics demo` wrote: a DuckDB store whose every import is
    one of the bundled samples (so rebuilding it loses nothing of the user's)."""
    names = {p.name for p in sample_paths()}
    try:
        with Store(db, read_only=True) as store:
            _, rows = store.query("SELECT location FROM imports")
    except StoreError:
        return False
    locations = [Path(str(r[0])) for r in rows]
    return bool(locations) and all(
        p.name in names and p.parent.name == SAMPLES_DIR.name for p in locations
    )


def build_demo_store(db: Path, *, traces: bool = True) -> tuple[Store, list[ImportSummary]]:
    """A fresh store at `db` holding every sample (and its traces); the caller closes it.

    An existing file is replaced only when it is a demo store itself; anything else (a store
    of the user's, another file) is left alone and refused."""
    if db.exists() and not is_demo_store(db):
        raise UsageError(
            f"{db} exists and is not a demo store; the demo does not replace it",
            hint="give the demo a path of its own: forensics --db demo.duckdb demo",
        )
    for suffix in ("", ".wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    summaries = import_paths(store, sample_paths(traces=traces))
    return store, summaries


def copy_samples(target: Path) -> list[Path]:
    """Copy the bundled sample logs into `target` (created if needed), to import by hand;
    a file already there is never overwritten."""
    sources = sample_paths()
    clashes = [target / p.name for p in sources if (target / p.name).exists()]
    if clashes:
        raise UsageError(
            f"{clashes[0]} already exists; the samples are not copied over it",
            hint="choose an empty folder",
        )
    target.mkdir(parents=True, exist_ok=True)
    for path in sources:
        if path.is_dir():
            shutil.copytree(path, target / path.name)
        else:
            shutil.copy2(path, target / path.name)
    return [target / p.name for p in sources]
