"""Following a world-local data directory: import only the files that appeared or changed.

World-local writes each file whole and renames it into place, so a file's (mtime, size)
says whether it is new or changed. The marks of an import (source: the data directory,
scope `file-stat`) keep that pair per file read; the next pass lists the directory, and
only when some event, staged (`.pending`) event, run or entity file is new or changed
does it open an import that reads just those. Files that vanish (a staged event that was
consumed) are forgotten by nobody: the store keeps what it read.
"""

from __future__ import annotations

import os
from pathlib import Path

from forensics.errors import InputError
from forensics.importers.base import ImportOptions
from forensics.importers.world_local import _Reader, find_data_dir
from forensics.model import ImportSummary
from forensics.store import Store

FILE_MARKS = "file-stat"
_FOLDERS = ("events", "runs", "steps", "hooks", "waits", ".locks/runs")
_SKIP = ("hooks/tokens",)  # token claims, not hooks


def data_dir(path: Path) -> Path:
    root = find_data_dir(path)
    if root is None:
        raise InputError(
            f"{path} is not a world-local data directory",
            hint="pass the .workflow-data folder (it holds events/ and runs/)",
        )
    return root


def changed_files(root: Path, known: dict[str, str]) -> dict[str, str]:
    """{relative path: "mtime_ns:size"} of the `.json` files not in `known` as they are."""
    changed: dict[str, str] = {}
    for folder in _FOLDERS:
        _scan(str(root), folder, known, changed, depth=1)
    return changed


def _scan(root: str, rel: str, known: dict[str, str], out: dict[str, str], depth: int) -> None:
    try:
        it = os.scandir(os.path.join(root, rel))
    except OSError:  # not there (yet), or being replaced: the next pass looks again
        return
    with it:
        for entry in it:
            name, path = entry.name, f"{rel}/{entry.name}"
            try:
                if name.endswith(".json") and entry.is_file():
                    stat = entry.stat()
                    mark = f"{stat.st_mtime_ns}:{stat.st_size}"
                    if known.get(path) != mark:
                        out[path] = mark
                elif depth and path not in _SKIP and entry.is_dir():
                    _scan(root, path, known, out, depth - 1)
            except FileNotFoundError:  # renamed away while listed
                continue


def import_changed(
    store: Store, root: Path, options: ImportOptions | None = None
) -> ImportSummary | None:
    """Import the files of `root` that are new or changed since the last such import (None
    when there are none)."""
    location = str(root)
    known = store.marks(location, FILE_MARKS)
    changed = changed_files(root, known)
    if not changed:
        return None
    with store.begin_import("world-local", location, {"follow": True}) as session:
        reader = _Reader(location, "", session, options or ImportOptions())
        reader.select = set(changed)
        reader.read_layout()
        reader.read()
        reader.finish()
        summary = session.finish()
        session.save_marks(location, FILE_MARKS, changed)
    return summary
