"""JSON Lines and JSON arrays of SDK-shaped events (`.gz` too).

Small files go through the record path (orjson per line, exact line numbers for quarantine).
Large JSON Lines files whose sampled lines carry payloads SQL can store (`Uint8Array`
wrappers, inline error texts and objects; `_sql_payload`) take the bulk path: DuckDB's own
JSON reader parses the file and the store's SQL derivation does the rest, so Python never
holds the rows; payloads are decoded afterwards in batches. When a line count says the bulk
reader left lines out, the file is re-read one line at a time: broken lines go to
quarantine, and events the SQL did not take go through the record path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

import orjson

from forensics.decode import PAYLOAD_FIELDS
from forensics.errors import StoreError
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.files import first_json_char, iter_lines, open_binary
from forensics.importers.normalize import EVENT_FIELDS, HYDRATED_MARKERS, event_from_dict
from forensics.importers.payloads import decode_pending
from forensics.importers.salvage import Gap, is_event_like, salvage
from forensics.model import EventRecord, Provenance, QuarantineRecord
from forensics.store import ImportSession

BULK_MIN_BYTES = 32 * 1024 * 1024
_MARKERS_SQL = ", ".join("'" + orjson.dumps(m).decode() + "'" for m in HYDRATED_MARKERS)
# An inline object with any of these keys, at any depth, may hold binary or a reference.
_TYPE_KEYS = ('"__type"', '"_type"', '"type"')
_KEYS_SQL = " OR ".join(f"contains(vt, '{k}')" for k in _TYPE_KEYS)
_SAMPLE_LINES = 2000
_RECOVER_BATCH = 50_000


def _is_event(obj: Any) -> bool:
    return isinstance(obj, dict) and "eventType" in obj and ("eventId" in obj or "runId" in obj)


class JsonLinesImporter:
    name: ClassVar[str] = "jsonl"
    summary: ClassVar[str] = "JSON Lines or a JSON array of events (.gz too)"
    priority: ClassVar[int] = 50

    def detect(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            return False
        first = first_json_char(head)
        if first == "[":
            return b'"eventType"' in head
        if first != "{":
            return False
        line = head.lstrip().split(b"\n", 1)[0]
        try:
            return _is_event(orjson.loads(line))
        except orjson.JSONDecodeError:
            return b'"eventType"' in line and b'"eventId"' in line

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        with open_binary(path) as fh:
            head = fh.read(4096)
        if first_json_char(head) == "[":
            self._import_array(path, session, options)
        elif path.stat().st_size >= BULK_MIN_BYTES and _bulk_ok(path):
            try:
                import_bulk(path, session, options)
            except StoreError as exc:  # a damaged file, say: nothing stored, read it by line
                session.note(f"{exc.message}; the file was read line by line instead")
                self._import_lines(path, session, options)
        else:
            self._import_lines(path, session, options)

    def _import_lines(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        for count, (_, record) in enumerate(_events(path, options, session.quarantine), 1):
            session.add_event(record)
            if options.progress and count % 10_000 == 0:
                options.progress(10_000)

    def _import_array(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        with open_binary(path) as fh:
            content = fh.read()
        try:
            items = orjson.loads(content)
        except orjson.JSONDecodeError:
            # not one JSON document: JSON Lines whose first line is an array (line by line),
            # or an array cut or damaged (every whole event before and after kept)
            first = content.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
            try:
                orjson.loads(first)
            except orjson.JSONDecodeError:
                _salvage_array(path, content, session, options)
            else:
                self._import_lines(path, session, options)
            return
        if not isinstance(items, list):
            session.quarantine(QuarantineRecord(Provenance(str(path)), "expected a JSON array"))
            return
        for index, item in enumerate(items):
            prov = Provenance(str(path), f"[{index}]")
            try:
                session.add_event(event_from_dict(item, prov, key=options.key))
            except RecordError as exc:
                session.quarantine(QuarantineRecord(prov, str(exc), _raw(item)))


def _salvage_array(
    path: Path, content: bytes, session: ImportSession, options: ImportOptions
) -> None:
    """A JSON array that does not parse: its whole events by byte offset, and each damaged
    stretch between them quarantined once with its byte offset."""
    text = content.decode("utf-8", errors="surrogateescape")
    start = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    for piece in salvage(text, start, is_event_like):
        if isinstance(piece, Gap):
            reason = (
                f"damaged JSON at byte {piece.offset} ({piece.size} bytes): not a whole event;"
                " the whole events before and after it were kept"
            )
            prov = Provenance(str(path), f"byte {piece.offset}")
            session.quarantine(QuarantineRecord(prov, reason, piece.text))
            continue
        prov = Provenance(str(path), f"byte {piece.offset}")
        try:
            session.add_event(event_from_dict(piece.value, prov, key=options.key))
        except RecordError as exc:
            session.quarantine(QuarantineRecord(prov, str(exc), _raw(piece.value)))


def _raw(item: Any) -> str:
    return orjson.dumps(item, default=str).decode()[:100_000]


def _bulk_ok(path: Path) -> bool:
    """True when the sampled lines need nothing the SQL path cannot do (refs, legacy
    arrays, CLI markers): then lines further on that do are few, and `_reread` takes them."""
    with open_binary(path) as fh:
        for line in islice(fh, _SAMPLE_LINES):
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(event, dict) or set(event) - EVENT_FIELDS:
                return False
            if not _sql_payload(event):
                return False
    return True


def _sql_payload(event: dict[str, Any]) -> bool:
    """Whether the bulk SQL stores this event's payload field exactly as the record path
    would: a `Uint8Array` wrapper with base64 data (decoded later), an inline error text or
    plain object (no type keys anywhere in it), or an omitted value (null from spec 2 on).
    It leaves every other event out."""
    field = PAYLOAD_FIELDS.get(str(event.get("eventType")))
    data = event.get("eventData")
    if field is None or not isinstance(data, dict) or field not in data:
        return True
    value = data[field]
    if value is None:
        spec = event.get("specVersion")
        return isinstance(spec, int) and spec >= 2
    if isinstance(value, str):
        return value not in HYDRATED_MARKERS
    if not isinstance(value, dict):
        return False
    if value.get("__type") == "Uint8Array":
        return isinstance(value.get("data"), str)
    text = orjson.dumps(value).decode()
    return not any(key in text for key in _TYPE_KEYS)


def _payload_field_sql() -> str:
    by_field: dict[str, list[str]] = {}
    for event_type, field in PAYLOAD_FIELDS.items():
        by_field.setdefault(field, []).append(event_type)
    whens = " ".join(
        f"WHEN eventType IN ({', '.join(repr(t) for t in sorted(types))}) THEN '{field}'"
        for field, types in sorted(by_field.items())
    )
    return f"CASE {whens} END"


def bulk_relation(path: Path) -> str:
    """SQL producing the store's staging columns straight from a JSON Lines file."""
    quoted = str(path).replace("'", "''")
    return f"""
    SELECT '{quoted}' AS source_location, NULL::VARCHAR AS source_position,
        NULL::VARCHAR AS source_tag, runId AS run_id, eventId AS event_id,
        eventType AS event_type, correlationId AS correlation_id,
        TRY_CAST(createdAt AS TIMESTAMPTZ) AS created_at,
        TRY_CAST(occurredAt AS TIMESTAMPTZ) AS occurred_at, NULL::TIMESTAMPTZ AS write_time,
        specVersion AS spec_version, resumeId AS resume_id,
        NULL::VARCHAR AS fence_last_event_id, NULL::TIMESTAMPTZ AS fence_state_updated_at,
        CASE WHEN pf IS NULL THEN eventData ELSE json_remove(eventData, '$.' || pf) END
            AS event_data,
        CASE WHEN raw IS NOT NULL OR inline IS NOT NULL THEN pf END AS payload_field,
        raw AS payload_raw, inline AS payload_decoded,
        CASE WHEN inline IS NOT NULL THEN 'json'
             WHEN raw IS NULL THEN 'absent'
             WHEN prefix IN ('devl', 'zstd', 'gzip', 'encr', 'encp') THEN prefix
             ELSE 'unknown' END AS payload_format,
        false AS staged, NULL::VARCHAR AS extra
    FROM (
        SELECT *, from_base64(b64) AS raw,
            left(CAST(from_base64(left(b64, 8)) AS VARCHAR), 4) AS prefix
        FROM (
          SELECT *,
            CASE WHEN pv = 'OBJECT' AND strings[1] = 'Uint8Array' AND types[2] = 'VARCHAR'
                 THEN strings[2] END AS b64,
            CASE WHEN pv = 'VARCHAR' AND vt NOT IN ({_MARKERS_SQL}) THEN vt
                 WHEN pv = 'OBJECT' AND NOT ({_KEYS_SQL}) THEN vt END AS inline
          FROM (
            -- the payload value is parsed once per list of paths, not once per path
            SELECT *, types[1] AS pv, CAST(v AS VARCHAR) AS vt
            FROM (
              SELECT *, json_type(v, ['$', '$.data']) AS types,
                  json_extract_string(v, ['$.__type', '$.data']) AS strings
              FROM (
                SELECT *, json_extract(eventData, '$.' || pf) AS v
                FROM (
                  SELECT *, {_payload_field_sql()} AS pf
                  FROM ({_typed_sql(quoted)})
                )
              )
            )
          )
        )
    )
    WHERE typed_ok
      AND (createdAt IS NULL OR TRY_CAST(createdAt AS TIMESTAMPTZ) IS NOT NULL)
      -- nesting the record path's JSON writer refuses: let it judge (counted only when
      -- the text is long enough to nest that deep)
      AND (eventData IS NULL OR strlen(CAST(eventData AS VARCHAR)) < {_DEEP} OR
          strlen(CAST(eventData AS VARCHAR))
          - strlen(replace(replace(CAST(eventData AS VARCHAR), '[', ''), '{{', '')) < {_DEEP})
      -- what `_sql_payload` takes; other events go through the record path (`_reread`)
      AND (pv IS NULL OR b64 IS NOT NULL
           OR (pv = 'NULL' AND specVersion >= 2)
           OR inline IS NOT NULL)
    """


