"""World-postgres tables exported as CSV (`COPY (SELECT * FROM workflow.<table>) TO …
(FORMAT csv, HEADER)`): their rows turned into the rows the binary COPY of an import
yields, then stored by the importer's own functions (`events.EventBatches`,
`decoding.decode_columns`, `entities.records`), so eventData, run records and entity
records come out exactly as `import postgres` stores them.

A CSV file names its table (`workflow_events.csv`, `workflow.workflow_runs.csv.gz`,
`workflow_steps-0001.csv`, …). CSV carries no column types, so each column's kind is taken
from its name as world-postgres defines it (`*_cbor` bytea, `*_at` times, the jsonb
payload columns, `attempt`, `seq`, `is_*` flags). An empty unquoted field is NULL, `""` an empty
string, as PostgreSQL writes them. A row whose values do not parse is quarantined with its
file, line and reason.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any, Final

import orjson
import pyarrow as pa

from forensics.decode import to_jsonable
from forensics.importers.base import RecordError
from forensics.importers.postgres import entities as ent
from forensics.importers.postgres.decoding import Decoded, decode_columns
from forensics.importers.postgres.events import EventBatches
from forensics.importers.postgres.probe import EVENTS, HOOKS, RUNS, SLOTS, STEPS, WAITS
from forensics.importers.postgres.selects import EVENT_PLAN, KNOWN_EVENT_COLUMNS
from forensics.importers.records import Payloads
from forensics.model import Provenance, QuarantineRecord
from forensics.store import ImportSession

CSV_TABLES: Final = (EVENTS, RUNS, STEPS, HOOKS, WAITS, SLOTS)
_NAME: Final = re.compile(
    r"^(?:[A-Za-z_][\w]*\.)?(" + "|".join(CSV_TABLES) + r")(?:[-.][\w.-]*?)?\.csv(?:\.gz)?$"
)
_JSON: Final = frozenset({"payload", "input", "output", "execution_context", "metadata",
                          "attributes"})  # fmt: skip
_BOOL: Final = frozenset({"is_webhook", "is_system", "eof"})
_TIME: Final = frozenset({"retry_after"})
_INT: Final = frozenset({"attempt", "seq", "seq_in_band"})
_EPOCH_2000: Final = datetime(2000, 1, 1, tzinfo=UTC)
_ZONE: Final = re.compile(r"([+-]\d\d)$")
_FIELD: Final = re.compile(r'(?:"((?:[^"]+|"")*)"|([^,"]*))(,|\Z)', re.DOTALL)

Row = tuple[str, int, dict[str, str | None]]  # file, line, {column: value}


def table_of(path: str) -> str | None:
    """The world-postgres table a CSV file's name names, or None."""
    found = _NAME.match(path.rsplit("/", 1)[-1])
    return found.group(1) if found else None


def run_column(table: str) -> str:
    return "id" if table == RUNS else "run_id"


class CsvError(ValueError):
    """A file that is not CSV as PostgreSQL writes it."""


