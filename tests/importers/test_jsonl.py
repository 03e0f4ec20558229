"""JSON Lines: the record path and DuckDB's bulk path store the same events the same way."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from forensics.importers import jsonl, payloads
from forensics.importers.run import import_paths
from forensics.store import Store

COLUMNS = (
    "run_id, event_id, event_type, correlation_id, created_at, spec_version, event_data,"
    " payload_field, payload_raw, payload_decoded, payload_format, id_scheme, id_time,"
    " content_hash"
)


def _rows(store: Store) -> list[tuple[object, ...]]:
    return store.query(f"SELECT {COLUMNS} FROM events ORDER BY run_id, event_id")[1]


def _real_lines(realdata: Path) -> list[str]:
    lines = (realdata / "local" / "local-events.jsonl").read_text().splitlines()
    # the convenience copy adds `_file`; a plain dump has only the event's own fields
    return [json.dumps({k: v for k, v in json.loads(x).items() if k != "_file"}) for x in lines]


real_bulk = jsonl.import_bulk


def test_bulk_and_record_paths_store_identical_rows(
    realdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _real_lines(realdata)
    # an event whose payload the SQL cannot take (a spec-1 devalue array), past the sample
    late = json.loads(next(x for x in lines[100:] if '"step_completed"' in x))
    late["eventData"]["result"] = [{"total": 1}, 42]
    lines.append(json.dumps({**late, "eventId": late["eventId"][:-1] + "Z"}))
    # and one whose time DuckDB's reader does not take (epoch milliseconds): found by key
    epoch = json.loads(lines[7])
    lines[7] = json.dumps({**epoch, "createdAt": 1_763_700_000_123})
    dump = tmp_path / "events.jsonl"
    dump.write_text("\n".join(lines) + "\n")
    with Store(tmp_path / "record.duckdb") as store:
        [summary] = import_paths(store, [dump])
        assert (summary.read, summary.stored, summary.quarantined) == (449, 449, 0)
        record_rows = _rows(store)
    monkeypatch.setattr(jsonl, "BULK_MIN_BYTES", 0)
    monkeypatch.setattr(jsonl, "_SAMPLE_LINES", 100)
    monkeypatch.setattr("forensics.importers.payloads.PARALLEL_MIN_ROWS", 10)
    bulk: list[Path] = []
    monkeypatch.setattr(jsonl, "import_bulk", lambda p, *a: bulk.append(p) or real_bulk(p, *a))
    with Store(tmp_path / "bulk.duckdb") as store:
        [summary] = import_paths(store, [dump])
        assert bulk == [dump]  # the real log (inline error texts included) takes the SQL path
        assert (summary.read, summary.stored, summary.quarantined) == (449, 449, 0)
        formats = dict(store.query("SELECT payload_format, count(*) FROM events GROUP BY 1")[1])
        assert _rows(store) == record_rows
        # the same file again through the bulk path adds nothing
        [again] = import_paths(store, [dump])
        assert (again.read, again.stored, again.duplicates) == (449, 0, 449)
    assert formats["json"] == 21 and formats["legacy-json"] == 1


def test_bulk_path_decodes_each_distinct_payload_once(
    realdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _real_lines(realdata)
    twins = [json.dumps({**json.loads(x), "runId": json.loads(x)["runId"] + "T"}) for x in lines]
    dump = tmp_path / "events.jsonl"
    dump.write_text("\n".join(lines + twins) + "\n")
    decoded: list[bytes] = []
    decode_batch = payloads.decode_batch

    def counting(raws: list[bytes], key: bytes | None) -> list[tuple[str, str]]:
        decoded.extend(raws)
        return decode_batch(raws, key)

    monkeypatch.setattr(jsonl, "BULK_MIN_BYTES", 0)
    monkeypatch.setattr(payloads, "decode_batch", counting)
    with Store(tmp_path / "bulk.duckdb") as store:
        [summary] = import_paths(store, [dump])
        assert summary.stored == 2 * len(lines)
        [(carried, distinct, undecoded)] = store.query(
            "SELECT count(payload_raw), count(DISTINCT payload_raw),"
            " count(*) FILTER (payload_raw IS NOT NULL AND payload_decoded IS NULL) FROM events"
        )[1]
        pairs = store.query(
            "SELECT a.payload_decoded = b.payload_decoded, a.payload_format = b.payload_format"
            " FROM events a JOIN events b ON b.run_id = a.run_id || 'T'"
            " AND b.event_id = a.event_id WHERE a.payload_raw IS NOT NULL"
        )[1]
    assert len(decoded) == len(set(decoded)) == distinct < carried
    assert undecoded == 0
    assert len(pairs) == carried // 2 and all(a and b for a, b in pairs)


def test_bulk_path_quarantines_rejected_lines_with_their_numbers(
    realdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _real_lines(realdata)[:30]
    lines[4] = "{broken"
    lines[9] = json.dumps({"eventType": "run_started", "eventId": "evnt_X"})
    dump = tmp_path / "events.jsonl.gz"
    dump.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    monkeypatch.setattr(jsonl, "BULK_MIN_BYTES", 0)
    with Store(tmp_path / "bulk.duckdb") as store:
        [summary] = import_paths(store, [dump])
        assert (summary.stored, summary.quarantined, summary.status) == (28, 2, "partial")
        rows = store.query("SELECT position, reason FROM quarantine ORDER BY position")[1]
    assert [r[0] for r in rows] == ["line 10", "line 5"]
    assert rows[0][1] == "missing runId" and rows[1][1].startswith("not JSON")


def test_json_array_of_events(realdata: Path, tmp_path: Path) -> None:
    events = [json.loads(x) for x in _real_lines(realdata)[:12]]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    with Store(tmp_path / "s.duckdb") as store:
        [summary] = import_paths(store, [path])
    assert (summary.source_kind, summary.stored) == ("jsonl", 12)


ODD_FIELDS: list[dict[str, object]] = [
    {"eventData": "x"},
    {"specVersion": "three"},
    {"runId": 12345},
    {"specVersion": 2.5},
    {"specVersion": 2**40},
    {"specVersion": "3"},
    {"createdAt": 1e20},
    {"createdAt": 1_000_000_000_000_000},
    {"correlationId": 7},
    {"eventType": ""},
    {"eventData": None},
]


def test_odd_values_are_judged_alike_by_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values the SQL reader would coerce (a number as a run id, text as specVersion, a
    string as eventData) take the record path: stored or quarantined the same way."""
    from tests.fuzz.generate import events

    lines = [json.dumps(e) for n in range(50) for e in events(n)]
    for index, change in enumerate(ODD_FIELDS):
        event = json.loads(lines[200 + index])
        lines[200 + index] = json.dumps({**event, **change})
    dump = tmp_path / "events.jsonl"
    dump.write_text("\n".join(lines) + "\n")
    results = []
    bulk: list[Path] = []
    monkeypatch.setattr(jsonl, "import_bulk", lambda p, *a: bulk.append(p) or real_bulk(p, *a))
    for name, floor in (("record", 1 << 60), ("bulk", 0)):
        monkeypatch.setattr(jsonl, "BULK_MIN_BYTES", floor)
        monkeypatch.setattr(jsonl, "_SAMPLE_LINES", 100)
        with Store(tmp_path / f"{name}.duckdb") as store:
            [summary] = import_paths(store, [dump])
            reasons = store.query("SELECT position, reason FROM quarantine ORDER BY 1")[1]
            results.append((_rows(store), reasons, summary.read, summary.quarantined))
    assert bulk == [dump]  # the second import took the bulk path
    assert results[0] == results[1]
    _rows_stored, reasons, read, quarantined = results[0]
    assert (read, quarantined) == (len(lines) - 9, 9) and len(reasons) == 9
    assert all(position.startswith("line ") for position, _ in reasons)
    assert any("is not an integer" in reason for _, reason in reasons)
    assert any("outside the times" in reason for _, reason in reasons)


