"""Frozen records shared by every layer: what importers produce and the store keeps.

These are plain values: no driver types (psycopg rows, DynamoDB attribute maps) and no
DuckDB handles ever appear here, so importers, analysis and reports agree on one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

JsonValue = Any  # a value that json.dumps accepts
# A run or entity record flattened into the store's column order (without the import id),
# JSON values as text: the cheap form to send from a worker process and to write in bulk.
RunRow = tuple[Any, ...]
EntityRow = tuple[Any, ...]

ID_SCHEMES = ("ulid", "slot", "unknown")
PAYLOAD_FORMATS = (
    "devl",
    "encr",
    "encp",
    "zstd",
    "gzip",
    "ref",
    "legacy-json",
    "hydrated",
    "json",
    "json-prefixed",
    "absent",
    "unknown",
    "invalid",
)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a record came from inside its source (file and line, table and key, page)."""

    location: str
    position: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event, normalised from any source.

    `event_data` is the event's eventData without its payload field; the payload is kept raw
    (`payload_raw`) and decoded (`payload_decoded`, JSON-safe) beside its `payload_format`.
    """

    run_id: str
    event_id: str
    event_type: str
    provenance: Provenance
    correlation_id: str | None = None
    created_at: datetime | None = None
    occurred_at: datetime | None = None
    write_time: datetime | None = None
    spec_version: int | None = None
    resume_id: str | None = None
    fence_last_event_id: str | None = None
    fence_state_updated_at: datetime | None = None
    event_data: dict[str, JsonValue] | None = None
    payload_field: str | None = None
    payload_raw: bytes | None = None
    payload_decoded: JsonValue = None
    payload_format: str = "absent"
    staged: bool = False
    extra: dict[str, JsonValue] | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as its source's run table or file describes it (not derived from events)."""

    run_id: str
    provenance: Provenance
    workflow_name: str | None = None
    status: str | None = None
    deployment_id: str | None = None
    spec_version: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error_code: str | None = None
    error: JsonValue = None
    extra: dict[str, JsonValue] | None = None

    def row(self) -> RunRow:
        """The record as a `RunRow` (`run_records` column order without the import id)."""
        return (
            self.run_id,
            self.provenance.location,
            self.workflow_name,
            self.status,
            self.deployment_id,
            self.spec_version,
            self.created_at,
            self.started_at,
            self.completed_at,
            self.error_code,
            json_text(self.error),
            json_text(self.extra),
        )


@dataclass(frozen=True, slots=True)
class EntityRecord:
    """A step, hook or wait row as the source's entity table or file describes it."""

    run_id: str
    entity_id: str
    kind: str  # step | hook | wait
    provenance: Provenance
    name: str | None = None
    token: str | None = None
    status: str | None = None
    attempt: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    resume_at: datetime | None = None
    spec_version: int | None = None
    extra: dict[str, JsonValue] | None = None

    def row(self) -> EntityRow:
        """The record as an `EntityRow` (`entities` column order without the import id)."""
        return (
            self.provenance.location,
            self.run_id,
            self.entity_id,
            self.kind,
            self.name,
            self.token,
            self.status,
            self.attempt,
            self.created_at,
            self.started_at,
            self.completed_at,
            self.resume_at,
            self.spec_version,
            json_text(self.extra),
        )


def json_text(value: JsonValue) -> str | None:
    """A JSON value as compact text (None stays None; non-string keys become strings).

    A value JSON cannot hold (nested deeper than 255 levels, an unknown type) is a
    `ValueError` saying so."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError as exc:
        reason = str(exc)
        if "Recursion limit" in reason:
            reason = "nested deeper than 255 levels"
        raise ValueError(f"a value cannot be stored as JSON: {reason}") from None


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """A record that could not be imported, kept raw with where it was and why."""

    provenance: Provenance
    reason: str
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did, as stored in the `imports` table."""

    import_id: int
    source_kind: str
    location: str
    read: int
    stored: int
    duplicates: int
    quarantined: int
    conflicts: int
    runs: int
    entities: int
    status: str
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


