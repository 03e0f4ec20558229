"""Import saved `workflow inspect … --json` output: events, runs, steps and hooks listings.

The CLI prints bare arrays (`inspect events` is newest first unless `--sort asc`; `inspect
steps` too), `{data, cursor, hasMore}` envelopes (`inspect runs`, `inspect hooks`), or one run
object (`inspect run <id>`). A whole capture folder (`runs.json`, `hooks.json`,
`per-run/<runId>/*.json`) imports as one. Payloads are already hydrated by the SDK, so they are
stored as `hydrated` values, not bytes. Against the hosted backend without `--withData` the CLI
prints analytics rows with no `eventData`; those keep `stepName` as their only event data and
are flagged `{"analytics": true, …}` in `extra`, so the analysis can call their runs
inconclusive. `inspect sleeps` and `inspect streams` listings are recognised but skipped: the
CLI derives sleeps from the wait events, and streams are not events.

Detection and the API v1 importer: an API v1 page (`GET /v1/runs/{id}/events`) is the same
`{data, cursor, hasMore}` envelope, but its payload fields hold bytes (a `Uint8Array`/`Buffer`
wrapper, a base64 string of a prefixed payload, or a `RemoteRef`), whereas the CLI has already
hydrated them. So `detect` claims a document only when no item of its first page carries such a
binary or ref value (in `eventData` for events, at the top level for runs, steps and hooks);
anything else is left to `api-v1` (priority 30, asked after this importer's 20). Either way
`normalize.split_payload` decides per payload, so a mixed document still decodes correctly.
"""

from __future__ import annotations

import binascii
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import orjson

from forensics.decode import DecodeError, unwrap_binary
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.files import first_json_char, open_binary, read_head
from forensics.importers.normalize import event_from_dict
from forensics.importers.world_local import hook_from_dict, run_from_dict, step_from_dict
from forensics.model import EventRecord, Provenance, QuarantineRecord
from forensics.store import ImportSession

ANALYTICS_KEYS = ("entityId", "runCreatedAt", "workflowName", "deploymentId", "stepName")
PAYLOAD_PREFIXES = (b"devl", b"encr", b"encp", b"zstd", b"gzip")
CAPTURE_FILES = ("runs.json", "hooks.json", "run.json", "events.json")
MAX_PARSE = 64 << 20  # larger files are detected from their head only
_RAW_LIMIT = 1 << 20

Doc = tuple[str, list[Any]]  # (kind, items)
T = TypeVar("T")