# The shapes the bulk SQL takes exactly as the record path does (`event_from_dict`): text
# ids, an integer specVersion within INTEGER, an object eventData, ISO-8601 text times.
# Any other line is left to the record path (`_reread`), which stores it the same way or
# quarantines it with its reason: the file's size never changes what is stored. DuckDB
# reads a JSON number or boolean into a VARCHAR column as its text, so a text field that
# reads like one (or like an object or array) is left to the record path too; real ids
# never look like that.
_TEXT_FIELDS = ("runId", "eventId", "eventType", "correlationId", "resumeId")
_TIME_FIELDS = ("createdAt", "occurredAt")
_DEEP = 250  # opening brackets from which an eventData may nest past 255 levels


def _text_like_sql(name: str) -> str:
    """Whether a VARCHAR field may have been a JSON string (first-character tests first:
    they settle nearly every id at once)."""
    return (
        f"({name} IS NULL OR (left({name}, 1) NOT IN ('[', '{{')"
        f" AND {name} NOT IN ('true', 'false')"
        f" AND NOT (left({name}, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"
        f" AND strlen({name}) <= 24 AND TRY_CAST({name} AS DOUBLE) IS NOT NULL)))"
    )


def _typed_sql(quoted: str) -> str:
    """The event fields as their columns' types, and whether each has the JSON type the
    record path expects (`typed_ok`)."""
    names = (*_TEXT_FIELDS, *_TIME_FIELDS, "specVersion")
    columns = ", ".join(f"{n}: 'VARCHAR'" for n in names) + ", eventData: 'JSON'"
    checks = [f"{n} <> ''" for n in _TEXT_FIELDS[:3]]
    checks += [_text_like_sql(n) for n in (*_TEXT_FIELDS, *_TIME_FIELDS)]
    checks += [
        "(specVersion IS NULL OR (strlen(specVersion) <= 11"
        " AND NOT contains(specVersion, '.') AND NOT contains(lower(specVersion), 'e')"
        " AND TRY_CAST(specVersion AS INTEGER) IS NOT NULL))",
        "coalesce(json_type(eventData), 'NULL') IN ('NULL', 'OBJECT')",
    ]
    return f"""
    SELECT * EXCLUDE (specVersion, eventData),
        TRY_CAST(specVersion AS INTEGER) AS specVersion,
        CASE WHEN json_type(eventData) = 'OBJECT' THEN eventData END AS eventData,
        {" AND ".join(checks)} AS typed_ok
    FROM read_json('{quoted}', format = 'newline_delimited', ignore_errors = true,
        columns = {{{columns}}})"""


