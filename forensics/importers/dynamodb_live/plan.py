"""Which reads an import makes: parallel scan segments, or one Query per run, from the key schema.

`DescribeTable` tells where the run id can be looked up: the table's own hash key (Query the
table), a global secondary index whose hash key is the run id (Query the index), or nowhere
(Scan with a filter on the run id). When the run's items are sorted by event id, a re-import
starts from the run's high-water mark in the store, minus a look-back window for ULID ids,
because an event id is minted before its write commits: a late commit can sort below the mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from forensics.errors import InputError
from forensics.importers.dynamodb_live.pages import Request
from forensics.importers.mapping import Mapping

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FILTER_VALUES: Final = 100  # DynamoDB's limit on the operands of one IN


@dataclass(frozen=True)
class Reads:
    """How to read: scan segments or per-run queries, plus what a user should know."""

    table: str
    segments: int = 1
    runs: tuple[str, ...] = ()
    page_size: int | None = None
    consistent: bool = False
    marks: dict[str, str] | None = None  # run id -> lowest event id to read (incremental)


@dataclass(frozen=True)
class KeySchema:
    """The parts of DescribeTable the plan needs."""

    hash_key: str
    range_key: str | None
    types: dict[str, str]  # attribute -> S | N | B (key attributes only)
    indexes: dict[str, tuple[str, str | None, str]]  # name -> (hash, range, projection)
    item_count: int | None = None

    @classmethod
    def from_description(cls, table: dict[str, Any]) -> KeySchema:
        hash_key, range_key = _keys(table.get("KeySchema", []))
        indexes = {}
        for index in table.get("GlobalSecondaryIndexes", []) or []:
            ihash, irange = _keys(index.get("KeySchema", []))
            projection = index.get("Projection", {}).get("ProjectionType", "ALL")
            indexes[str(index["IndexName"])] = (ihash, irange, str(projection))
        types = {
            str(d["AttributeName"]): str(d["AttributeType"])
            for d in table.get("AttributeDefinitions", [])
        }
        count = table.get("ItemCount")
        return cls(hash_key, range_key, types, indexes, count if isinstance(count, int) else None)

    def describe(self) -> str:
        return f"HASH {self.hash_key}" + (f", RANGE {self.range_key}" if self.range_key else "")


def _keys(schema: list[dict[str, Any]]) -> tuple[str, str | None]:
    by_type = {str(k["KeyType"]): str(k["AttributeName"]) for k in schema}
    return by_type.get("HASH", ""), by_type.get("RANGE")


def key_notes(schema: KeySchema, mapping: Mapping) -> list[str]:
    """A note when the table's key does not name the attributes the mapping expects."""
    expected = {mapping.hash_key, *([mapping.range_key] if mapping.range_key else [])}
    actual = {schema.hash_key, *([schema.range_key] if schema.range_key else [])}
    if expected == actual:
        return []
    return [
        f"the table is keyed {schema.describe()}, preset {mapping.preset} expects "
        f"{mapping.key_description().split(';')[0]}: if items are quarantined for missing "
        "attributes, pick another --preset or --map the roles"
    ]


def scan_requests(
    reads: Reads, filter_runs: tuple[str, ...] = (), run_attr: str = ""
) -> list[Request]:
    """One request per segment (with a run-id filter when runs are asked for)."""
    base: dict[str, Any] = {"ConsistentRead": reads.consistent}
    if reads.page_size:
        base["Limit"] = reads.page_size
    requests = []
    chunks = [
        filter_runs[i : i + _FILTER_VALUES] for i in range(0, len(filter_runs), _FILTER_VALUES)
    ]
    for chunk_no, chunk in enumerate(chunks or [()]):
        params = dict(base)
        if chunk:
            names = ", ".join(f":r{i}" for i in range(len(chunk)))
            params["FilterExpression"] = f"#run IN ({names})"
            params["ExpressionAttributeNames"] = {"#run": run_attr}
            params["ExpressionAttributeValues"] = {f":r{i}": {"S": r} for i, r in enumerate(chunk)}
        tag = f"filter {chunk_no + 1} " if len(chunks) > 1 else ""
        for segment in range(reads.segments):
            split = {"Segment": segment, "TotalSegments": reads.segments}
            label = (
                f"{tag}segment {segment}/{reads.segments}" if reads.segments > 1 else f"{tag}scan"
            )
            requests.append(
                Request(
                    "scan",
                    reads.table,
                    label.strip(),
                    params | (split if reads.segments > 1 else {}),
                )
            )
    return requests