SEVERITIES = ("error", "warning", "info")
VERDICTS = ("ok", "anomalous", "inconclusive")


@dataclass(frozen=True, slots=True)
class Finding:
    """One anomaly in one run, as the analysis reports it and the `findings` table keeps it.

    `event_ids` is the minimal witness in log order; `fatal_in` names the eras (E0-E4) whose
    replay fails on it and `replay_message` what the first of them would have reported;
    `evidence` holds the facts the detector used; `explanation` is rendered from them.
    """

    finding_id: str
    code: str
    severity: str
    run_id: str
    correlation_id: str | None
    event_ids: tuple[str, ...]
    fatal_in: tuple[str, ...]
    replay_message: str | None
    evidence: dict[str, JsonValue]
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class RunVerdict:
    """A run's overall verdict from one analysis, with the fingerprint of what was analysed."""

    run_id: str
    verdict: str
    reason: str | None
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoryEvent:
    """An event of the log as a story names it: `#position`, short label, when it committed."""

    position: int
    event_id: str
    event_type: str
    correlation_id: str | None
    label: str  # `step_created PMX (drain)`
    at: datetime | None


@dataclass(frozen=True, slots=True)
class StoryCause:
    """The finding that explains the failure, on the write that introduced it."""

    code: str
    finding_id: str
    event: StoryEvent
    summary: str
    witnesses: tuple[StoryEvent, ...]
    severity: str


@dataclass(frozen=True, slots=True)
class StoryWriter:
    """A replay in the story: `stale` (decided from a snapshot that missed an event),
    `racing` (wrote what the stale writer missed), `other-branch` (decided the other way and
    failed on the stale write) or `victim` (failed on it otherwise). Replays of one snapshot
    in the last two roles are one writer with `replays` naming them all."""

    role: str
    replay: str
    replays: tuple[str, ...]
    source: str  # trace | reconstructed
    exact: bool  # its snapshot is known (traced, or fenced), not inferred
    writes: tuple[StoryEvent, ...]
    digest: str | None
    loaded: int | None
    tail: StoryEvent | None
    missed: tuple[tuple[StoryEvent, int | None], ...]  # event, ms committed before the write
    identity: dict[str, JsonValue]  # inv, pid, stream, request_id when traced
    outcome: str | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class StoryMoment:
    """One line of the critical window, in commit order: a read, a write or another event."""

    kind: str  # read | write | event
    at: datetime | None
    event: StoryEvent | None
    writer: str | None
    note: str


@dataclass(frozen=True, slots=True)
class StoryBlast:
    failed_replays: int
    first_failure_at: datetime | None
    last_failure_at: datetime | None
    similar_runs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoryDesign:
    design: str
    would_reject: bool | None  # None: no write's snapshot is known
    prevents: bool | None  # None: nothing to prevent
    rejects: tuple[StoryEvent, ...]


@dataclass(frozen=True, slots=True)
class Story:
    """One run's incident on one page, computed once; the CLI, TUI and report render it.

    `exactness` is `traced` (the writers' snapshots come from their traces), `fenced` (from
    the fences they sent), `inferred` (reconstructed from commit order alone) or `none`.
    """

    run_id: str
    workflow_name: str | None
    status: str
    error_code: str | None
    error_message: str | None
    failed_at: datetime | None
    verdict: str | None
    headline: str
    exactness: str
    exactness_note: str
    root_cause: StoryCause | None
    writers: tuple[StoryWriter, ...]
    window: tuple[StoryMoment, ...]
    blast_radius: StoryBlast
    prevention: tuple[StoryDesign, ...]
    other_findings: tuple[tuple[str, str, int], ...]  # code, severity, count
    event_count: int
    traced_replays: int