def import_bulk(path: Path, session: ImportSession, options: ImportOptions) -> None:
    """The bulk path; then quarantine rejected lines and decode payloads in batches."""
    # The file's lines are counted on a helper thread while DuckDB reads it (DuckDB lets
    # go of the GIL), to tell whether the bulk reader left any out.
    with ThreadPoolExecutor(1) as helper:
        counted = helper.submit(_count_lines, path)
        session.add_relation(bulk_relation(path))
        lines = counted.result()
    if options.progress:
        options.progress(session.read)
    if lines != session.read:
        _reread(path, session, options)
    if options.decode:
        decode_pending(session, options.key)


def _count_lines(path: Path) -> int:
    count = 0
    with open_binary(path) as fh:
        while chunk := fh.read(1 << 22):
            count += chunk.count(b"\n")
            last = chunk
        if count and not last.endswith(b"\n"):
            count += 1
    return count


def _reread(path: Path, session: ImportSession, options: ImportOptions) -> None:
    """Re-read the file line by line for what the bulk reader left out: broken lines go to
    quarantine, events whose payload needs Python (`_sql_payload`) through the record path."""
    bulk, expected = session.read, 0
    for obj, record in _events(path, options, session.quarantine):
        if _sql_payload(obj):
            expected += 1
        else:
            session.add_event(record)
    if expected > bulk:
        _recover(path, session, options)


