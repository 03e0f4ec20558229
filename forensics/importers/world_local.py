"""Import a `@workflow/world-local` data directory: event files, staged events and entity files.

World-local keeps one pretty-printed JSON file per event, either flat
(`events/<runId>-<eventId>.json`) or run-scoped (`events/<runId>/<runId>-<eventId>.json`), as
`layout.json` says; during a migration both exist and both are read (the store keeps one copy
of each event). A `.<tag>` before `.json` marks test isolation and is kept as the provenance
tag; `*.json.tmp.*` files are half-written and skipped. `hook_received` events staged under
`.locks/runs/<runId>.pending/` never reached the log: they are imported with `staged=True`.
`runs/`, `steps/`, `hooks/` and `waits/` become run and entity records. The run id always
comes from a file's content, never its name (ids may contain `-`). A broken file is
quarantined with its path and the import goes on. Reading is the hot path (a directory can
hold hundreds of thousands of files), so it uses `os.scandir` and raw `os.read`, and files
are read and parsed in batches, by worker processes once a directory turns out to be large.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import orjson
import pyarrow as pa

from forensics.errors import InputError
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.normalize import event_from_dict
from forensics.importers.parallel import Decoders
from forensics.importers.records import (
    Payloads,
    hook_from_dict,
    run_from_dict,
    step_from_dict,
    wait_from_dict,
)
from forensics.model import (
    EntityRecord,
    EntityRow,
    EventRecord,
    Provenance,
    QuarantineRecord,
    RunRecord,
    RunRow,
)
from forensics.store import ImportSession
from forensics.store.batches import staging_rows

DATA_DIR_NAMES = (".workflow-data", ".next/workflow-data")
LAYOUT_STATES = ("run-scoped", "migrating", "flattening")
# A tag is a `.`, a letter, then letters, digits and `-`, right before `.json`.
_TAG = re.compile(r"\.([A-Za-z][A-Za-z0-9-]*)$")
_READ_CHUNK = 1 << 16
_RAW_LIMIT = 1 << 20  # quarantine keeps at most this many characters of a broken file
_PARSE_BATCH = 2000  # event files per parsing job
_STORE_BATCH = 20_000  # events written to the store at once
PARALLEL_MIN_FILES = 4_000  # files in a directory from which worker processes parse them
T = TypeVar("T")


class WorldLocalImporter:
    """`forensics import json .workflow-data`: a world-local data directory."""

    name: ClassVar[str] = "world-local"
    summary: ClassVar[str] = "a @workflow/world-local data directory (.workflow-data)"
    priority: ClassVar[int] = 10

    def detect(self, path: Path, head: bytes) -> bool:
        return find_data_dir(path) is not None

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        root = find_data_dir(path)
        if root is None:
            raise InputError(
                f"{path} is not a world-local data directory",
                hint="pass the .workflow-data folder (it holds events/ and runs/)",
            )
        prefix = "" if root == path else root.relative_to(path).as_posix() + "/"
        reader = _Reader(str(root), prefix, session, options)
        reader.read_layout()
        reader.read()
        reader.finish()


def find_data_dir(path: Path) -> Path | None:
    """The data directory at `path` (or its `.workflow-data`), or None when there is none."""
    for candidate in (path, *(path / name for name in DATA_DIR_NAMES)):
        if candidate.is_dir() and (
            (candidate / "events").is_dir()
            or (candidate / "runs").is_dir()
            or (candidate / "layout.json").is_file()
        ):
            return candidate
    return None


def read_bytes(path: str) -> bytes:
    """A whole file with the fewest Python-level calls (no buffered file object)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _READ_CHUNK)
        if len(data) < _READ_CHUNK:
            return data
        parts = [data]
        while chunk := os.read(fd, _READ_CHUNK):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


# What one parsing job hands back: the rows to store, the files to quarantine as
# (path, reason, content), and how many event files are named unlike their content.
Failure = tuple[str, str, bytes | None]


def parse_event_files(
    root: str, prefix: str, files: list[tuple[str, str | None, bool]], key: bytes | None
) -> tuple[pa.Table, list[Failure], int]:
    """Read and parse event files `(relative path, tag, staged)` of the data directory `root`
    into staging rows (run in worker processes for large directories)."""
    records: list[EventRecord] = []
    failed: list[Failure] = []
    misnamed = 0
    for rel, tag, is_staged in files:
        try:
            data = read_bytes(f"{root}/{rel}")
        except OSError as exc:
            failed.append((rel, f"cannot read file: {exc}", None))
            continue
        where = Provenance(prefix + rel, None, tag)
        try:
            record = event_from_dict(orjson.loads(data), where, staged=is_staged, key=key)
        except ValueError as exc:  # RecordError, DecodeError, orjson.JSONDecodeError
            failed.append((rel, str(exc), data))
            continue
        expected = record.event_id if is_staged else f"{record.run_id}-{record.event_id}"
        if not rel.rpartition("/")[2].startswith(expected):
            misnamed += 1
        records.append(record)
    table, rejected = staging_rows(records)
    for record, reason in rejected:  # too deep, too large: the file goes to quarantine
        rel = record.provenance.location[len(prefix) :]
        failed.append((rel, reason, None))
    return table, failed, misnamed


