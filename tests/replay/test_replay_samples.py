"""The bundled incident and race-shape traces read as the incident review reads them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from forensics.analysis import scan as scanning
from forensics.analysis.catalogue import Context
from forensics.analysis.scan import Settings
from forensics.replay.checks import trace_holes
from forensics.replay.detectors import DETECTORS
from forensics.replay.diff import diff, resolve
from forensics.replay.fences import fence_chain
from forensics.replay.findings import CODES, candidate_runs, findings_of
from forensics.replay.log import load_log
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.views import diff_info, replay_summary
from forensics.replay.whatif import what_if
from forensics.store import Store
from tests.replay.conftest import TRACED

INCIDENT = next(r for r in TRACED if r["run_id"] == "wrun_01KSNVVXH82P5GM40D6F9152JF")
WAIT_COMPLETED, PMW_COMPLETED, W1 = INCIDENT["witness"]["race-window"]
W2 = INCIDENT["witness"]["duplicate-creation"][1]
DRAIN, SYNC = "step//./workflows/replicate//drain", "step//./workflows/replicate//sync"


@pytest.fixture
def incident(traced_store: Store) -> RunReplays:
    return run_replays(traced_store.con, INCIDENT["run_id"])


def sha(rr: RunReplays, keep: list[int]) -> str:
    """The digest formula written out again, over stored log events (0-based indexes)."""
    text = "".join(
        f"{e.event_id}|{e.event_type}|{e.correlation_id or ''}|{e.step_name or ''}\n"
        for e in (rr.log.events[i] for i in keep)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_incident_has_two_digest_groups_two_writers_and_52_failures(
    incident: RunReplays,
) -> None:
    traced = [r for r in incident.replays if r.source == "trace"]
    groups: dict[str, list[str]] = {}
    for r in traced:
        groups.setdefault(r.snapshot.digest or "", []).append(r.id)
    wrote = {r.id: [incident.log.events[i].event_id for i in r.writes] for r in traced if r.writes}
    assert wrote == {"inv269": [W1], "inv327": [W2]}
    stale = [i for i in range(206) if i != incident.log.by_id[WAIT_COMPLETED]]
    assert {d: len(ids) for d, ids in groups.items()} == {
        sha(incident, stale): 2, sha(incident, list(range(208))): 52
    }  # fmt: skip
    failed = [r for r in traced if r.outcome == "failed"]
    assert len(failed) == 52 and "inv400" in {r.id for r in failed}
    assert {"inv341.pid8", "inv341.pid11"} <= {r.id for r in failed}
    assert {(m.correlation_id, m.expected, m.found, m.event_id, m.event_index)
            for r in failed if (m := r.mismatch)} == {
        (incident.log.events[206].correlation_id, SYNC, DRAIN, W1, 206)
    }  # fmt: skip
    assert replay_summary(incident) == (
        "wrun_01KSNVVXH82P5GM40D6F9152JF: 54 traced replays in 2 digest group(s)"
        " (2 wrote, 52 failed); 11 reconstructed (commit order: write time);"
        " replay order: eventId (the 4.x runtime loads the log in eventId order)"
    )
    assert {k: v for k, v in trace_holes(incident).items() if v} == {
        "inv269": trace_holes(incident)["inv269"], "inv327": trace_holes(incident)["inv269"]
    }  # fmt: skip
    assert trace_holes(incident)["inv269"].missing == (incident.log.by_id[WAIT_COMPLETED],)


def _event(rr: RunReplays, event_id: str, position: int) -> dict[str, Any]:
    e = rr.log.events[rr.log.by_id[event_id]]
    labels = {"wait_completed": "wait_completed PMP", "step_created": "step_created PMX (drain)",
              "step_completed": "step_completed PMW (copyShard)"}  # fmt: skip
    return {"position": position, "event_id": event_id, "event_type": e.event_type,
            "correlation_id": e.correlation_id, "step_name": e.step_name,
            "label": labels[e.event_type]}  # fmt: skip


def test_diff_of_a_writer_and_a_failure_explains_the_race(incident: RunReplays) -> None:
    info = diff_info(incident, diff(resolve(incident, "inv269"), resolve(incident, "inv400")))
    pmx = incident.log.events[incident.log.by_id[W1]].correlation_id
    stale = [i for i in range(206) if i != incident.log.by_id[WAIT_COMPLETED]]
    assert json.loads(json.dumps(info)) == {
        "run_id": "wrun_01KSNVVXH82P5GM40D6F9152JF",
        "a": {"label": "inv269", "kind": "replay", "events": 205, "digest": sha(incident, stale),
              "replays": ["inv269"], "writes": ["#207 step_created PMX (drain)"],
              "mismatch": None},
        "b": {"label": "inv400", "kind": "replay", "events": 208,
              "digest": sha(incident, list(range(208))), "replays": ["inv400"], "writes": [],
              "mismatch": "PMX: expected sync, log has drain @207"},
        "only_in_a": [],
        "only_in_b": [_event(incident, WAIT_COMPLETED, 205), _event(incident, W1, 207),
                      _event(incident, W2, 208)],
        "moved": [],
        "first_divergence": {"position": 205, "a": _event(incident, PMW_COMPLETED, 205),
                             "b": _event(incident, WAIT_COMPLETED, 205)},
        "mapping_conflicts": [{"correlation_id": pmx, "short": "PMX", "ordinal": 12,
                               "a": [DRAIN], "b": [SYNC]}],
        "explanation": [
            "inv400's snapshot contains wait_completed PMP, committed 58 ms before inv269 wrote"
            " step_created PMX (drain); it sorts below inv269's last loaded event, so inv269"
            " read a log with a hole in it",
            "2 more event(s) only inv400 loaded came after inv269 wrote step_created PMX (drain)",
            "inv269 allocates PMX (ordinal 12) to drain, inv400 to sync: their snapshots sent"
            " the workflow down different branches before that draw",
            "inv400 failed with a step mismatch on PMX at event 207: it expected sync, the log"
            " holds drain, the step_created inv269 wrote",
        ],
    }  # fmt: skip


def test_a_digest_group_against_the_final_log(incident: RunReplays) -> None:
    a = resolve(incident, sha(incident, [i for i in range(206) if i != 204])[:8])
    assert [r.id for r in a.replays] == ["inv269", "inv327"]
    d = diff(a, resolve(incident, "log"))
    assert [p.item[0] for p in d.only_b] == [WAIT_COMPLETED, W1, W2]
    assert d.conflicts == ()
    up_to = diff(resolve(incident, "inv269"), resolve(incident, f"log@{PMW_COMPLETED[-6:]}"))
    assert ([p.item[0] for p in up_to.only_b], up_to.only_a) == ([WAIT_COMPLETED], ())


def test_the_fence_chain_and_what_each_design_would_have_done(incident: RunReplays) -> None:
    chain = fence_chain(incident)
    flagged = {incident.log.events[r.index].event_id: r for r in chain if r.verdict != "ok"}
    assert set(flagged) == {W1, W2}
    first = flagged[W1]
    assert (first.verdict, first.writer, first.fence_source, first.symmetry, first.cause) == (
        "stale-snapshot-write", "inv269", "trace", "asymmetric", "mint/commit inversion",
    )  # fmt: skip
    assert (first.fence, first.chained_from) == (PMW_COMPLETED, WAIT_COMPLETED)
    assert [incident.log.events[j].event_id for j in flagged[W2].missed] == [WAIT_COMPLETED, W1]
    outcomes = {o.design: o for o in what_if(incident, chain)}
    w1, w2 = incident.log.by_id[W1], incident.log.by_id[W2]
    assert {k: (o.rejected, o.prevented) for k, o in outcomes.items()} == {
        "tail": ((w1, w2), True), "state-updated-at": ((), False),
        "state-event-count": ((), False), "in-band": ((w1, w2), True),
    }  # fmt: skip


@pytest.mark.parametrize("run", TRACED, ids=lambda r: f"{r['shape']}-{r['run_id'][-4:]}")
def test_each_traced_sample_gives_its_replay_codes(
    traced_store: Store, run: dict[str, Any]
) -> None:
    rr = run_replays(traced_store.con, run["run_id"])
    codes = sorted({f.code for f in findings_of(rr)})
    assert codes == run["replay_codes"]
    assert all(r.traced.digest == r.traced.logged_digest for r in rr.replays if r.traced)


def test_candidate_runs_are_the_traced_and_fenced_ones(traced_store: Store) -> None:
    fenced = {r[0] for r in traced_store.query(
        "SELECT DISTINCT run_id FROM events WHERE fence_last_event_id IS NOT NULL")[1]}  # fmt: skip
    assert set(candidate_runs(traced_store.con)) == {r["run_id"] for r in TRACED} | fenced


def test_the_detectors_answer_inside_a_check_scan(traced_store_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "scan.duckdb"
    shutil.copy(traced_store_path, copy)
    with Store(copy) as store:
        con = store.cursor()
        settings = Settings()
        scanning.facts(con, settings, None)
        runs = [r[0] for r in con.execute("SELECT run_id FROM _fx_facts").fetchall()]
        scan = scanning.stage(con, runs, settings)
        hits = [h for d in DETECTORS for h in d.run(Context(scan))]
        con.close()
    by_run: dict[str, set[str]] = {}
    for h in hits:
        by_run.setdefault(h.run_id, set()).add(h.code)
    expected = {r["run_id"]: set(r["replay_codes"]) for r in TRACED if r["replay_codes"]}
    assert by_run == expected
    assert {d.code for d in DETECTORS} == set(CODES)
    conflict = next(h for h in hits if h.code == "replay-mapping-conflict"
                    and h.run_id == INCIDENT["run_id"])  # fmt: skip
    assert (conflict.fatal_in, conflict.event_ids) == (("E1", "E2", "E3", "E4"), (W1, W2))
    assert conflict.replay_message == (
        f"Corrupted event log: step event step_created for {conflict.correlation_id} belongs to"
        f' "{DRAIN}", but the current step consumer is "{SYNC}"'
    )


def test_the_log_names_the_workflow_and_start_as_the_runs_view_does(traced_store: Store) -> None:
    """`load_log` reads the run record and the `run_created` event itself, not the view."""
    rows = traced_store.con.execute(
        "SELECT run_id, workflow_name, started_at FROM runs ORDER BY run_id"
    ).fetchall()
    assert any(workflow for _, workflow, _ in rows)
    for run_id, workflow, started in rows:
        log = load_log(traced_store.con, run_id)
        assert (log.workflow_name, log.started_at) == (workflow, started), run_id
