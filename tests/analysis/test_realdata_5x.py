"""Logs written by the real Workflow DevKit 5.x (copied into tests/data/realdata-5x/).

Three setups: workflow 5.0.0-beta.55 on world-local 5.0.0-beta.46 (spec 7, slot ids),
5.0.0-beta.35 on world-local 5.0.0-beta.29 (spec 5, ULIDs minted in no causal order) and
5.0.0-beta.35 on world-postgres 5.0.0-beta.27 (spec 5, `wevt_` ULIDs, saved CLI output). The
healthy runs give no finding; the only real anomaly (13 stress runs of the beta.46 world
with two or three `run_completed`) is found with its own witnesses.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from forensics.analysis.engine import CheckResult, check
from forensics.analysis.idsreport import ids_report, ids_rows
from forensics.importers.run import import_paths
from forensics.replay.log import creations_first
from forensics.replay.replays import run_replays
from forensics.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "realdata-5x"
# The runs of `local/` whose stress scenario wrote `run_completed` more than once, with the
# slots holding them (the data set's own ground truth).
DUPLICATE_COMPLETIONS = {
    "wrun_01M98MZV69S2NACX6EH7BP4967": [102, 103],
    "wrun_01M98MZV1J9SDZYY1NS361EZ7R": [105, 106],
    "wrun_01M98MZVAZGS3NWCFB8NPRETGQ": [108, 109],
    "wrun_01M98MZVFNRN7QQN6RN8APGCCF": [106, 107],
    "wrun_01M98MZVMCQWTS35NTQ0N61867": [105, 106, 107],
    "wrun_01M98MZVS3F4EYD79WYWX85BNH": [105, 106],
    "wrun_01M98MZVXTZEWBTRX9CBTNJ5A0": [109, 110, 111],
    "wrun_01M98MZW2G0QNG07SXJE8FBGSX": [105, 106],
    "wrun_01M98MZW774M5CNCKY9ME0BVGN": [107, 108],
    "wrun_01M98MZX8H6AZGSXME210PGPDW": [123, 124, 125],
    "wrun_01M98MZXPXGPSY0DMDRSEVCB9H": [113, 114],
    "wrun_01M98MZYA6XB5CXHP5Q1NRCE5S": [111, 112],
    "wrun_01M98MZYY4BB2YA393WXS99N00": [115, 116],
}


def _extract(archive: str, target: Path) -> Path:
    with tarfile.open(DATA / archive) as tar:
        tar.extractall(target, filter="data")
    return target / "inspect"


def _checked(path: Path, sources: list[Path]) -> CheckResult:
    with Store(path) as store:
        import_paths(store, sources)
        return check(store)


@pytest.fixture(scope="module")
def local_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The beta.55 events (JSON Lines) and the CLI's capture of the same runs, one store."""
    base = tmp_path_factory.mktemp("real5-local")
    inspect = _extract("local-inspect.tar.gz", base)
    path = base / "store.duckdb"
    with Store(path) as store:
        import_paths(store, [DATA / "local-events.jsonl.gz"])
        import_paths(store, [inspect])
    return path


@pytest.fixture(scope="module")
def local(local_store: Path) -> CheckResult:
    with Store(local_store) as store:
        return check(store)


def test_slot_id_world_finds_only_the_duplicate_run_completed(local: CheckResult) -> None:
    assert len(local.runs) == 83
    anomalous = {v.run_id for v in local.runs if v.verdict != "ok"}
    assert anomalous == set(DUPLICATE_COMPLETIONS)
    assert {(f.code, f.severity) for f in local.findings} == {("run-lifecycle", "error")}
    for f in local.findings:
        slots = DUPLICATE_COMPLETIONS[f.run_id]
        assert f.evidence["problem"] == "several-terminals"
        assert f.event_ids == tuple(f"evnt_{n:026d}" for n in slots[:2])
        # the witnesses are this run's own events, not another run's event of the same slot
        assert [e["event_type"] for e in f.evidence["events"]] == ["run_completed"] * 2
        assert [e["position"] for e in f.evidence["events"]] == slots[:2]
        assert f.fatal_in == ()
        assert "ends the run a second time" in f.explanation


def test_cli_capture_and_data_files_agree(local_store: Path) -> None:
    """The CLI prints eventData keys in another order: the same event, not a conflict; and
    the decoded payloads equal the SDK's own decoded values (errors, `gzip` included)."""
    with Store(local_store, read_only=True) as store:
        conflicts = store.con.execute("SELECT count(*) FROM event_conflicts").fetchone()
        with_payload = store.con.execute(
            "SELECT count(*) FROM events WHERE source_kind = 'jsonl'"
            " AND payload_decoded IS NOT NULL"
        ).fetchone()
        rows = store.con.execute(
            "SELECT a.payload_format, a.payload_decoded, b.payload_decoded FROM events a"
            " JOIN events b ON a.run_id = b.run_id AND a.event_id = b.event_id"
            " WHERE a.source_kind = 'jsonl' AND b.source_kind = 'inspect'"
            " AND b.payload_decoded IS NOT NULL"
        ).fetchall()
    assert conflicts == (0,)
    assert with_payload is not None
    assert len(rows) == with_payload[0] == 2531  # every event with a payload
    formats = {r[0] for r in rows}
    assert {"devl", "gzip"} <= formats
    for _, mine, theirs in rows:
        assert comparable(json.loads(mine)) == comparable(json.loads(theirs))


