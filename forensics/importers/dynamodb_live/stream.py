"""Following a table's DynamoDB Stream: import the items written since the saved positions.

A stream is a set of shards, each an ordered run of records; a shard closes (and children
take over) when DynamoDB splits it. The position read so far is kept per shard in the
store's marks (source: the table's location, scope: `stream <arn>`; item: shard id; mark:
`after <sequence number>`, `start` for a shard not read yet, `done` for a closed shard read
to its end), saved after the import that stored the records: a follower that stops or
fails in between reads those records again, and the store keeps one copy of each event.

A stream holds 24 hours of writes and says nothing of what came before it was enabled, so
a stream without saved positions (the first pass, a stream re-enabled under a new ARN) is
preceded by one whole Scan of the table; so is a saved position the stream has trimmed away
(the follower was off longer than the stream keeps records). The notes say so. Parent
shards are read before their children, so an item's records keep their order. Only
DescribeStream, GetShardIterator and GetRecords are called on the stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from forensics.errors import ForensicsError
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.dynamodb_live.client import RAW_PAGE, Connection, explain
from forensics.importers.mapping import Mapping, deserialize_item, item_to_record
from forensics.model import ImportSummary, Provenance, QuarantineRecord
from forensics.store import Store

SOURCE_KIND: Final = "dynamodb"
START: Final = "start"
DONE: Final = "done"
AFTER: Final = "after "
PAGE_LIMIT: Final = 1000  # records per GetRecords (the most DynamoDB allows)
MAX_PAGES: Final = 200  # per shard and pass; the next pass goes on from there
PASS_RECORDS: Final = 50_000  # held in memory by one pass at most (then stored; go on next)
_TRIMMED: Final = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})


class StreamLost(Exception):
    """A saved position the stream no longer holds (trimmed, or the stream is gone)."""


SCANNED: Final = "table-scanned"  # an item beside the shards: the whole Scan was done


def scope(stream_arn: str) -> str:
    return f"stream {stream_arn}"


@dataclass
class ShardRead:
    """What reading the shards of one pass gave: records to store and the new positions."""

    images: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (where, image)
    marks: dict[str, str] = field(default_factory=dict)
    removed: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1


def shards(conn: Connection, stream_arn: str, read: ShardRead) -> list[dict[str, Any]]:
    """Every shard of the stream (DescribeStream, paged), parents before children."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = _call(conn, "describe_stream", read, **params)["StreamDescription"]
        found.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            break
        params["ExclusiveStartShardId"] = last
    ids = {s["ShardId"] for s in found}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()
    while len(ordered) < len(found):
        progress = False
        for shard in found:
            parent = shard.get("ParentShardId")
            if shard["ShardId"] in placed or (parent in ids and parent not in placed):
                continue
            ordered.append(shard)
            placed.add(shard["ShardId"])
            progress = True
        if not progress:  # a cycle cannot happen; keep the rest in listing order anyway
            ordered.extend(s for s in found if s["ShardId"] not in placed)
            break
    return ordered


def read_shards(conn: Connection, stream_arn: str, saved: dict[str, str], read: ShardRead) -> None:
    """Read each shard from its saved position until it is caught up or closed."""
    done = {shard for shard, mark in saved.items() if mark == DONE}
    listed = shards(conn, stream_arn, read)
    ids = {s["ShardId"] for s in listed}
    for shard in listed:
        shard_id = shard["ShardId"]
        parent = shard.get("ParentShardId")
        if shard_id in done:
            continue
        if (parent in ids and parent not in done) or len(read.images) >= PASS_RECORDS:
            read.marks.setdefault(shard_id, saved.get(shard_id, START))
            continue  # its parent is not read to its end yet, or the pass is full: next pass
        mark = saved.get(shard_id, START)
        for position in _read_shard(conn, stream_arn, shard_id, mark, read):
            read.marks[shard_id] = position
        if read.marks.get(shard_id) == DONE:
            done.add(shard_id)
        read.marks.setdefault(shard_id, mark)


def _read_shard(
    conn: Connection, stream_arn: str, shard_id: str, mark: str, read: ShardRead
) -> Iterator[str]:
    """Records of one shard into `read.images`; yields the positions reached."""
    params: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard_id}
    if mark.startswith(AFTER):
        params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=mark[len(AFTER) :])
    else:
        params["ShardIteratorType"] = "TRIM_HORIZON"
    iterator = _call(conn, "get_shard_iterator", read, **params).get("ShardIterator")
    for _ in range(MAX_PAGES):
        if not iterator:
            yield DONE  # a closed shard read to its end
            return
        response = _call(conn, "get_records", read, ShardIterator=iterator, Limit=PAGE_LIMIT)
        page = response.get(RAW_PAGE) or response
        records = page.get("Records") or []
        last = None
        for record in records:
            change = record.get("dynamodb") or {}
            last = change.get("SequenceNumber") or last
            if record.get("eventName") == "REMOVE":
                read.removed += 1
            elif "NewImage" in change:
                where = f"stream shard {shard_id} sequence {change.get('SequenceNumber')}"
                read.images.append((where, change["NewImage"]))
        if last:
            yield AFTER + str(last)
        iterator = page.get("NextShardIterator")
        if (not records and iterator) or len(read.images) >= PASS_RECORDS:
            return  # caught up with an open shard, or enough for one pass


def _call(conn: Connection, operation: str, read: ShardRead, **params: Any) -> dict[str, Any]:
    read.count(operation)
    try:
        response: dict[str, Any] = getattr(conn.streams(), operation)(**params)
    except ForensicsError:
        raise
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in _TRIMMED:
            raise StreamLost(f"{code} on {operation}") from None
        raise explain(exc, conn, conn.target.table, _operation_name(operation)) from None
    return response


def _operation_name(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def store_records(
    store: Store,
    conn: Connection,
    mapping: Mapping,
    options: ImportOptions,
    stream_arn: str,
    read: ShardRead,
    notes: list[str],
) -> ImportSummary:
    """One import of the records read, then the shard positions (see the module's note)."""
    location = conn.location(conn.target.table)
    described = {"table": conn.target.table, "stream": stream_arn, "region": conn.region}
    with store.begin_import(SOURCE_KIND, location, described) as session:
        for note in notes:
            session.note(note)
        for where, image in read.images:
            provenance = Provenance(location, where)
            try:
                session.add_event(
                    item_to_record(deserialize_item(image), mapping, provenance, options.key)
                )
            except RecordError as exc:
                reason = f"{where}: {exc}"
                session.quarantine(QuarantineRecord(provenance, reason, str(image)[:2000]))
        calls = ", ".join(f"{n} {_operation_name(op)}" for op, n in sorted(read.calls.items()))
        text = f"read {len(read.images)} stream record(s) ({calls})"
        if read.removed:
            text += f"; {read.removed} item(s) deleted from the table (the store keeps them)"
        session.note(text)
        summary = session.finish()
        session.save_marks(location, scope(stream_arn), read.marks)
    return summary