def test_bulk_path_takes_events_without_event_data_in_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run_started` carries no eventData: the bulk SQL takes it, so a clean file is read
    once by DuckDB and never again line by line (that second read made imports 5× slower)."""
    run = "wrun_01M7YNNASS8KVC54EGYKZ763NW"
    events = [
        {"runId": run, "eventId": f"wevt_01M7YNNAT{i:017d}", "eventType": t,
         "createdAt": f"2026-11-20T10:00:0{i}.000Z", "specVersion": 2, **extra}
        for i, (t, extra) in enumerate([
            ("run_created", {"eventData": {"workflowName": "w"}}),
            ("run_started", {}),
            ("step_started", {"correlationId": "step_01M7YNNAT4A8ZR6Y5KQ6X2B9QH",
                              "eventData": {"stepName": "charge"}}),
        ])
    ]  # fmt: skip
    dump = tmp_path / "events.jsonl"
    dump.write_text("".join(json.dumps(e) + "\n" for e in events))
    monkeypatch.setattr(jsonl, "BULK_MIN_BYTES", 0)
    monkeypatch.setattr(jsonl, "_SAMPLE_LINES", 1)
    bulk: list[Path] = []
    monkeypatch.setattr(jsonl, "import_bulk", lambda p, *a: bulk.append(p) or real_bulk(p, *a))

    def no_reread(*_: object) -> None:
        raise AssertionError("the file was read a second time, line by line")

    monkeypatch.setattr(jsonl, "_reread", no_reread)
    with Store(tmp_path / "bulk.duckdb") as store:
        [summary] = import_paths(store, [dump])
        assert bulk == [dump]
        assert (summary.read, summary.stored, summary.status) == (3, 3, "ok")