def comparable(value: Any) -> Any:
    """A decoded value as the CLI prints it: a `Request` loses its headers (JSON of a
    `Headers` is `{}`) and its body stream is a reference by id."""
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("__type") == "Request":
        body = value.get("body")
        stream = body.get("name") if isinstance(body, dict) else body
        rest = {k: v for k, v in value.items() if k not in ("__type", "headers", "body")}
        return {**comparable(rest), "headers": {}, "body": stream}
    if value.get("__type") == "__workflow_stream_ref__":
        return value.get("streamId")
    return {k: comparable(v) for k, v in value.items()}


def test_ulid_world_local_beta29_is_healthy(tmp_path: Path) -> None:
    """660 steps have `step_started` sorted before `step_created` (one write, ids minted in
    any order); the correlation ids carry the run id's time; the seed is not logged."""
    result = _checked(tmp_path / "b35.duckdb", [DATA / "local-b35-events.jsonl.gz"])
    assert len(result.runs) == 83
    assert result.findings == ()
    assert {v.verdict for v in result.runs} == {"ok"}


def test_world_postgres_capture_is_healthy(tmp_path: Path) -> None:
    inspect = _extract("postgres-inspect.tar.gz", tmp_path)
    result = _checked(tmp_path / "pg.duckdb", [inspect])
    assert len(result.runs) == 83
    assert result.findings == ()


def test_hook_received_after_run_completed_is_found(tmp_path: Path) -> None:
    """world-local beta.29 under load accepted a resume after the run completed: the stray
    `hook_received` is reported against the run's terminal event."""
    with gzip.open(DATA / "local-b35-events.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = f.read()
    events = [json.loads(x) for x in lines.splitlines()]
    run = "wrun_01M98QW427VZ2C8MZVDDKDPSJH"
    mine = sorted((e for e in events if e["runId"] == run), key=lambda e: e["eventId"])
    done = next(e for e in mine if e["eventType"] == "run_completed")
    hook = next(e for e in mine if e["eventType"] == "hook_received")
    late = {**hook, "eventId": done["eventId"][:-1] + "Z", "createdAt": "2026-12-07T17:20:00.000Z"}
    path = tmp_path / "late.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [*mine, late]) + "\n", encoding="utf-8")
    result = _checked(tmp_path / "late.duckdb", [path])
    [finding] = result.findings
    assert finding.code == "run-lifecycle"
    assert finding.evidence["problem"] == "events-after-terminal"
    assert finding.event_ids == (done["eventId"], late["eventId"])
    assert [e["event_type"] for e in finding.evidence["events"]] == [
        "run_completed",
        "hook_received",
    ]


def test_ids_says_the_5x_seed_is_not_reproducible(local_store: Path) -> None:
    with Store(local_store, read_only=True) as store:
        _, rows, summary = ids_rows(ids_report(store, "wrun_01M98MYN5PDXE0SAXXCS69B1SN"))
    assert summary["seed_status"] == "not reproducible (5.x: the seed is not in the log)"
    assert summary["seed_b0"] is None
    assert summary["time_prefixes"] == ["01M98MYN5P"]  # the run id's time
    assert [r[3] for r in rows] == [0, 1, 2]  # ordinals follow the draws in log order


def test_merged_cli_pages_import(tmp_path: Path) -> None:
    """The capture's `runs.json`/`hooks.json` are the CLI's pages merged into
    `{"data": [...], "pages": n}` (the 5.x CLI caps `--limit` at 100): imported, not skipped."""
    inspect = _extract("local-inspect.tar.gz", tmp_path)
    with Store(tmp_path / "cli.duckdb") as store:
        [summary] = import_paths(store, [inspect])
        hooks = store.con.execute("SELECT count(*) FROM entities WHERE kind = 'hook'").fetchone()
        runs = store.con.execute("SELECT count(*) FROM run_records").fetchone()
    # records read: runs.json's 83 and every per-run run.json, of 83 runs
    assert (summary.read, summary.quarantined, summary.runs, runs) == (4327, 0, 166, (83,))
    assert not [n for n in summary.notes if "not inspect output" in n]
    assert hooks == (2,)  # the hooks still waiting when the capture was taken


def test_one_write_of_beta29_is_rebuilt_as_one_replay_decision(tmp_path: Path) -> None:
    """world-local beta.29 gives a step's `step_started` an id below its `step_created`
    (both written at once): the rebuilt replays load the log before that write and create
    the step, instead of loading the step's start before its creation."""
    with Store(tmp_path / "b35.duckdb") as store:
        import_paths(store, [DATA / "local-b35-events.jsonl.gz"])
        rr = run_replays(store.con, "wrun_01M98QW3GWZNENM1H2BY01RKHE")
    types = [e.event_type for e in rr.log.events]
    assert types[2:6] == ["step_created", "step_started", "step_completed", "step_created"]
    tails = [rr.log.events[r.snapshot.end - 1].event_type for r in rr.replays if r.snapshot.end]
    assert tails == ["run_started", "step_completed", "step_completed", "step_completed"]
    assert [rr.log.events[r.writes[0]].event_type for r in rr.replays] == [
        "step_created", "step_created", "step_created", "run_completed",
    ]  # fmt: skip


def test_creations_first_moves_only_same_write_events() -> None:
    def row(n: int, kind: str, cid: str, us: int) -> tuple[object, ...]:
        return (f"e{n}", kind, cid, None, None, us, None, None, None)

    rows = [
        row(1, "step_started", "step_A", 1_000_100),
        row(2, "step_created", "step_A", 1_000_900),  # same millisecond: one write
        row(3, "step_started", "step_B", 1_000_000),
        row(4, "step_created", "step_B", 2_000_000),  # another millisecond: left alone
    ]
    assert [r[0] for r in creations_first(rows)] == ["e2", "e1", "e3", "e4"]
