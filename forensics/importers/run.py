"""`forensics import json`: pick the format of each path and run its importer in a session.

Detection asks each installed file importer in priority order; `--format` skips detection.
Each path is its own import (one row in `imports`), so a broken path never undoes another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from forensics.errors import InputError
from forensics.importers.base import FileImporter, ImportOptions, installed_importers
from forensics.importers.files import read_head, report_damage
from forensics.model import ImportSummary
from forensics.store import Store


def ordered_importers() -> list[FileImporter]:
    """Installed file importers, most specific first (their `priority`, then name)."""
    classes = installed_importers().values()
    ranked = sorted(classes, key=lambda c: (getattr(c, "priority", 100), c.name))
    return [c() for c in ranked]


def detect_format(path: Path) -> FileImporter:
    """The importer that recognises `path`, or an `InputError` that says what was seen."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory", hint="check the path")
    head = b"" if path.is_dir() else read_head(path)
    if not path.is_dir() and not head.strip():
        raise InputError(f"{path}: the file is empty", hint="nothing to import here")
    for importer in ordered_importers():
        if importer.detect(path, head):
            return importer
    names = ", ".join(i.name for i in ordered_importers())
    what = "a directory" if path.is_dir() else f"a file starting {head[:40]!r}"
    raise InputError(
        f"{path}: not a format forensics knows ({what})",
        hint=f"pass --format with one of: {names}",
    )


def import_paths(
    store: Store,
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    options: ImportOptions | None = None,
) -> list[ImportSummary]:
    """Import every path (each its own import); return one summary per path."""
    options = options or ImportOptions()
    by_name = {i.name: i for i in ordered_importers()}
    if fmt is not None and fmt not in by_name:
        raise InputError(f"unknown format {fmt!r}", hint="use one of: " + ", ".join(by_name))
    if options.mapping or options.preset:
        from forensics.importers.mapping import resolve_mapping

        resolve_mapping(options.preset, options.mapping)  # a bad --map fails before any import
    plan: list[tuple[Path, FileImporter]] = []
    for path in paths:
        if fmt is not None and not path.exists():
            raise InputError(f"{path}: no such file or directory", hint="check the path")
        plan.append((path, by_name[fmt] if fmt else detect_format(path)))
    summaries = []
    for path, importer in plan:
        with store.begin_import(importer.name, str(path), _describe(options)) as session:
            importer.import_path(path, session, options)
            report_damage(path, session)
            summary = session.finish()
        if not (summary.read or summary.quarantined or summary.runs or summary.entities):
            raise InputError(
                f"{path}: nothing importable found ({importer.name})",
                hint="is this the right directory or file?",
            )
        summaries.append(summary)
    return summaries


def _describe(options: ImportOptions) -> dict[str, object]:
    return {
        "key": "given" if options.key else None,
        "mapping": options.mapping or None,
        "preset": options.preset,
    }
