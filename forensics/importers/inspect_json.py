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
hydrated them. So `detect` claims an events document only when no event of its first page
carries its payload field (`PAYLOAD_FIELDS`) as such a binary or ref value; anything else is
left to `api-v1` (priority 30, asked after this importer's 20). Run, step and hook listings are
claimed either way (their binary fields are decoded on import). Whichever importer runs,
`normalize.split_payload` decides per payload, so a mixed page still decodes correctly.
"""

from __future__ import annotations

import binascii
import dataclasses
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import orjson

from forensics.decode import PAYLOAD_FIELDS, DecodeError, unwrap_binary
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.files import first_json_char, open_binary, read_head
from forensics.importers.normalize import event_from_dict
from forensics.importers.records import (
    Payloads,
    hook_from_dict,
    run_from_dict,
    step_from_dict,
)
from forensics.importers.salvage import Gap, Piece, is_event_like, salvage
from forensics.model import EntityRecord, EventRecord, Provenance, QuarantineRecord, RunRecord
from forensics.store import ImportSession

ANALYTICS_KEYS = ("entityId", "runCreatedAt", "workflowName", "deploymentId", "stepName")
PAYLOAD_PREFIXES = (b"devl", b"encr", b"encp", b"zstd", b"gzip")
CAPTURE_FILES = ("runs.json", "hooks.json", "run.json", "events.json")
MAX_PARSE = 64 << 20  # larger files are detected from their head only
_RAW_LIMIT = 1 << 20

# Bytes as API pages carry them: a binary wrapper, a ref, or base64 of a prefixed payload.
_BYTES_HINT = re.compile(
    rb'"__type"\s*:\s*"(Uint8Array|Buffer)"|"_type"\s*:\s*"RemoteRef"'
    rb'|"(input|output|result|error|payload|metadata)"\s*:\s*"(ZGV2|ZW5j|enN0|Z3pp)'
)

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
        work = _Import(session, options)
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                work.document(file, file.relative_to(path).as_posix(), strict=False)
        else:
            work.document(path, path.name, strict=True)
        work.finish()


def _load(path: Path) -> Any:
    with open_binary(path) as fh:
        return orjson.loads(fh.read())


def _head_looks_hydrated(head: bytes) -> bool:
    """Detection for huge files: events or an envelope, and no bytes in sight."""
    return (b'"eventType"' in head or b'"hasMore"' in head) and not _BYTES_HINT.search(head)


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
        # `pages`: the CLI's pages followed by cursor and merged into one list
        if isinstance(data, list) and ("hasMore" in doc or "cursor" in doc or "pages" in doc):
            if not data:
                return "empty", []
            kind = item_kind(data[0])
            return (kind, data) if kind else None
        if item_kind(doc) == "runs":
            return "run", [doc]
        return None
    if isinstance(doc, list):
        if not doc:
            return "empty", []
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
    """True when an event of the page carries its payload field as bytes or a ref."""
    kind, items = doc
    if kind != "events":
        return False  # run, step and hook listings: binary fields are decoded on import
    for item in items:
        data = item.get("eventData") if isinstance(item, dict) else None
        if isinstance(data, dict) and binaryish(
            data.get(PAYLOAD_FIELDS.get(str(item.get("eventType"))))
        ):
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


class _Import:
    """One `import_path` call: documents in, records to the session, one note per finding."""

    def __init__(self, session: ImportSession, options: ImportOptions) -> None:
        self.session = session
        self.key = options.key
        self.payloads = Payloads(options.key)
        self.progress = options.progress
        self.foreign: list[str] = []  # JSON files of a folder that are not inspect output
        self.skipped: Counter[str] = Counter()  # sleeps/streams items, by kind
        self.newest_first = 0
        self.analytics = 0
        self.partial: list[str] = []  # envelopes that say more pages follow

    def document(self, path: Path, rel: str, *, strict: bool) -> None:
        """Import one file; a file that is not inspect output is quarantined when `strict`."""
        data = b""
        try:
            with open_binary(path) as fh:
                data = fh.read()
            parsed = orjson.loads(data)
            doc = classify(parsed)
            if doc is None:
                raise RecordError("not `workflow inspect --json` output")
        except (OSError, ValueError, EOFError) as exc:
            if strict and data and self._salvage(data, rel):
                return
            if strict:
                raw = data[:_RAW_LIMIT].decode("utf-8", "replace") or None
                self.session.quarantine(QuarantineRecord(Provenance(rel), str(exc), raw))
            else:
                self.foreign.append(rel)
            return
        if isinstance(parsed, dict) and parsed.get("hasMore") is True:
            self.partial.append(rel)
        kind, items = doc
        position: Callable[[int], str | None] = (lambda i: None) if kind == "run" else str
        if kind == "events":
            self._events(rel, items, position)
        elif kind in ("runs", "run"):
            runs = self._each(rel, items, position, self._run)
            if runs:
                self.session.add_runs(runs)
        elif kind in ("steps", "hooks"):
            build = self._step if kind == "steps" else self._hook
            entities = self._each(rel, items, position, build)
            if entities:
                self.session.add_entities(entities)
        elif kind in ("sleeps", "streams"):
            self.skipped[kind] += len(items)

    def _salvage(self, data: bytes, rel: str) -> bool:
        """A file that does not parse as a whole: bytes that are not UTF-8 kept as lone
        surrogates (the event holding them is quarantined, never stored under a changed
        id), then, if it still does not parse, its whole events by byte offset and the
        damage between them quarantined. False when no whole event is in it."""
        text = data.decode("utf-8", errors="surrogateescape")
        start = len(text) - len(text.lstrip("\ufeff \t\r\n"))
        try:
            parsed: Any = json.JSONDecoder().raw_decode(text, start)[0]
        except (json.JSONDecodeError, RecursionError):
            pieces = list(salvage(text, start, is_event_like))
            if not any(isinstance(p, Piece) for p in pieces):
                return False
            for piece in pieces:
                if isinstance(piece, Gap):
                    reason = (
                        f"damaged JSON at byte {piece.offset} ({piece.size} bytes): not a"
                        " whole event; the whole events before and after it were kept"
                    )
                    where = Provenance(rel, f"byte {piece.offset}")
                    self.session.quarantine(QuarantineRecord(where, reason, piece.text))
                else:
                    where_at: Callable[[int], str | None] = partial(_at_byte, piece.offset)
                    self._events(rel, [piece.value], where_at)
            return True
        doc = classify(parsed)
        if doc is None or doc[0] != "events":
            return False
        self._events(rel, doc[1], str)
        return True

    def _run(self, d: dict[str, Any], p: Provenance) -> RunRecord:
        return run_from_dict(d, p, self.payloads)

    def _step(self, d: dict[str, Any], p: Provenance) -> EntityRecord:
        return step_from_dict(d, p, self.payloads)

    def _hook(self, d: dict[str, Any], p: Provenance) -> EntityRecord:
        return hook_from_dict(d, p, self.payloads)

    def _event(self, d: dict[str, Any], p: Provenance) -> EventRecord:
        if is_analytics(d):
            self.analytics += 1
            return analytics_event(d, p, self.key)
        return event_from_dict(d, p, hydrated=True, key=self.key)

    def _events(self, rel: str, items: list[Any], position: Callable[[int], str | None]) -> None:
        records = self._each(rel, items, position, self._event)
        for record in records:
            self.session.add_event(record)
        if self.progress is not None and records:
            self.progress(len(records))
        if len(records) > 1 and records[0].event_id > records[-1].event_id:
            self.newest_first += 1

    def _each(
        self,
        rel: str,
        items: list[Any],
        position: Callable[[int], str | None],
        build: Callable[[dict[str, Any], Provenance], T],
    ) -> list[T]:
        out: list[T] = []
        for index, item in enumerate(items):
            where = Provenance(rel, position(index))
            try:
                if not isinstance(item, dict):
                    raise RecordError(f"expected an object, got {type(item).__name__}")
                out.append(build(item, where))
            except ValueError as exc:
                raw = orjson.dumps(item, default=str).decode()[:_RAW_LIMIT]
                self.session.quarantine(QuarantineRecord(where, str(exc), raw))
        return out

    def finish(self) -> None:
        note = self.session.note
        if self.partial:
            note(
                f"{', '.join(self.partial[:5])}: hasMore is true, later pages were not saved"
                " (the listing is incomplete)"
            )
        if self.newest_first:
            note(f"{self.newest_first} event listings are newest first (the CLI's default)")
        if self.analytics:
            note(
                f"{self.analytics} analytics rows without eventData (inspect without"
                " --withData): payloads absent, their runs are inconclusive"
            )
        for kind, count in sorted(self.skipped.items()):
            note(f"{count} {kind} not imported (`inspect {kind}` listings)")
        if self.foreign:
            shown = ", ".join(self.foreign[:5]) + (", …" if len(self.foreign) > 5 else "")
            note(f"skipped {len(self.foreign)} JSON files that are not inspect output: {shown}")


def _at_byte(offset: int, _: int) -> str:
    return f"byte {offset}"
