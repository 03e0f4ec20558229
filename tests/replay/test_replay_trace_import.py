"""`forensics import trace`: raw and exported log lines, grouping, quarantine, re-imports."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.errors import InputError
from forensics.importers.run import import_paths
from forensics.importers.trace import import_traces
from forensics.store import Store
from forensics.store.traces import digest_lines, item_line

RUN = "wrun_01KSNVVXH82P5GM40D6F9152JF"
EVENTS = [
    {"i": "evnt_01", "t": "run_created"},
    {"i": "evnt_02", "t": "run_started"},
    {"i": "evnt_03", "t": "step_created", "c": "step_01", "n": "step//./w//a"},
]
DIGEST = digest_lines([item_line(e["i"], e["t"], e.get("c"), e.get("n")) for e in EVENTS])


def record(kind: str, inv: int, **fields: Any) -> str:
    body: dict[str, Any] = {"k": kind, "runId": RUN, "inv": inv, **fields}
    return "WF_TRACE " + json.dumps(body, separators=(",", ":"))


def start(inv: int, pid: int, events: list[dict[str, str]] = EVENTS, **extra: Any) -> str:
    fields = {"workflowName": "workflow//./w//wf", "pid": pid,
              "startedAt": "2026-05-27T23:21:14.332Z", "eventCount": len(events),
              "digest": DIGEST, "events": events, **extra}  # fmt: skip
    return record("replay_start", inv, **fields)


def step(inv: int, seq: int, cid: str, name: str) -> str:
    return record("step_subscribe", inv, seq=seq, correlationId=cid, stepName=name)


def end(inv: int, outcome: str, **extra: Any) -> str:
    return record("replay_end", inv, outcome=outcome, **extra)


def replays(store: Store) -> list[dict[str, Any]]:
    columns, rows = store.query(
        "SELECT stream, pid, inv, logged_event_count, loaded_count, logged_digest, digest,"
        " tail_event_id, outcome, error, started_log_at, request_id, has_start,"
        " source_position FROM trace_replays ORDER BY replay_key"
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


def test_raw_lambda_lines_keep_time_request_and_recompute_the_digest(
    tmp_store: Store, tmp_path: Path
) -> None:
    req = "8d7c6a1e-1111-4a4a-9b9b-123456789abc"
    lines = [
        f"2026-05-28T02:14:00.100Z\t{req}\tINFO\t{start(269, 8)}",
        "2026-05-28T02:14:00.101Z\tplain log line without a trace",
        f"2026-05-28T02:14:00.102Z\t{req}\tINFO\t{step(269, 1, 'step_01', 'step//./w//a')}",
        f"2026-05-28T02:14:00.103Z\t{req}\tINFO\t{end(269, 'suspended')}",
    ]
    (tmp_path / "host-a.log").write_text("\n".join(lines) + "\n")
    summary = import_traces(tmp_store, [tmp_path / "host-a.log"])
    assert (summary.read, summary.stored, summary.duplicates, summary.quarantined) == (3, 3, 0, 0)
    assert replays(tmp_store) == [
        {
            "stream": "host-a.log", "pid": 8, "inv": 269, "logged_event_count": 3,
            "loaded_count": 3, "logged_digest": DIGEST, "digest": DIGEST,
            "tail_event_id": "evnt_03", "outcome": "suspended", "error": None,
            "started_log_at": datetime(2026, 5, 28, 2, 14, 0, 100000, tzinfo=UTC),
            "request_id": req, "has_start": True, "source_position": "line 1",
        }
    ]  # fmt: skip
    assert tmp_store.query("SELECT seq, kind, correlation_id, name FROM trace_subscriptions")[
        1
    ] == [(1, "step", "step_01", "step//./w//a")]
    again = import_traces(tmp_store, [tmp_path / "host-a.log"])
    assert (again.read, again.stored, again.duplicates) == (3, 0, 3)
    assert len(replays(tmp_store)) == 1


def _export(path: Path, rows: list[tuple[int, str, str]]) -> None:
    """A gzipped JSON-lines export: (epoch ms, stream, message) per line, newest first."""
    lines = [
        json.dumps(
            {
                "timestamp": ms,
                "logStream": stream,
                "requestId": f"req-{stream}",
                "message": f"2026 INFO {message}",
            }
        )
        for ms, stream, message in sorted(rows, reverse=True)
    ]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def test_an_export_newest_first_groups_two_processes_sharing_an_inv(
    tmp_store: Store, tmp_path: Path
) -> None:
    t = 1_779_933_240_000
    rows = [
        (t, "i-a", start(1, 1)),
        (t + 1, "i-b", start(1, 1, EVENTS[:2])),
        (t + 2, "i-a", step(1, 1, "step_01", "step//./w//a")),
        (t + 3, "i-b", step(1, 1, "step_01", "step//./w//b")),
        (t + 4, "i-b", end(1, "suspended")),
        (t + 5, "i-a", end(1, "failed", error={"message": "boom", "stack": "…"})),
    ]
    _export(tmp_path / "logs.jsonl.gz", rows)
    summary = import_traces(tmp_store, [tmp_path / "logs.jsonl.gz"])
    assert (summary.read, summary.quarantined) == (6, 0)
    got = {(r["stream"], r["outcome"], r["error"], r["loaded_count"]) for r in replays(tmp_store)}
    assert got == {("i-a", "failed", "boom", 3), ("i-b", "suspended", None, 2)}
    subs = tmp_store.query(
        "SELECT r.stream, s.name FROM trace_subscriptions s JOIN trace_replays r"
        " USING (replay_key) ORDER BY r.stream"
    )[1]
    assert subs == [("i-a", "step//./w//a"), ("i-b", "step//./w//b")]


def test_broken_lines_are_quarantined_where_they_were(tmp_store: Store, tmp_path: Path) -> None:
    whole = start(2, 8)
    cut = whole[: whole.index('"events"') + 30]  # a log line limit cut it in its event list
    lines = [
        start(1, 8),
        end(1, "suspended"),
        cut,
        "WF_TRACE {not json at all}",
        "WF_TRACE " + json.dumps({"k": "replay_start", "inv": 3}),
        step(4, 1, "step_01", "step//./w//a"),
    ]
    (tmp_path / "t.log").write_text("\n".join(lines) + "\n")
    summary = import_traces(tmp_store, [tmp_path / "t.log"])
    assert summary.quarantined == 3
    quarantined = tmp_store.query("SELECT position, reason FROM quarantine ORDER BY position")[1]
    assert [(p, r.split(" (")[0].split(";")[0]) for p, r in quarantined] == [
        ("line 3", "WF_TRACE payload truncated"),
        ("line 4", "WF_TRACE payload not valid JSON"),
        ("line 5", "WF_TRACE replay_start without a runId"),
    ]
    assert quarantined[0][1].endswith("kept its header, its event list is lost")
    kept = [(r["inv"], r["logged_digest"], r["digest"], r["has_start"]) for r in replays(tmp_store)]
    assert kept == [(1, DIGEST, DIGEST, True), (2, DIGEST, None, True), (4, None, None, False)]


def test_a_log_without_traces_is_an_input_error(tmp_store: Store, tmp_path: Path) -> None:
    (tmp_path / "plain.log").write_text("2026-05-28T02:14:00Z nothing to see\n")
    with pytest.raises(InputError, match="no WF_TRACE lines found"):
        import_traces(tmp_store, [tmp_path / "plain.log"])


def test_import_json_detects_a_trace_file(tmp_store: Store, tmp_path: Path) -> None:
    (tmp_path / "t.log").write_text(start(1, 8) + "\n" + end(1, "completed") + "\n")
    (summary,) = import_paths(tmp_store, [tmp_path / "t.log"])
    assert (summary.source_kind, summary.read) == ("trace", 2)
    assert tmp_store.query("SELECT outcome FROM trace_replays")[1] == [("completed",)]


def test_the_expanded_view_lists_each_replays_loaded_events(
    tmp_store: Store, tmp_path: Path
) -> None:
    (tmp_path / "t.log").write_text(start(1, 8) + "\n" + start(2, 8, EVENTS[1:]) + "\n")
    import_traces(tmp_store, [tmp_path / "t.log"])
    rows = tmp_store.query(
        "SELECT r.inv, e.position, e.event_id FROM trace_replay_events e"
        " JOIN trace_replays r USING (replay_key) ORDER BY r.inv, e.position"
    )[1]
    assert rows == [
        (1, 1, "evnt_01"), (1, 2, "evnt_02"), (1, 3, "evnt_03"),
        (2, 1, "evnt_02"), (2, 2, "evnt_03"),
    ]  # fmt: skip