def parse_record_files(
    root: str,
    prefix: str,
    files: list[tuple[str, str | None]],
    build: Callable[[dict[str, Any], Provenance, Payloads], RunRecord | EntityRecord],
    key: bytes | None,
) -> tuple[list[RunRow] | list[EntityRow], list[Failure]]:
    """Read and build run or entity records from their files, flattened for the store (a
    parsing job: flat rows are far cheaper to send back than records)."""
    payloads = Payloads(key)
    out: list[tuple[Any, ...]] = []
    failed: list[Failure] = []
    for rel, tag in files:
        try:
            data = read_bytes(f"{root}/{rel}")
        except OSError as exc:
            failed.append((rel, f"cannot read file: {exc}", None))
            continue
        try:
            d = orjson.loads(data)
            if not isinstance(d, dict):
                raise RecordError(f"expected a JSON object, got {type(d).__name__}")
            out.append(build(d, Provenance(prefix + rel, None, tag), payloads).row())
        except ValueError as exc:
            failed.append((rel, str(exc), data))
    return out, failed


_BUILDERS: dict[str, Callable[[dict[str, Any], Provenance, Payloads], Any]] = {
    "runs": run_from_dict,
    "steps": step_from_dict,
    "hooks": hook_from_dict,
    "waits": wait_from_dict,
}
# Imported once by the process that starts the workers, so each worker starts warm.
_PRELOAD = (__name__,)


def parse_files(
    kind: str, root: str, prefix: str, files: list[Any], key: bytes | None
) -> tuple[pa.Table | list[Any], list[Failure], int]:
    """One parsing job: event files (`kind` "events") or the record files of a folder."""
    if kind == "events":
        return parse_event_files(root, prefix, files, key)
    records, failed = parse_record_files(root, prefix, files, _BUILDERS[kind], key)
    return records, failed, 0