def run_requests(
    reads: Reads,
    schema: KeySchema,
    run_attr: str,
    event_attr: str | None = None,
    preferred: tuple[str, ...] = (),
) -> tuple[list[Request], list[str]]:
    """Per-run queries on the table or a run index; a filtered scan when neither has the key.

    `event_attr` is the event id attribute (incremental reads need it as the sort key);
    `preferred` names the layout's own indexes, tried first.
    """
    if schema.hash_key == run_attr:
        return _queries(
            reads, None, run_attr, event_attr is not None and schema.range_key == event_attr, schema
        ), []
    index = _run_index(schema, run_attr, preferred)
    if index is None:
        note = (
            f"no key or index of {reads.table!r} starts with {run_attr!r}: the whole table is "
            "scanned with a filter on the run ids"
        )
        return scan_requests(reads, reads.runs, run_attr), [note]
    name, (_, irange, projection) = index
    if projection != "ALL":
        raise InputError(
            f"index {name!r} (the only way to look up {run_attr!r}) projects {projection}, "
            "so its items lack attributes the import needs",
            hint="drop --run to scan the table instead",
        )
    return _queries(
        reads, name, run_attr, event_attr is not None and irange == event_attr, schema
    ), [f"runs are read through index {name!r} (eventually consistent)"]


def _run_index(
    schema: KeySchema, run_attr: str, preferred: tuple[str, ...]
) -> tuple[str, tuple[str, str | None, str]] | None:
    candidates = {n: v for n, v in schema.indexes.items() if v[0] == run_attr}
    for name in preferred:  # the layout's own index first
        if name in candidates:
            return name, candidates[name]
    return next(iter(sorted(candidates.items())), None)


def _queries(
    reads: Reads, index: str | None, run_attr: str, by_event_id: bool, schema: KeySchema
) -> list[Request]:
    requests = []
    range_attr = schema.indexes[index][1] if index else schema.range_key
    for run in reads.runs:
        names = {"#run": run_attr}
        values: dict[str, Any] = {":run": {schema.types.get(run_attr, "S"): run}}
        condition = "#run = :run"
        mark = (reads.marks or {}).get(run) if by_event_id else None
        if mark and range_attr:
            condition += " AND #event >= :mark"
            names["#event"] = range_attr
            values[":mark"] = {"S": mark}
        params: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if index:
            params["IndexName"] = index
        else:
            params["ConsistentRead"] = reads.consistent
        if reads.page_size:
            params["Limit"] = reads.page_size
        requests.append(Request("query", reads.table, f"run {run}", params))
    return requests


def lower_bound(event_id: str, lookback_ms: int) -> str | None:
    """The smallest id a ULID-minted event `lookback_ms` before `event_id` could have.

    None when the id is not a ULID (slot ids and others are re-read from the start).
    """
    prefix, sep, body = event_id.rpartition("_")
    if len(body) != 26 or any(c not in _ALPHABET for c in body):
        return None
    millis = 0
    for char in body[:10]:
        millis = millis * 32 + _ALPHABET.index(char)
    millis = max(0, millis - lookback_ms)
    chars = []
    for _ in range(10):
        millis, digit = divmod(millis, 32)
        chars.append(_ALPHABET[digit])
    return prefix + sep + "".join(reversed(chars))
