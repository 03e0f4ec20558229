"""DynamoDB dumps of a workflow events table: `aws dynamodb scan` output and S3 exports.

Both carry items in DynamoDB's typed JSON (`{"attr": {"S": "…"}}`). `aws dynamodb scan`
writes `{"Items": […], "Count", "ScannedCount", "LastEvaluatedKey"?}`; such a document is
page sized, so it is parsed whole (several pages may sit in one file, as a JSON array or one
document after another). DynamoDB's export to S3 writes JSON lines `{"Item": {…}}`, usually
gzipped, that can be large: those are streamed line by line. A directory is read as an export
(every data file under it). Items become events through the attribute mapping of
`mapping.py` (`--preset`, `--map role=attr`); an item that does not map is quarantined with
its position and key attributes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Final

import orjson

from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.files import first_json_char, iter_lines, open_binary, read_head
from forensics.importers.mapping import (
    DEFAULT_PRESET,
    Mapping,
    describe_key,
    deserialize_item,
    infer_preset,
    item_to_record,
    resolve_mapping,
)
from forensics.importers.salvage import Gap, Piece, salvage
from forensics.model import Provenance, QuarantineRecord
from forensics.store import ImportSession

_EXPORT_LINE: Final = re.compile(rb'\A[\s\xef\xbb\xbf]*\{\s*"Item"\s*:\s*\{')
# one typed item per line, without the export's `Item` wrapper (what `jq -c '.Items[]'` saves)
_TYPED_LINE: Final = re.compile(
    rb'\A[\s\xef\xbb\xbf]*\{\s*"[^"\\]+"\s*:\s*\{\s*"(S|N|B|BOOL|NULL|M|L|SS|NS|BS)"\s*:'
)
_TYPE_TAGS: Final = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
_ITEMS: Final = re.compile(rb'"Items"\s*:\s*\[')
_TYPED: Final = re.compile(rb'\{\s*"(S|N|B|BOOL|NULL|M|L|SS|NS|BS)"\s*:|"ScannedCount"\s*:')
_MANIFESTS: Final = ("manifest-summary.json", "manifest-files.json")
PROGRESS_EVERY: Final = 1000


class DynamoDbJsonImporter:
    """`aws dynamodb scan` output and DynamoDB export-to-S3 JSON lines (gzip or not)."""

    name: ClassVar[str] = "dynamodb-json"
    summary: ClassVar[str] = "DynamoDB dumps: `aws dynamodb scan` output, S3 export JSON lines"
    priority: ClassVar[int] = 40

    def detect(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            return _looks_like_export(path) and any(True for _ in _export_files(path))
        return is_export_lines(head) or is_scan_output(head)

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        files = list(_export_files(path)) if path.is_dir() else [path]
        preset = options.preset
        if preset is None and files:
            preset = infer_preset(attribute_names(read_head(files[0], 65536)))
            if preset != DEFAULT_PRESET:
                session.note(
                    f"attribute mapping preset {preset!r} chosen from the items' attribute"
                    " names; pass --preset to choose another"
                )
        mapping = resolve_mapping(preset, options.mapping)
        for file in files:
            head = read_head(file)
            if is_export_lines(head):
                _import_export(file, mapping, session, options)
            else:
                _import_scan(file, mapping, session, options)


_ATTRIBUTE = re.compile(rb'"([^"\\]+)"\s*:\s*\{\s*"(?:S|N|B|BOOL|NULL|M|L|SS|NS|BS)"\s*:')


def attribute_names(head: bytes) -> set[str]:
    """Attribute names seen in the leading items (typed values), for choosing a preset."""
    return {m.decode(errors="replace") for m in _ATTRIBUTE.findall(head)}


def is_export_lines(head: bytes) -> bool:
    """Items one per line: an export-to-S3 data file (`{"Item": {…}}` lines), or typed items
    without the wrapper (`{"runId": {"S": …}, …}` lines)."""
    return bool(_EXPORT_LINE.match(head) or _TYPED_LINE.match(head))


def _typed_item(document: object) -> dict[str, Any] | None:
    """The item of one line: the export's `Item`, or the line itself when every value is a
    typed value (`{"S": …}`, `{"N": …}`, …)."""
    if not isinstance(document, dict):
        return None
    wrapped = document.get("Item")
    if isinstance(wrapped, dict):
        return wrapped
    if document and all(
        isinstance(v, dict) and len(v) == 1 and next(iter(v)) in _TYPE_TAGS
        for v in document.values()
    ):
        return document
    return None


def is_scan_output(head: bytes) -> bool:
    """`aws dynamodb scan` output: `Items` beside typed values or scan counters."""
    return first_json_char(head) in ("{", "[") and bool(_ITEMS.search(head) and _TYPED.search(head))


def _looks_like_export(directory: Path) -> bool:
    """An export directory (or its `data/` folder), told by its manifest or data folder."""
    for pattern in ("", "*/", "*/*/"):
        if any(directory.glob(pattern + "manifest-summary.json")):
            return True
    return directory.name == "data" or (directory / "data").is_dir()


def _export_files(directory: Path) -> Iterator[Path]:
    """Data files of an export directory (manifests and non-item files left out)."""
    for file in sorted(directory.rglob("*")):
        if file.is_file() and file.name not in _MANIFESTS and is_export_lines(read_head(file)):
            yield file


def _import_export(
    path: Path, mapping: Mapping, session: ImportSession, options: ImportOptions
) -> None:
    location = str(path)
    count = 0
    for number, line in iter_lines(path):
        if import_export_line(line, location, number, mapping, session, options):
            count += 1
        if options.progress and count and count % PROGRESS_EVERY == 0:
            options.progress(PROGRESS_EVERY)
    if options.progress and count % PROGRESS_EVERY:
        options.progress(count % PROGRESS_EVERY)


def import_export_line(
    line: bytes,
    location: str,
    number: int,
    mapping: Mapping,
    session: ImportSession,
    options: ImportOptions,
) -> bool:
    """One line of an export data file (line `number` of `location`) into `session`; whether
    it held an item (a line that does not is quarantined). Spark's conversion calls it too."""
    where = f"line {number}"
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        reason = f"{where}: invalid JSON: {exc}"
        _quarantine(session, location, where, reason, line.decode("utf-8", errors="replace"))
        return False
    typed = _typed_item(document)
    if typed is None:
        reason = f'{where}: not an item (no Item object, and not typed values such as {{"S": …}})'
        _quarantine(session, location, where, reason, _text(document))
        return False
    _import_item(typed, Provenance(location, where), mapping, session, options)
    return True


