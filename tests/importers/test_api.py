"""Saved hosted-API responses: v1 JSON pages, v2/v3 CBOR pages, v4 frame streams."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path
from typing import Any

import cbor2
import pytest
from wire_helpers import (
    ImportRunner,
    base64_payloads,
    cbor_page,
    end_marker,
    event_frame,
    frame,
    frame_offsets,
    frame_stream,
    local_events,
    page,
    payload_bytes,
    runs_of,
    with_payload,
)

from forensics.importers.api import ApiV1Importer, ApiV4Importer, read_frames
from forensics.importers.base import ImportOptions
from forensics.importers.files import read_head
from forensics.store import Store

V1 = ApiV1Importer()
V4 = ApiV4Importer()


@pytest.fixture
def events() -> list[dict[str, Any]]:
    """Every event of three real world-local runs (one has a payload-less run_started)."""
    return runs_of(local_events(), 3)


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def hashes(tmp_store: Store, import_id: int) -> set[tuple[str, str, str]]:
    _, rows = tmp_store.query(
        "SELECT run_id, event_id, content_hash FROM events WHERE import_id = ?", [import_id]
    )
    return {(str(r[0]), str(r[1]), str(r[2])) for r in rows}


def formats(tmp_store: Store, import_id: int) -> dict[str, str]:
    _, rows = tmp_store.query(
        "SELECT event_id, payload_format FROM events WHERE import_id = ?", [import_id]
    )
    return {str(r[0]): str(r[1]) for r in rows}


def quarantine(tmp_store: Store, import_id: int) -> list[tuple[str, str, str | None]]:
    _, rows = tmp_store.query(
        "SELECT position, reason, raw FROM quarantine WHERE import_id = ? ORDER BY position",
        [import_id],
    )
    return [(str(r[0]), str(r[1]), r[2]) for r in rows]


# -- v1 JSON --------------------------------------------------------------------------------


def test_v1_page_with_uint8array_payloads(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    path = write_json(tmp_path / "page.json", page(events))
    assert V1.detect(path, read_head(path))
    summary = run_import(V1, path)
    assert (summary.read, summary.stored, summary.quarantined, summary.status) == (
        len(events),
        len(events),
        0,
        "ok",
    )
    with_bytes = {e["eventId"] for e in events if payload_bytes(e)}
    assert with_bytes
    assert {
        k for k, v in formats(tmp_store, summary.import_id).items() if v == "devl"
    } == with_bytes
    _, rows = tmp_store.query(
        "SELECT source_position FROM events WHERE event_id = ?", [events[1]["eventId"]]
    )
    assert rows == [("page 1 event 2",)]


def test_v1_base64_text_imports_like_markers(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    markers = run_import(V1, write_json(tmp_path / "a.json", page(events)))
    text_path = write_json(tmp_path / "b.json", page(base64_payloads(events)))
    assert V1.detect(text_path, read_head(text_path))
    text = run_import(V1, text_path)
    assert markers.stored == len(events)
    # Same run, event id and content hash: nothing new is stored and nothing conflicts.
    assert (text.read, text.stored, text.conflicts) == (len(events), 0, 0)


def test_v1_remote_refs(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    with_data = [e for e in events if payload_bytes(e)]
    inline, offloaded = with_data[0], with_data[1]
    raw = payload_bytes(inline)
    assert raw is not None
    inline_ref = {
        "_type": "RemoteRef",
        "_ref": "dbrf:abc",
        "_data": base64.b64encode(raw).decode(),
        "_ct": "application/octet-stream",
    }
    s3_ref = {"_type": "RemoteRef", "_ref": "s3rf:bucket/key", "_ct": "application/octet-stream"}
    refs = [with_payload(inline, inline_ref), with_payload(offloaded, s3_ref)]
    path = write_json(tmp_path / "refs.json", page(refs))
    assert V1.detect(path, read_head(path))
    summary = run_import(V1, path)
    assert summary.stored == 2
    _, rows = tmp_store.query(
        "SELECT event_id, payload_format, payload_raw IS NOT NULL, payload_decoded"
        " FROM events WHERE import_id = ? ORDER BY event_id",
        [summary.import_id],
    )
    got = {r[0]: r[1:] for r in rows}
    assert got[inline["eventId"]][:2] == ("devl", True)
    fmt, has_raw, decoded = got[offloaded["eventId"]]
    assert (fmt, has_raw) == ("ref", False)
    assert json.loads(decoded)["__ref"] == "s3rf:bucket/key"


def test_v1_array_of_pages_and_has_more_note(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    half = len(events) // 2
    pages = [page(events[:half], "c1", True), page(events[half:], "c2", True)]
    summary = run_import(V1, write_json(tmp_path / "pages.json", pages))
    assert summary.stored == len(events)
    assert any("hasMore=true" in n and "'c2'" in n for n in summary.notes)
    _, rows = tmp_store.query(
        "SELECT source_position FROM events WHERE event_id = ?", [events[half]["eventId"]]
    )
    assert rows == [("page 2 event 1",)]


def test_v1_pages_one_after_another(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner
) -> None:
    path = tmp_path / "appended.json"
    path.write_text(json.dumps(page(events[:3])) + "\n" + json.dumps(page(events[3:])) + "\n")
    summary = run_import(V1, path)
    assert (summary.stored, summary.notes) == (len(events), ())


def test_v1_broken_event_and_page_quarantined(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    broken = dict(events[0])
    del broken["eventType"]
    pages = [page([*events[:2], broken]), {"items": []}]
    summary = run_import(V1, write_json(tmp_path / "broken.json", pages))
    assert (summary.stored, summary.quarantined, summary.status) == (2, 2, "partial")
    rows = quarantine(tmp_store, summary.import_id)
    assert [(p, r) for p, r, _ in rows] == [
        ("page 1 event 3", "missing eventType"),
        ("page 2", "not an API page (no data array)"),
    ]


def test_v1_not_claimed_for_hydrated_inspect_output(tmp_path: Path) -> None:
    hydrated = [
        with_payload(e, {"orderId": 1}) if payload_bytes(e) else e
        for e in runs_of(local_events(), 1)
    ]
    path = write_json(tmp_path / "inspect.json", page(hydrated))
    assert not V1.detect(path, read_head(path))
    assert not V4.detect(path, read_head(path))


# -- v2/v3 CBOR -----------------------------------------------------------------------------


def test_cbor_pages_import_like_json(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    path = tmp_path / "page.cbor"
    path.write_bytes(cbor2.dumps(cbor_page(events, cursor="next", more=False)))
    head = read_head(path)
    assert V1.detect(path, head)
    assert not V4.detect(path, head)
    cbor = run_import(V1, path)
    assert (cbor.read, cbor.stored, cbor.status) == (len(events), len(events), "ok")
    json_import = run_import(V1, write_json(tmp_path / "page.json", page(events)))
    assert (json_import.stored, json_import.conflicts) == (0, 0)

    array = tmp_path / "pages.cbor"
    array.write_bytes(cbor2.dumps([cbor_page(events[:2]), cbor_page(events[2:])]))
    assert V1.detect(array, read_head(array))
    assert run_import(V1, array).read == len(events)


def test_corrupt_cbor_page_is_quarantined(tmp_path: Path, run_import: ImportRunner) -> None:
    path = tmp_path / "cut.cbor"
    events = runs_of(local_events(), 1)
    path.write_bytes(cbor2.dumps(cbor_page(events))[:-10])  # cut in the page's cursor
    summary = run_import(V1, path)
    # every event is whole: kept; the cut envelope is the damage
    assert (summary.read, summary.quarantined, summary.status) == (len(events), 1, "partial")


# -- v4 frames ------------------------------------------------------------------------------


def test_v4_whole_stream(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    path = tmp_path / "events.v4"
    path.write_bytes(frame_stream(events, next_cursor="cur", more=True))
    head = read_head(path)
    assert V4.detect(path, head)
    assert not V1.detect(path, head)
    summary = run_import(V4, path)
    assert (summary.read, summary.stored, summary.quarantined, summary.status) == (
        len(events),
        len(events),
        0,
        "ok",
    )
    assert any("hasMore=true" in n and "'cur'" in n for n in summary.notes)
    reference = run_import(V1, write_json(tmp_path / "page.json", page(events)))
    assert (reference.stored, reference.conflicts) == (0, 0)  # the very same events
    offsets = frame_offsets(events)
    _, rows = tmp_store.query(
        "SELECT event_id, source_position FROM events WHERE import_id = ?", [summary.import_id]
    )
    assert dict(rows) == {e["eventId"]: f"byte {o}" for e, o in zip(events, offsets, strict=True)}


@pytest.mark.parametrize("cut", ["mid-header", "mid-meta", "mid-body", "boundary"])
def test_v4_truncated_keeps_whole_frames(
    tmp_path: Path,
    events: list[dict[str, Any]],
    run_import: ImportRunner,
    tmp_store: Store,
    cut: str,
) -> None:
    stream = frame_stream(events, end=False)
    offsets = frame_offsets(events)
    k = next(i for i, e in enumerate(events) if i >= 3 and payload_bytes(e))
    start = offsets[k]
    meta_len = int.from_bytes(stream[start : start + 4], "big")
    end_at = {
        "mid-header": start + 2,
        "mid-meta": start + 4 + meta_len // 2,
        "mid-body": start + 8 + meta_len + 3,
        "boundary": start,
    }[cut]
    path = tmp_path / "cut.v4"
    path.write_bytes(stream[:end_at])
    summary = run_import(V4, path)
    assert (summary.read, summary.stored, summary.quarantined, summary.status) == (
        k,
        k,
        1,
        "partial",
    )
    message = f"truncated at byte {start}: no end-of-stream marker; re-fetch the page"
    assert summary.notes == (f"{path}: {message}",)
    ((position, reason, raw),) = quarantine(tmp_store, summary.import_id)
    assert position == f"byte {start}"
    assert reason.startswith(message)
    if cut == "boundary":
        assert raw is None
    else:
        assert raw is not None
        assert base64.b64decode(raw) == stream[start:end_at]
    if cut == "mid-body":
        assert events[k]["eventId"] in reason
    _, rows = tmp_store.query(
        "SELECT event_id FROM events WHERE import_id = ?", [summary.import_id]
    )
    assert {r[0] for r in rows} == {e["eventId"] for e in events[:k]}


def test_v4_body_replaces_ref_and_unknown_types_keep_their_body(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    with_data = next(e for e in events if payload_bytes(e))
    odd = {
        "runId": with_data["runId"],
        "eventId": "evnt_01M7YNNB23X674XPWZ37X406ZZ",
        "eventType": "future_event",
        "eventData": {},
    }
    stream = event_frame(with_data, ref="s3rf:bucket/key") + frame(odd, b"devl[1]") + end_marker()
    path = tmp_path / "refs.v4"
    path.write_bytes(stream)
    summary = run_import(V4, path)
    assert (summary.stored, summary.status) == (2, "ok")
    _, rows = tmp_store.query(
        "SELECT event_type, payload_format, extra FROM events WHERE import_id = ?"
        " ORDER BY event_type",
        [summary.import_id],
    )
    got = {r[0]: (r[1], json.loads(r[2]) if r[2] else None) for r in rows}
    fmt, extra = got[with_data["eventType"]]
    assert fmt == "devl"
    assert extra == {"payloadRef": {"_type": "RemoteRef", "_ref": "s3rf:bucket/key"}}
    fmt, extra = got["future_event"]
    assert fmt == "absent"
    assert extra == {"frameBody": {"__type": "Uint8Array", "data": "ZGV2bFsxXQ=="}}


def test_v4_bad_meta_frame_is_quarantined_and_reading_goes_on(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    garbage = b"\xa1\xff\xff"  # a map start, then nonsense
    bad = len(garbage).to_bytes(4, "big") + garbage + (0).to_bytes(4, "big")
    stream = event_frame(events[0]) + bad + event_frame(events[1]) + end_marker()
    path = tmp_path / "bad.v4"
    path.write_bytes(stream)
    summary = run_import(V4, path)
    assert (summary.stored, summary.quarantined) == (2, 1)
    ((position, reason, _),) = quarantine(tmp_store, summary.import_id)
    assert position == f"byte {len(event_frame(events[0]))}"
    assert reason.startswith("frame meta: cbor: malformed CBOR")


def test_v4_gzip_and_large_frames(
    tmp_path: Path, events: list[dict[str, Any]], run_import: ImportRunner, tmp_store: Store
) -> None:
    big = next(e for e in events if e["eventType"] == "step_completed")
    raw = payload_bytes(big)
    assert raw is not None
    body = raw[:-1] + b" " * (3 << 20) + raw[-1:]  # devalue text with 3 MiB of spaces inside
    meta = with_payload(big, None)
    del meta["eventData"]["result"]
    path = tmp_path / "big.v4.gz"
    path.write_bytes(gzip.compress(frame(meta, body) + end_marker()))
    assert V4.detect(path, read_head(path))
    summary = run_import(V4, path)
    assert (summary.stored, summary.status) == (1, "ok")
    _, rows = tmp_store.query("SELECT octet_length(payload_raw) FROM events")
    assert rows == [(len(body),)]


def test_read_frames_reads_concatenated_streams(events: list[dict[str, Any]]) -> None:
    data = frame_stream(events[:2], more=True) + frame_stream(events[2:4])
    items = list(read_frames(io.BytesIO(data)))
    ends = [i for i in items if not hasattr(i, "body")]
    assert len(items) == 6
    assert [getattr(e, "meta", {}).get("hasMore") for e in ends] == [True, False]


def test_v4_detect_rejects_other_binary(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x00\x00\x05hello world")
    assert not V4.detect(path, read_head(path))
    path.write_bytes(b"\xff\xff\xff\xff\xa1")
    assert not V4.detect(path, read_head(path))
    assert not V4.detect(tmp_path, b"")


def test_key_option_is_passed_on(tmp_path: Path, run_import: ImportRunner) -> None:
    events = runs_of(local_events(), 1)
    path = write_json(tmp_path / "page.json", page(events))
    summary = run_import(V1, path, ImportOptions(key=b"\x00" * 32))
    assert summary.stored == len(events)


@pytest.mark.parametrize("damage", ["meta-length", "body-length", "garbage", "meta-garbage"])
def test_v4_reading_goes_on_after_a_damaged_frame(
    tmp_path: Path,
    events: list[dict[str, Any]],
    run_import: ImportRunner,
    tmp_store: Store,
    damage: str,
) -> None:
    """A frame whose lengths or bytes are broken is quarantined with its byte offset, and
    every whole frame before and after it is stored."""
    k = next(i for i, e in enumerate(events) if i >= 2 and payload_bytes(e))
    frames = [event_frame(e) for e in events]
    bad = bytearray(frames[k])
    if damage == "meta-length":
        bad[0:4] = b"\xff\xff\xff\xff"
    elif damage == "body-length":
        meta_len = int.from_bytes(bad[:4], "big")
        bad[4 + meta_len : 8 + meta_len] = (10_000_000).to_bytes(4, "big")
    elif damage == "garbage":
        bad = bytearray(b"\x00\x00\x00\x05\xa1garbage-that-is-no-frame" + bytes(bad))
    else:  # the meta's bytes overwritten: its length no longer matches anything
        bad[2:12] = b"\x00\x00\x00\x00\xa1\xa1\xa1\xa1\xa1\xa1"
    start = sum(len(f) for f in frames[:k])
    path = tmp_path / "damaged.v4"
    path.write_bytes(b"".join(frames[:k]) + bytes(bad) + b"".join(frames[k + 1 :]) + end_marker())
    summary = run_import(V4, path)
    kept = [e for i, e in enumerate(events) if i != k or damage == "garbage"]
    assert (summary.stored, summary.quarantined, summary.status) == (len(kept), 1, "partial")
    ((position, reason, raw),) = quarantine(tmp_store, summary.import_id)
    assert position == f"byte {start}"
    assert reason.startswith(f"damaged frame at byte {start}: ")
    assert "reading went on at byte" in reason
    assert raw is not None and base64.b64decode(raw) == bytes(bad)[: len(base64.b64decode(raw))]
    assert any("damaged frame" in n for n in summary.notes)
    _, rows = tmp_store.query(
        "SELECT event_id FROM events WHERE import_id = ?", [summary.import_id]
    )
    assert {r[0] for r in rows} == {e["eventId"] for e in kept}


def _event_ids(tmp_store: Store, import_id: int) -> set[str]:
    _, rows = tmp_store.query("SELECT event_id FROM events WHERE import_id = ?", [import_id])
    return {str(r[0]) for r in rows}


def _encoded(kind: str, value: Any) -> bytes:
    return json.dumps(value).encode() if kind == "json" else cbor2.dumps(value)


def _page_bytes(kind: str, events: list[dict[str, Any]]) -> bytes:
    return _encoded(kind, page(events) if kind == "json" else cbor_page(events))


def _event_bytes(kind: str, event: dict[str, Any]) -> bytes:
    return _encoded(kind, event if kind == "json" else cbor_page([event])["data"][0])


@pytest.mark.parametrize("kind", ["json", "cbor"])
@pytest.mark.parametrize("damage", ["event-cut", "page-cut", "end-cut"])
def test_v1_and_cbor_pages_keep_whole_records_around_damage(
    tmp_path: Path,
    events: list[dict[str, Any]],
    run_import: ImportRunner,
    tmp_store: Store,
    kind: str,
    damage: str,
) -> None:
    """An event cut in the middle of a page, a page cut short before the next one, a file
    cut mid-array: every whole event before and after is stored, the damage quarantined
    once with its byte offset."""
    blobs = [_page_bytes(kind, p) for p in (events[:4], events[4:8], events[8:])]
    # (page, event) damaged; the event keeps `keep` of its bytes (all after them cut too)
    which, lost_event, keep = {
        "event-cut": (1, events[5], 0.5),  # the second page's second event loses half
        "page-cut": (1, events[7], 0.05),  # the second page stops in its fourth event
        "end-cut": (2, events[-1], 0.5),  # the file ends in the last page's last event
    }[damage]
    event = _event_bytes(kind, lost_event)
    at = blobs[which].index(event)
    rest = blobs[which][at + len(event) :] if damage == "event-cut" else b""
    blobs[which] = blobs[which][: at + int(len(event) * keep)] + rest
    # a JSON array of pages / a CBOR indefinite-length array of pages
    head, sep, end = (b"[", b",", b"]") if kind == "json" else (b"\x9f", b"", b"\xff")
    path = tmp_path / f"pages.{kind}"
    data = head + sep.join(blobs) + (b"" if damage == "end-cut" else end)
    path.write_bytes(data)
    damaged_at = len(head) + sum(len(b) + len(sep) for b in blobs[:which]) + at
    lost = {lost_event["eventId"]}
    summary = run_import(V1, path)
    assert _event_ids(tmp_store, summary.import_id) == {e["eventId"] for e in events} - lost
    rows = quarantine(tmp_store, summary.import_id)
    assert len(rows) == 1, rows
    ((position, reason, raw),) = rows
    assert position.startswith("byte ") and raw
    assert position == f"byte {damaged_at}"
    assert reason.startswith(f"damaged {kind.upper()} at byte {damaged_at} (")
    assert summary.status == "partial"
