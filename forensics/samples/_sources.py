"""The single-file samples: a world-postgres JSON Lines export, saved API v1 pages and an
`aws dynamodb scan` of the hosted backend's events table (incident-dump attributes).

Write times in the dump follow the story: an event is written a few milliseconds after it
was minted unless the story says when, and never before the event written before it. Every
fenced write carries `lastKnownEventId`: the event the story names, else the one before it
in the log (the writer had loaded the whole log, or chains from its own previous write).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from forensics.samples._formats import (
    b64,
    compact,
    event_data_cbor,
    event_object,
    gzip_bytes,
    uint8array,
)
from forensics.samples._kit import FENCED_TYPES, SPEC_VERSION, Event, Story, epoch_ms, iso

ItemValue = dict[str, object]


# -- world-postgres JSON Lines --------------------------------------------------------------


def postgres_row_event(row: dict[str, Any]) -> dict[str, object]:
    """A `workflow_events` row (with decoded CBOR) as the event object the world returns."""
    created = datetime.fromisoformat(row["created_at"])
    obj: dict[str, object] = {"eventType": row["type"], "specVersion": row["spec_version"]}
    if row["correlation_id"]:
        obj["correlationId"] = row["correlation_id"]
    if row.get("payload_cbor_decoded") is not None:
        obj["eventData"] = row["payload_cbor_decoded"]
    obj["runId"] = row["run_id"]
    obj["eventId"] = row["id"]
    obj["createdAt"] = iso(epoch_ms(created))
    return obj


def jsonl_file(rows: Iterable[dict[str, Any]], stories: Iterable[Story]) -> bytes:
    """One event object per line, ordered by run and event id, gzipped."""
    events = [postgres_row_event(row) for row in rows]
    for story in stories:
        events += [event_object(story.run_id, e, uint8array) for e in story.events]
    events.sort(key=lambda e: (str(e["runId"]), str(e["eventId"])))
    text = "".join(compact(e) + "\n" for e in events)
    return gzip_bytes(text.encode())


# -- hosted API v1 pages --------------------------------------------------------------------


def api_pages(story: Story, limit: int) -> list[dict[str, object]]:
    """`GET /v1/runs/{runId}/events?limit=…` responses, one per page, payloads as base64."""
    events = [event_object(story.run_id, e, b64) for e in story.events]
    pages: list[dict[str, object]] = []
    for start in range(0, len(events), limit):
        chunk = events[start : start + limit]
        more = start + limit < len(events)
        cursor = b64(f"{story.run_id}:{chunk[-1]['eventId']}".encode()) if more else None
        pages.append({"data": chunk, "cursor": cursor, "hasMore": more})
    return pages


# -- DynamoDB scan -------------------------------------------------------------------------


def write_times(story: Story, seed: str) -> dict[str, int]:
    """When the backend wrote each event (the story's value, else 2-5 ms after minting)."""
    rng = random.Random(seed)
    times: dict[str, int] = {}
    last = 0
    for event in story.events:
        when = event.written_ms if event.written_ms is not None else event.ms + rng.randint(2, 5)
        if when <= last:
            raise ValueError(f"{story.run_id}: {event.label} written before its predecessor")
        times[event.event_id] = last = when
    return times


def fences(story: Story) -> dict[str, str]:
    """The tail each fenced write was decided from (`lastKnownEventId`)."""
    out: dict[str, str] = {}
    for before, event in zip(story.events, story.events[1:], strict=False):
        if event.event_type in FENCED_TYPES:
            out[event.event_id] = story[event.fence].event_id if event.fence else before.event_id
        elif event.fence:
            raise ValueError(f"{event.label}: {event.event_type} writes are never fenced")
    return out


def dynamodb_item(story: Story, event: Event, written: int, fence: str | None) -> ItemValue:
    item: ItemValue = {
        "runId": {"S": story.run_id},
        "eventId": {"S": event.event_id},
        "eventType": {"S": event.event_type},
    }
    if event.correlation_id:
        item["correlationId"] = {"S": event.correlation_id}
    item["createdAt"] = {"S": iso(event.ms)}
    item["specVersion"] = {"N": str(SPEC_VERSION)}
    if event.data is not None:
        item["eventData"] = {"B": b64(event_data_cbor(event.data))}
    item["writtenAt"] = {"S": iso(written)}
    if fence is not None:
        item["lastKnownEventId"] = {"S": fence}
    return item


def dynamodb_scan(stories: Iterable[Story]) -> dict[str, object]:
    """`aws dynamodb scan --table-name workflow_events` output for the stories' runs."""
    items: list[ItemValue] = []
    for story in stories:
        written = write_times(story, f"samples:{story.run_id}:written")
        fenced = fences(story)
        for event in story.events:
            items.append(
                dynamodb_item(story, event, written[event.event_id], fenced.get(event.event_id))
            )
    return {
        "Items": items,
        "Count": len(items),
        "ScannedCount": len(items),
        "ConsumedCapacity": None,
    }