def export_line_run(line: bytes, mapping: Mapping) -> str | None:
    """The run id of an export line, read without mapping the item (None when there is none);
    it groups a run's lines before they are imported."""
    try:
        typed = _typed_item(orjson.loads(line))
    except orjson.JSONDecodeError:
        return None
    value = typed.get(mapping.roles["run_id"]) if typed else None
    if isinstance(value, dict) and len(value) == 1:
        inner = next(iter(value.values()))
        return inner if isinstance(inner, str) else None
    return None


def _import_scan(
    path: Path, mapping: Mapping, session: ImportSession, options: ImportOptions
) -> None:
    location = str(path)
    with open_binary(path) as fh:
        documents = list(_json_documents(fh.read(), lambda v: _is_page_or_item(v, mapping)))
    pages = [d for d in documents if not isinstance(d, Piece | Gap) or _is_scan_page(d)]
    number = 0
    for document in documents:
        if isinstance(document, Gap):
            reason = (
                f"damaged JSON at byte {document.offset} ({document.size} bytes): not a whole"
                " item or page; the whole items and pages before and after it were kept"
            )
            _quarantine(session, location, f"byte {document.offset}", reason, document.text)
            continue
        if isinstance(document, Piece) and not _is_scan_page(document):
            at = Provenance(location, f"byte {document.offset}")
            _import_item(_typed_item(document.value), at, mapping, session, options)
            continue
        page = document.value if isinstance(document, Piece) else document
        number += 1
        prefix = f"page {number} " if len(pages) > 1 else ""
        items = page.get("Items") if isinstance(page, dict) else None
        if not isinstance(items, list):
            where = prefix.strip() or "document"
            _quarantine(session, location, where, f"{where}: no Items array", _text(page))
            continue
        for index, typed in enumerate(items):
            where = f"{prefix}Items[{index}]"
            _import_item(typed, Provenance(location, where), mapping, session, options)
        if options.progress:
            options.progress(len(items))
        assert isinstance(page, dict)
        _note_scan_page(page, f"{location} {prefix}".strip(), len(items), session)