def _events(
    path: Path, options: ImportOptions, quarantine: Callable[[QuarantineRecord], None]
) -> Iterator[tuple[dict[str, Any], EventRecord]]:
    """The file's events (parsed line, record); lines that hold none go to `quarantine`."""
    for number, line in iter_lines(path):
        parsed = line_event(line, str(path), number, options)
        if isinstance(parsed, QuarantineRecord):
            quarantine(parsed)
        else:
            yield parsed


def line_event(
    line: bytes, location: str, number: int, options: ImportOptions
) -> tuple[dict[str, Any], EventRecord] | QuarantineRecord:
    """Line `number` of `location`: its parsed object and event, or why it holds none.
    Spark's conversion calls it too."""
    prov = Provenance(location, f"line {number}")
    try:
        obj = orjson.loads(line)
        return obj, event_from_dict(obj, prov, key=options.key)
    except orjson.JSONDecodeError as exc:
        return QuarantineRecord(prov, f"not JSON: {exc}", line.decode(errors="replace"))
    except RecordError as exc:
        return QuarantineRecord(prov, str(exc), line.decode(errors="replace"))


def line_run(line: bytes) -> str | None:
    """The run id of a line, when it is an object with a string `runId` (else None)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    run = obj.get("runId") if isinstance(obj, dict) else None
    return run if isinstance(run, str) else None


def _recover(path: Path, session: ImportSession, options: ImportOptions) -> None:
    """The bulk reader left out events the record path takes (a time DuckDB does not read,
    say): find them by key, a batch at a time, and store them through the record path."""
    batch: list[EventRecord] = []
    for obj, record in _events(path, options, lambda q: None):  # quarantined already
        if _sql_payload(obj):
            batch.append(record)
        if len(batch) >= _RECOVER_BATCH:
            session.add_events(session.not_stored(batch))
            batch = []
    session.add_events(session.not_stored(batch))