def csv_rows(text: Iterable[str]) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(line where the record starts, {column: value}) of every record after the header.

    PostgreSQL's CSV tells NULL (an empty field) from an empty string (`""`), which
    Python's `csv` module reads alike, so records are split here: lines are joined while a
    quote is open, and each record is cut into fields by one expression."""
    header: list[str] | None = None
    start, pending = 0, ""
    for number, line in enumerate(text, start=1):
        if not pending:
            start = number
        pending += line
        if pending.count('"') % 2:
            continue  # a quoted value goes on over the line's end
        record, pending = pending.rstrip("\r\n"), ""
        if not record:
            continue
        try:
            values = split_record(record, start)
        except CsvError as exc:
            if header is None:
                raise
            yield start, {"\0": str(exc)}
            continue
        if header is None:
            header = [v or "" for v in values]
            continue
        row = dict(zip(header, values, strict=False))
        if len(values) != len(header):
            row["\0"] = f"{len(values)} values for {len(header)} columns"
        yield start, row
    if pending:
        raise CsvError(f"line {start}: a quoted value is not closed by the end of the file")


def split_record(record: str, line: int) -> list[str | None]:
    """The fields of one CSV record: quoted ones unquoted, unquoted empty ones None."""
    fields: list[str | None] = []
    pos = 0
    while True:
        found = _FIELD.match(record, pos)
        if found is None:
            raise CsvError(f"line {line}: not CSV at character {pos + 1}")
        quoted, plain, sep = found.groups()
        fields.append(quoted.replace('""', '"') if quoted is not None else (plain or None))
        pos = found.end()
        if not sep:
            return fields


def kind_of(table: str, column: str) -> str:
    """How a column of a world-postgres table is decoded (the kinds `selects` uses)."""
    if column.endswith("_cbor") or (column == "data" and table != EVENTS):
        return "bytes"
    if column.endswith("_at") or column in _TIME:
        return "time"
    if column in _JSON:
        return "json"
    if column in _BOOL:
        return "bool"
    if column in _INT or (column == "spec_version" and table != RUNS):
        return "int"
    return "text"


def pg_time(text: str) -> int | None:
    """A PostgreSQL timestamp as written in CSV, as µs since 2000-01-01 UTC (None: ±infinity)."""
    if text in ("infinity", "-infinity"):
        return None
    try:
        moment = datetime.fromisoformat(_ZONE.sub(r"\1:00", text))
    except ValueError:
        raise RecordError(f"not a timestamp: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH_2000
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _value(kind: str, column: str, text: str | None) -> Any:
    if text is None:
        return None
    if kind == "time":
        return pg_time(text)
    if kind == "bytes":
        if not text.startswith("\\x"):
            raise RecordError(f"{column}: not bytea hex output (\\x…)")
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise RecordError(f"{column}: bad hex digits") from None
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise RecordError(f"{column}: not an integer: {text!r}") from None
    if kind == "bool":
        if text not in ("t", "f", "true", "false"):
            raise RecordError(f"{column}: not a boolean: {text!r}")
        return text in ("t", "true")
    return text


def _checked(row: dict[str, str | None], table: str) -> None:
    if "\0" in row:
        raise RecordError(str(row["\0"]))
    if not row.get(run_column(table)):
        raise RecordError(f"no {run_column(table)}")


def event_row(row: dict[str, str | None]) -> tuple[Any, ...]:
    """The event row as the binary COPY yields it (`selects.EVENT_PLAN` and `extra`)."""
    _checked(row, EVENTS)
    if not row.get("id") or not row.get("type"):
        raise RecordError("no id or type")
    kinds = {"time": "time", "bytea": "bytes", "int4": "int"}
    out = [_value(kinds.get(kind, "text"), name, row.get(name)) for name, kind in EVENT_PLAN]
    extra = {k: _value(kind_of(EVENTS, k), k, v) if kind_of(EVENTS, k) == "int" else v
             for k, v in row.items() if k not in KNOWN_EVENT_COLUMNS and v is not None}  # fmt: skip
    # in the order jsonb keeps an object's keys (shorter first, then by bytes), as the
    # import's `jsonb_build_object` has them
    extra = {k: extra[k] for k in sorted(extra, key=lambda k: (len(k.encode()), k.encode()))}
    return (*out, orjson.dumps(extra).decode() if extra else None)


class TableImport:
    """One chunk's rows of every table, stored through the PostgreSQL importer's functions."""

    def __init__(self, session: ImportSession, key: bytes | None) -> None:
        self.session = session
        self.key = key
        self.cache: dict[tuple[str, int | None, bytes], Decoded] = {}

    def reject(self, where: tuple[str, int], table: str, reason: str, raw: object) -> None:
        text = orjson.dumps(to_jsonable(raw), option=orjson.OPT_NON_STR_KEYS).decode()
        self.session.quarantine(
            QuarantineRecord(Provenance(where[0], f"line {where[1]}"), f"{table} row: {reason}",
                             text)
        )  # fmt: skip

    def events(self, rows: Sequence[Row]) -> None:
        good: list[tuple[Any, ...]] = []
        where: list[tuple[str, int]] = []
        for location, line, row in rows:
            try:
                good.append(event_row(row))
                where.append((location, line))
            except RecordError as exc:
                self.reject((location, line), EVENTS, str(exc), row)
        if not good:
            return
        batches = EventBatches(where[0][0], self.key, lambda q: None, {})
        pending = batches.split(good)
        decoded, rejects = decode_columns(pending.work, self.key, self.cache)
        built = batches.build(pending, decoded, [])
        assert built is not None
        if rejects:
            keep = [True] * len(good)
            for index, reason in rejects:
                keep[index] = False
                self.reject(where[index], EVENTS, reason, rows_raw(good[index]))
            built = built.filter(pa.array(keep))
        if built.num_rows:
            self.session.add_arrow(built)

    def entities(self, table: str, rows: Sequence[Row], slots: dict[str, list[dict[str, Any]]]
                 ) -> set[str]:  # fmt: skip
        """Run or entity records of `rows`; returns the run ids of run rows stored."""
        runs: set[str] = set()
        flat: list[Any] = []
        by_columns: dict[tuple[str, ...], list[Row]] = {}
        for item in rows:
            by_columns.setdefault(tuple(item[2]), []).append(item)
        reasons: list[str] = []

        def refused(_row: dict[str, Any], reason: str) -> None:
            reasons.append(reason)

        for names, group in by_columns.items():
            columns = [(name, kind_of(table, name)) for name in names if name != "\0"]
            shaper = ent.Shaper(table, columns)
            payloads = Payloads(self.key)
            for location, line, row in group:
                reasons.clear()
                try:
                    _checked(row, table)
                    values = [_value(kind, name, row.get(name)) for name, kind in columns]
                except RecordError as exc:
                    self.reject((location, line), table, str(exc), row)
                    continue
                if table == SLOTS:
                    for run_id, found in ent.slot_rows(shaper, [values]).items():
                        slots.setdefault(run_id, []).extend(found)
                    continue
                built = ent.records(shaper, [values], Provenance(location), payloads, slots,
                                    refused)  # fmt: skip
                if reasons:
                    self.reject((location, line), table, reasons[0], row)
                    continue
                flat += [record.row() for record in built]
                if table == RUNS:
                    runs.add(str(row[run_column(table)]))
        if flat and table == RUNS:
            self.session.add_run_rows(flat)
        elif flat:
            self.session.add_entity_rows(flat)
        return runs

    def store(self, rows: Sequence[tuple[str, Row]]) -> None:
        """Store a chunk's rows, (table, row) each: slots first (run rows carry them)."""
        tables: dict[str, list[Row]] = {}
        for table, row in rows:
            tables.setdefault(table, []).append(row)
        slots: dict[str, list[dict[str, Any]]] = {}
        self.entities(SLOTS, tables.get(SLOTS, []), slots)
        self.events(tables.get(EVENTS, []))
        for table in (RUNS, STEPS, HOOKS, WAITS):
            if table in tables:
                self.entities(table, tables[table], slots)


def rows_raw(row: tuple[Any, ...]) -> dict[str, Any]:
    """An event row (EVENT_PLAN order) as {column: value}, for quarantine."""
    names = [name for name, _ in EVENT_PLAN] + ["extra"]
    return dict(zip(names, row, strict=True))


def open_text(raw: IO[bytes]) -> IO[str]:
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")