def _note_scan_page(page: dict[str, Any], where: str, items: int, session: ImportSession) -> None:
    if page.get("LastEvaluatedKey"):
        session.note(
            f"{where}: the scan stopped at LastEvaluatedKey "
            f"{_text(page['LastEvaluatedKey'])}: this is one page of a larger scan"
        )
    count = page.get("Count")
    if isinstance(count, int) and count != items:
        session.note(f"{where}: Count says {count} items, the page holds {items}")


def _import_item(
    typed: object,
    provenance: Provenance,
    mapping: Mapping,
    session: ImportSession,
    options: ImportOptions,
) -> None:
    try:
        item = deserialize_item(typed)
    except RecordError as exc:
        reason = f"{provenance.position} ({_typed_key(typed, mapping)}): {exc}"
        _quarantine(session, provenance.location, provenance.position, reason, _text(typed))
        return
    try:
        record = item_to_record(item, mapping, provenance, options.key)
    except RecordError as exc:
        reason = f"{provenance.position} ({describe_key(item, mapping)}): {exc}"
        _quarantine(session, provenance.location, provenance.position, reason, _text(typed))
        return
    session.add_event(record)


def _typed_key(typed: object, mapping: Mapping) -> str:
    """Key attributes of an item that did not deserialize, read straight from typed JSON."""
    if not isinstance(typed, dict):
        return "no key attributes"
    parts = []
    for name in mapping.key_attributes:
        value = typed.get(name)
        if isinstance(value, dict) and len(value) == 1:
            parts.append(f"{name}={next(iter(value.values()))!s:.80}")
    return ", ".join(parts) or "no key attributes"


def _json_documents(content: bytes, accept: Callable[[object], bool]) -> Iterator[object]:
    """Every page: one document, an array of pages, or documents one after another. From a
    document that does not parse on, the whole pages and items `accept` takes come as
    `Piece`s and the damage between them as `Gap`s (`importers.salvage`)."""
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    else:
        yield from document if isinstance(document, list) else [document]
        return
    # bytes that are not UTF-8 stay recognisable (lone surrogates): the item holding them
    # is quarantined by the store, never stored under an id changed by replacement
    text = content.decode("utf-8", errors="surrogateescape")
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    while position < len(text):
        try:
            document, end = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError):
            yield from salvage(text, position, accept)
            return
        yield from document if isinstance(document, list) else [document]
        position = len(text) - len(text[end:].lstrip(" \t\r\n"))


def _is_scan_page(value: object) -> bool:
    inner = value.value if isinstance(value, Piece) else value
    return isinstance(inner, dict) and isinstance(inner.get("Items"), list)


def _is_page_or_item(value: object, mapping: Mapping) -> bool:
    """A scan page, or a typed item naming one of the mapping's key attributes."""
    if _is_scan_page(value):
        return True
    item = _typed_item(value)
    return item is not None and any(name in item for name in mapping.key_attributes)


def _quarantine(
    session: ImportSession, location: str, position: str | None, reason: str, raw: str | None
) -> None:
    session.quarantine(QuarantineRecord(Provenance(location, position), reason, raw))


def _text(value: object) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
