"""`forensics story`: the incident on one page, from the library record to the three formats.

Cases: the bundled incident (traced, 54 replays), the same shape without traces (a DynamoDB
dump with fences only), a healthy run (one line), a run that failed for no corruption, and
the real 4.8.9 world-local logs (no root cause on any run).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from forensics.analysis.engine import check
from forensics.analysis.scan import Settings
from forensics.cli import main
from forensics.importers.run import import_paths
from forensics.model import Story
from forensics.replay.checks import trace_holes
from forensics.replay.replays import run_replays
from forensics.replay.story import story_of
from forensics.replay.story_text import story_json, story_markdown, story_text
from forensics.replay.views import collapse_rows, replay_rows
from forensics.store import Store

SAMPLES = Path(__file__).resolve().parents[2] / "forensics" / "samples"
REAL_LOCAL = (
    Path(__file__).resolve().parents[1] / "data" / "realdata" / "local" / "workflow-data.tar.gz"
)
INCIDENT = "wrun_01KSNVVXH82P5GM40D6F9152JF"
RACE = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"
HEALTHY = "wrun_01M7YNNASS8KVC54EGYKZ763NW"


def _story(store: Store, run_id: str) -> Story:
    result = check(store, run_ids=[run_id])
    return story_of(store.con, run_id, result.findings, result.runs)


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("story") / "incident.duckdb"
    with Store(path) as store:
        import_paths(store, [SAMPLES / "dynamodb-incident-2113.jsonl.gz"])
        import_paths(store, [SAMPLES / "vercel-logs-incident-2113.jsonl.gz"], fmt="trace")
        yield store


def test_the_bundled_incident_tells_who_wrote_from_a_stale_snapshot(incident: Store) -> None:
    s = _story(incident, INCIDENT)
    assert s.root_cause is not None
    assert (s.root_cause.code, s.root_cause.event.position) == ("stale-snapshot-write", 207)
    assert s.root_cause.event.label == "step_created PMX (drain)"
    assert [(w.role, w.replay) for w in s.writers] == [
        ("stale", "inv269"), ("stale", "inv327"), ("racing", "r11"), ("other-branch", "inv332")
    ]  # fmt: skip
    stale = s.writers[0]
    assert (stale.exact, stale.tail and stale.tail.position, stale.digest) == (
        True, 206, "e45df94438357c04")  # fmt: skip
    assert [(e.position, e.label, ms) for e, ms in stale.missed] == [
        (205, "wait_completed PMP", 58)
    ]
    assert stale.identity["request_id"] and stale.identity["inv"] == 269
    assert len(s.writers[3].replays) == 52 and s.blast_radius.failed_replays == 52
    assert s.exactness == "traced"
    assert s.headline.startswith("No terminal event in the log; replays failing since")
    assert "inv269 wrote #207 step_created PMX (drain)" in s.headline
    tail = [d.prevents for d in s.prevention]
    assert tail == [True, False, False, True]  # tail fence and in-band count prevent it
    assert ("duplicate-creation", "warning", 1) in s.other_findings
    window = [(m.kind, m.event.position if m.event else None, m.writer) for m in s.window]
    assert ("write", 207, "inv269") in window and ("read", 206, "inv269") in window
    assert window.index(("read", 206, "inv269")) < window.index(("write", 207, "inv269"))


def test_the_json_shape_scripts_rely_on(incident: Store) -> None:
    data = story_json(_story(incident, INCIDENT))
    keys = {"run_id", "status", "error_code", "headline", "exactness", "root_cause", "writers",
            "window", "blast_radius", "prevention", "other_findings"}  # fmt: skip
    assert keys <= set(data)
    assert {"code", "event_id", "position", "summary"} <= set(data["root_cause"])
    writer = data["writers"][0]
    assert {"role", "replay", "event_ids", "digest", "tail_event_id", "missed_event_ids"} <= set(
        writer
    )
    assert writer["missed_event_ids"] == ["evnt_01KSNWSCNS3YK4TFY712ES4N2H"]
    assert {r["role"] for r in data["writers"]} <= {"stale", "racing", "other-branch", "victim"}
    moment = data["window"][0]
    assert {"at", "position", "event_id", "event_type", "correlation_id", "writer", "note"} <= set(
        moment
    )
    blast = data["blast_radius"]
    assert set(blast) == {"failed_replays", "first_failure_at", "last_failure_at", "similar_runs"}
    assert {"design", "would_reject", "prevents"} <= set(data["prevention"][0])
    assert {"code", "severity", "count"} <= set(data["other_findings"][0])
    json.dumps(data)  # plain JSON values only


def test_text_and_markdown_tell_it_in_order(incident: Store) -> None:
    s = _story(incident, INCIDENT)
    text = story_text(s)
    order = ["ROOT CAUSE", "WRITERS", "CRITICAL WINDOW", "BLAST RADIUS",
             "WHAT WOULD HAVE PREVENTED IT", "EVERYTHING ELSE"]  # fmt: skip
    assert [text.index(t) for t in order] == sorted(text.index(t) for t in order)
    assert text.splitlines()[1] == s.headline
    md = story_markdown(s)
    assert md.startswith(f"### Run `{INCIDENT}`")
    assert "#### Root cause" in md and "```" in md  # the window stays aligned in a code block
    assert "`evnt_" not in md or "`e45df94438357c04`" in md


def test_without_traces_the_story_is_reconstructed_and_says_so(tmp_store: Store) -> None:
    import_paths(tmp_store, [SAMPLES / "dynamodb-incident-scan.json"])
    check(tmp_store)  # similar runs are found among the runs already checked
    s = _story(tmp_store, RACE)
    assert s.traced_replays == 0
    assert s.root_cause is not None and s.root_cause.code == "stale-snapshot-write"
    assert s.root_cause.event.label == "step_created B2J (drainQueue)"
    assert all(w.source == "reconstructed" for w in s.writers)
    assert [w.role for w in s.writers][:2] == ["stale", "stale"]
    assert s.exactness == "fenced" and "fences" in s.exactness_note
    assert s.error_code == "CORRUPTED_EVENT_LOG" and s.headline.startswith("Failed with")
    assert s.blast_radius.similar_runs == ("wrun_01KSMVX82Y9SG369YFNN13M2M7",)


def test_a_healthy_run_is_one_line(tmp_store: Store) -> None:
    import_paths(tmp_store, [SAMPLES / "world-local-data"])
    s = _story(tmp_store, HEALTHY)
    assert (s.root_cause, s.writers, s.window) == (None, (), ())
    assert s.headline == "Healthy: completed, 12 events, no errors or warnings."
    assert story_text(s).splitlines()[1:] == [s.headline]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    base = tmp_path_factory.mktemp("real")
    with tarfile.open(REAL_LOCAL) as tar:
        tar.extractall(base, filter="data")
    with Store(base / "real.duckdb") as store:
        import_paths(store, [base / ".workflow-data"])
        yield store


def test_no_false_root_cause_on_the_real_logs(real: Store) -> None:
    result = check(real)
    stories = [story_of(real.con, v.run_id, result.findings, result.runs) for v in result.runs]
    assert len(stories) == 43
    assert [s.run_id for s in stories if s.root_cause is not None] == []
    healthy = [s for s in stories if s.headline.startswith("Healthy: ")]
    assert {s.status for s in healthy} <= {"completed", "running", "cancelled", "pending"}
    failed = [s for s in stories if s.status == "failed"]
    assert all("the failure is the workflow's" in s.headline for s in failed)


def test_the_story_command(incident: Store, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(incident.path)
    with pytest.raises(SystemExit) as done:
        main(["--db", db, "story", "9152JF", "--format", "json"])
    assert done.value.code == 1  # the run has errors
    data = json.loads(capsys.readouterr().out)
    assert data["root_cause"]["position"] == 207
    with pytest.raises(SystemExit):
        main(["--db", db, "story", INCIDENT, "--format", "markdown"])
    assert capsys.readouterr().out.startswith(f"### Run `{INCIDENT}`")


def test_close_resolutions_on_the_real_logs_are_no_race(tmp_path: Path) -> None:
    """Six pairs of the real runs resolve within 500 ms of each other in commit order: a
    snapshot holding only the first picks the same branch, so none is a race."""
    with tarfile.open(REAL_LOCAL) as tar:
        tar.extractall(tmp_path, filter="data")
    with Store(tmp_path / "wide.duckdb") as store:
        import_paths(store, [tmp_path / ".workflow-data"])
        result = check(store, settings=Settings(race_window_ms=500))
    assert [f.run_id for f in result.findings if f.code == "race-window"] == []


def test_replays_collapse_alike_replays_into_one_row(incident: Store) -> None:
    rr = run_replays(incident.con, INCIDENT)
    rows = collapse_rows(replay_rows(rr, trace_holes(rr)))
    assert [(r["replay"], r["count"]) for r in rows[-4:]] == [
        ("inv269", 1), ("inv327", 1), ("r11", 1), ("inv332 +51", 52)
    ]  # fmt: skip
    assert len(rows[-1]["replays"]) == 52 and rows[-1]["outcome"] == "failed"
