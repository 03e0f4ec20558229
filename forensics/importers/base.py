"""The importer plug-in protocol, the registry of installed importers, and shared options.

An importer reads one kind of source and hands domain records to an `ImportSession`; it never
writes DuckDB itself and never returns driver types. File importers register under the entry
point group `forensics.importers` (the built-ins too), so a third-party package adds a format
by declaring one entry point. Unknown names are errors that list what is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from forensics.errors import InputError

if TYPE_CHECKING:  # workers that parse records never load the store (DuckDB)
    from forensics.store import ImportSession

ENTRY_POINT_GROUP = "forensics.importers"

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportOptions:
    """Options every file importer understands; each ignores what does not apply to it."""

    key: bytes | None = None  # AES-256-GCM run key for `encr` payloads
    mapping: dict[str, str] = field(default_factory=dict)  # DynamoDB role -> attribute
    preset: str | None = None  # DynamoDB attribute-mapping preset
    progress: Progress | None = None  # called with the number of records just read
    decode: bool = True  # bulk paths: decode payloads after storing the rows


class RecordError(ValueError):
    """A record that cannot be imported; the message becomes the quarantine reason."""


@runtime_checkable
class FileImporter(Protocol):
    """A format of `forensics import json`: detect it, then import one path."""

    name: ClassVar[str]
    summary: ClassVar[str]

    def detect(self, path: Path, head: bytes) -> bool:
        """True when `path` (whose first bytes, decompressed, are `head`) is this format."""
        ...

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        """Import everything at `path` through `session`; quarantine what is broken."""
        ...


def installed_importers() -> dict[str, type[FileImporter]]:
    """Every registered file importer by name, built-ins included, in detection order."""
    found: dict[str, type[FileImporter]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    return found


def get_importer(name: str) -> FileImporter:
    importers = installed_importers()
    if name not in importers:
        raise InputError(
            f"unknown format {name!r}",
            hint="use one of: " + ", ".join(sorted(importers)),
        )
    return importers[name]()