def _batches(items: list[T], size: int) -> Iterator[list[T]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def split_name(name: str) -> tuple[str, str | None]:
    """`<id>[.<tag>].json` → (id, tag)."""
    stem = name[:-5]
    if "." in stem and (m := _TAG.search(stem)):
        return stem[: m.start()], m.group(1)
    return stem, None


class _Reader:
    """One pass over a data directory, feeding one import session."""

    def __init__(
        self, root: str, prefix: str, session: ImportSession, options: ImportOptions
    ) -> None:
        self.root = root
        self.prefix = prefix
        self.session = session
        self.options = options
        self.state: str | None = None
        self.tmp_files = 0
        self.misnamed = 0
        self.flat_events = 0
        self.scoped_events = 0
        self.select: set[str] | None = None  # read only these files (a watch's changed ones)

    # -- layout and events -----------------------------------------------------------------

    def read_layout(self) -> None:
        path = os.path.join(self.root, "layout.json")
        if not os.path.isfile(path):
            return
        try:
            layout = orjson.loads(read_bytes(path))
        except (OSError, ValueError) as exc:
            self.quarantine("layout.json", f"unreadable layout.json: {exc}", None)
            return
        state = layout.get("state") if isinstance(layout, dict) else None
        self.state = str(state) if state is not None else None
        if self.state not in LAYOUT_STATES:
            self.session.note(f"layout.json state {self.state!r} is unknown: read every layout")

    def read(self) -> None:
        """Every event, run and entity file, parsed in one stream of jobs.

        All files are listed first, so a large directory starts its worker processes at
        once and keeps them busy from the first file to the last.
        """
        # Run and entity files first: their records are written while the workers go on
        # to the event files, instead of after the last of those.
        jobs: list[tuple[str, list[Any]]] = []
        for folder in _BUILDERS:
            found = self._record_files(folder)
            jobs += [(folder, batch) for batch in _batches(found, _PARSE_BATCH)]
        jobs += [("events", batch) for batch in _batches(self._event_files(), _PARSE_BATCH)]
        total = sum(len(batch) for _, batch in jobs)
        parallel = total >= PARALLEL_MIN_FILES
        progress, key = self.options.progress, self.options.key
        stream = (
            ((kind, len(batch)), len(batch), (kind, self.root, self.prefix, batch, key))
            for kind, batch in jobs
        )
        held: list[pa.Table] = []  # stored a few jobs at a time: each store write commits
        runs: list[RunRow] = []
        entities: list[EntityRow] = []
        # The workers do nearly all the work (reading, parsing, decoding), so this process
        # keeps no core of its own: it only hands their rows to the store.
        with Decoders(0 if parallel else sys.maxsize, spare_cores=0, preload=_PRELOAD) as pool:
            for (kind, files), (rows, failed, misnamed) in pool.map(parse_files, stream):
                if kind == "events" and (runs or entities):
                    self._write_records(runs, entities)
                    runs, entities = [], []
                if kind == "events":
                    assert isinstance(rows, pa.Table)
                    held.append(rows)
                    if sum(t.num_rows for t in held) >= _STORE_BATCH:
                        self.session.add_arrow(pa.concat_tables(held))
                        held = []
                    if progress is not None:
                        progress(files)
                elif kind == "runs":
                    runs += rows
                else:
                    entities += rows
                for failure in failed:
                    self.quarantine(*failure)
                self.misnamed += misnamed
        if held:
            self.session.add_arrow(pa.concat_tables(held))
        self._write_records(runs, entities)

    def _write_records(self, runs: list[RunRow], entities: list[EntityRow]) -> None:
        if runs:
            self.session.add_run_rows(runs)
        if entities:
            self.session.add_entity_rows(entities)

    def _event_files(self) -> list[tuple[str, str | None, bool]]:
        """Log events (flat and run-scoped) and staged `hook_received` events: (path, tag,
        staged)."""
        files, subdirs = self._list("events")
        self.flat_events = len(files)
        for sub in subdirs:
            scoped = self._list(f"events/{sub}")[0]
            self.scoped_events += len(scoped)
            files += scoped
        jobs = [(rel, tag, False) for rel, tag in files]
        # `.locks/runs/<runId>.pending[.<tag>]/<eventId>.json`: staged, never in the log.
        for sub in self._list(".locks/runs")[1]:
            _run, marker, dir_tag = sub.partition(".pending")
            if marker and (not dir_tag or dir_tag.startswith(".")):
                pending = self._list(f".locks/runs/{sub}")[0]
                jobs += [(rel, tag or dir_tag[1:] or None, True) for rel, tag in pending]
        return jobs

    def _record_files(self, folder: str) -> list[tuple[str, str | None]]:
        """Files of `folder/*.json` and (run-scoped steps) `steps/<runId>/*.json`."""
        files, subdirs = self._list(folder)
        if folder == "steps":  # not hooks/tokens/: token claims, not hooks
            for sub in subdirs:
                files += self._list(f"{folder}/{sub}")[0]
        return files

    # -- plumbing --------------------------------------------------------------------------

    def _list(self, rel_dir: str) -> tuple[list[tuple[str, str | None]], list[str]]:
        """(relative path, tag) of the finished `.json` files in `rel_dir`, and its subdirs."""
        files: list[tuple[str, str | None]] = []
        subdirs: list[str] = []
        try:
            it = os.scandir(os.path.join(self.root, rel_dir))
        except FileNotFoundError:
            return files, subdirs
        except OSError as exc:
            self.quarantine(rel_dir, f"cannot list directory: {exc}", None)
            return files, subdirs
        with it:
            for entry in it:
                name = entry.name
                if entry.is_symlink() and not self._inside(entry.path):
                    self.quarantine(
                        f"{rel_dir}/{name}",
                        f"a symlink to {os.path.realpath(entry.path)}, outside the data"
                        " directory: not followed",
                        None,
                    )
                    continue
                if name.endswith(".json"):
                    if self.select is not None and f"{rel_dir}/{name}" not in self.select:
                        continue
                    if entry.is_file():
                        tag = split_name(name)[1] if "." in name[:-5] else None
                        files.append((f"{rel_dir}/{name}", tag))
                elif ".json.tmp." in name:
                    self.tmp_files += 1
                elif entry.is_dir():
                    subdirs.append(name)
        return files, subdirs

    def _inside(self, path: str) -> bool:
        """Whether `path`, its symlinks resolved, stays inside the data directory."""
        root = os.path.realpath(self.root)
        return os.path.commonpath([root, os.path.realpath(path)]) == root

    def quarantine(self, rel: str, reason: str, data: bytes | None) -> None:
        raw = data[:_RAW_LIMIT].decode("utf-8", "replace") if data is not None else None
        self.session.quarantine(QuarantineRecord(Provenance(self.prefix + rel), reason, raw))

    def finish(self) -> None:
        note = self.session.note
        if self.state is None and self.scoped_events:
            note(f"no layout.json, yet {self.scoped_events} event files are run-scoped")
        if self.state == "run-scoped" and self.flat_events:
            note(f"layout.json says run-scoped, yet {self.flat_events} event files are flat")
        if self.state in ("migrating", "flattening"):
            note(
                f"layout {self.state}: read {self.flat_events} flat and "
                f"{self.scoped_events} run-scoped event files"
            )
        if self.tmp_files:
            note(f"skipped {self.tmp_files} half-written *.json.tmp.* files")
        if self.misnamed:
            note(f"{self.misnamed} event files are named unlike their content's run/event id")