class InspectImporter:
    """`forensics import json inspect.json`: output of `workflow inspect … --json`."""

    name: ClassVar[str] = "inspect"
    summary: ClassVar[str] = "saved `workflow inspect … --json` output (a file or a capture folder)"
    priority: ClassVar[int] = 20

    def detect(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            if (path / "per-run").is_dir():
                return True
            return any(
                (path / n).is_file() and self.detect(path / n, read_head(path / n))
                for n in CAPTURE_FILES
            )
        if first_json_char(head) not in ("[", "{"):
            return False
        try:
            if os.path.getsize(path) > MAX_PARSE:
                return _head_looks_hydrated(head)
            doc = classify(_load(path))
        except (OSError, ValueError, EOFError):
            return False
        return doc is not None and doc[0] != "empty" and not any_binary(doc)

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        if not path.is_dir():
            _File(session, options, path.name).run(path, strict=True)
            return
        skipped: list[str] = []
        for file in sorted(path.rglob("*.json")):
            rel = file.relative_to(path).as_posix()
            if not _File(session, options, rel).run(file, strict=False):
                skipped.append(rel)
        if skipped:
            shown = ", ".join(skipped[:5]) + (", …" if len(skipped) > 5 else "")
            session.note(f"skipped {len(skipped)} JSON files that are not inspect output: {shown}")


def _load(path: Path) -> Any:
    with open_binary(path) as fh:
        return orjson.loads(fh.read())


def _head_looks_hydrated(head: bytes) -> bool:
    """Detection for huge files: events or an envelope, and no binary wrapper in sight."""
    return (
        (b'"eventType"' in head or b'"hasMore"' in head)
        and b'"__type"' not in head
        and b'"RemoteRef"' not in head
        and b'"Buffer"' not in head
    )


def item_kind(item: Any) -> str | None:
    """What one listed object is: events, runs, steps, hooks, sleeps or streams."""
    if not isinstance(item, dict):
        return None
    if "eventId" in item and "eventType" in item:
        return "events"
    if "runId" in item:
        if "stepId" in item:
            return "steps"
        if "hookId" in item:
            return "hooks"
        if "streamId" in item:
            return "streams"
        if "correlationId" in item and "resumeAt" in item:
            return "sleeps"
        if "workflowName" in item and "status" in item:
            return "runs"
    return None


def classify(doc: Any) -> Doc | None:
    """(kind, items) of an inspect document, or None when it is not one."""
    if isinstance(doc, dict):
        data = doc.get("data")
        if isinstance(data, list) and ("hasMore" in doc or "cursor" in doc):
            if not data:
                return "empty", []
            kind = item_kind(data[0])
            return (kind, data) if kind else None
        if item_kind(doc) == "runs":
            return "run", [doc]
        return None
    if isinstance(doc, list) and doc:
        kind = item_kind(doc[0])
        return (kind, doc) if kind else None
    return None


def binaryish(value: Any) -> bool:
    """Bytes as an API response carries them: a binary wrapper, a ref, or prefixed base64."""
    if isinstance(value, dict):
        if value.get("_type") == "RemoteRef":
            return True
        try:
            return unwrap_binary(value) is not None
        except DecodeError:
            return True  # a binary marker with broken data is still a marker
    if isinstance(value, str) and len(value) >= 8:
        try:
            return binascii.a2b_base64(value[:8], strict_mode=True)[:4] in PAYLOAD_PREFIXES
        except (binascii.Error, ValueError):
            return False
    return False


def any_binary(doc: Doc) -> bool:
    kind, items = doc
    for item in items:
        if not isinstance(item, dict):
            continue
        fields = item.get("eventData") if kind == "events" else item
        if isinstance(fields, dict) and any(binaryish(v) for v in fields.values()):
            return True
    return False


def analytics_event(item: dict[str, Any], provenance: Provenance, key: bytes | None) -> EventRecord:
    """An analytics row (no eventData): `stepName` as event data, the rest flagged in extra."""
    row = dict(item)
    step = row.pop("stepName", None)
    if step is not None:
        row["eventData"] = {"stepName": step}
    record = event_from_dict(row, provenance, hydrated=True, key=key)
    return dataclasses.replace(record, extra={"analytics": True, **(record.extra or {})})


def is_analytics(item: dict[str, Any]) -> bool:
    return "eventData" not in item and any(k in item for k in ANALYTICS_KEYS)


class _File:
    """One inspect document feeding the session."""

    def __init__(self, session: ImportSession, options: ImportOptions, rel: str) -> None:
        self.session = session
        self.key = options.key
        self.progress = options.progress
        self.rel = rel
        self.single = False

    def run(self, path: Path, *, strict: bool) -> bool:
        """Import `path`; False when it is not inspect output (quarantined when `strict`)."""
        try:
            doc = classify(_load(path))
        except (OSError, ValueError, EOFError) as exc:
            if strict:
                self._quarantine(None, f"unreadable JSON: {exc}", None)
            return False
        if doc is None:
            if strict:
                self._quarantine(None, "not `workflow inspect --json` output", None)
            return False
        kind, items = doc
        self.single = kind == "run"
        if kind == "events":
            self._events(items)
        elif kind in ("runs", "run"):
            runs = self._each(items, lambda d, p: run_from_dict(d, p, self.key))
            if runs:
                self.session.add_runs(runs)
        elif kind in ("steps", "hooks"):
            build = step_from_dict if kind == "steps" else hook_from_dict
            entities = self._each(items, lambda d, p: build(d, p, self.key))
            if entities:
                self.session.add_entities(entities)
        elif kind in ("sleeps", "streams"):
            self.session.note(f"{self.rel}: {len(items)} {kind} not imported ({kind} listing)")
        return True

    def _events(self, items: list[Any]) -> None:
        analytics = 0

        def build(d: dict[str, Any], p: Provenance) -> EventRecord:
            nonlocal analytics
            if is_analytics(d):
                analytics += 1
                return analytics_event(d, p, self.key)
            return event_from_dict(d, p, hydrated=True, key=self.key)

        records = self._each(items, build)
        for record in records:
            self.session.add_event(record)
        if self.progress is not None and records:
            self.progress(len(records))
        ids = [r.event_id for r in records]
        if len(ids) > 1 and ids[0] > ids[-1]:
            self.session.note(f"{self.rel}: events listed newest first (the CLI's default order)")
        if analytics:
            self.session.note(
                f"{self.rel}: {analytics} analytics rows without eventData (no --withData):"
                " payloads absent, runs inconclusive"
            )

    def _each(
        self, items: list[Any], build: Callable[[dict[str, Any], Provenance], T]
    ) -> list[T]:
        out: list[T] = []
        for index, item in enumerate(items):
            position = None if self.single else str(index)
            try:
                if not isinstance(item, dict):
                    raise RecordError(f"expected an object, got {type(item).__name__}")
                out.append(build(item, Provenance(self.rel, position)))
            except ValueError as exc:
                self._quarantine(position, str(exc), item)
        return out

    def _quarantine(self, position: str | None, reason: str, item: Any) -> None:
        raw = None
        if item is not None:
            raw = orjson.dumps(item, default=str).decode()[:_RAW_LIMIT]
        self.session.quarantine(QuarantineRecord(Provenance(self.rel, position), reason, raw))
