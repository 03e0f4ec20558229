"""5.x behaviours that change a verdict: spec 9's inert late events, the executor's attested
spec version, `noop` fillers with their `noop_<position>` ids, and Python SDK runs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dsl import ev
from findings_dsl import E012, STEP, WF, found, load

from forensics.analysis.engine import check
from forensics.analysis.invariants import invariants_of
from forensics.analysis.versions import effective_spec, judgement
from forensics.model import EventRecord
from forensics.store import Store

CORE = "5.0.0-beta.55"


def slot(n: int, event_type: str, cid: str | None = None, data: Any = None, *, spec: int = 7,
         **fields: Any) -> EventRecord:  # fmt: skip
    """Event `n` of a slot-id log (the id is its position)."""
    return replace(ev(n, event_type, cid, data, **fields), event_id="evnt_" + str(n).zfill(26),
                   spec_version=spec)  # fmt: skip


def sid(n: int) -> str:
    return "evnt_" + str(n).zfill(26)


def opening(spec: int, started: dict[str, Any] | None = None) -> list[EventRecord]:
    created = {"deploymentId": "dpl_local@x", "workflowName": WF,
               "executionContext": {"workflowCoreVersion": CORE}}  # fmt: skip
    return [slot(1, "run_created", None, created, spec=spec),
            slot(2, "run_started", None, started or {}, spec=spec)]  # fmt: skip


def late_start(spec: int, started: dict[str, Any] | None = None) -> list[EventRecord]:
    """A step that completes, then a `step_started` redelivered after it, in a completed run."""
    name = {"stepName": STEP}
    return [
        *opening(spec, started),
        slot(3, "step_created", "step_A", name, spec=spec),
        slot(4, "step_started", "step_A", name, spec=spec),
        slot(5, "step_completed", "step_A", name, spec=spec),
        slot(6, "step_started", "step_A", name, spec=spec),
        slot(7, "run_completed", None, {}, spec=spec),
    ]


def test_a_late_event_is_an_error_up_to_spec_8_and_inert_from_spec_9(tmp_store: Store) -> None:
    load(tmp_store, [replace(e, run_id=f"wrun_{spec}") for spec in (7, 9)
                     for e in late_start(spec)])  # fmt: skip
    result = check(tmp_store, codes=["event-after-terminal"])
    by_run = {f.run_id: f for f in result.findings}
    assert (by_run["wrun_7"].severity, by_run["wrun_7"].fatal_in) == ("error", E012)
    assert by_run["wrun_7"].evidence["judged_in"] == f"E3 (workflow {CORE}, spec 7)"
    nine = by_run["wrun_9"]
    assert (nine.severity, nine.fatal_in, nine.event_ids) == ("info", E012,
                                                              (sid(5), sid(6)))  # fmt: skip
    assert nine.evidence["inert_from_spec"] == 9
    assert nine.evidence["judged_in"] == f"E4 (workflow {CORE}, spec 9)"
    assert "inert, so this is information, not a violation" in (nine.explanation or "")
    assert {v.run_id: v.verdict for v in check(tmp_store).runs} == {
        "wrun_7": "anomalous", "wrun_9": "ok"}  # fmt: skip


def test_executor_spec_version_raises_the_run_where_upstream_does(tmp_store: Store) -> None:
    # stamped 8, the executor attests 9 on the run_started that takes slot 2: the log held
    # only run_created, so the structural raise to 9 is allowed and the late start is inert
    load(tmp_store, late_start(8, {"executorSpecVersion": 9}))
    [finding] = check(tmp_store, codes=["event-after-terminal"]).findings
    assert finding.severity == "info"
    assert finding.evidence["judged_in"] == f"E4 (workflow {CORE}, spec 9)"


def test_effective_spec_follows_upstreams_raise_rule() -> None:
    assert effective_spec(7, 8, fresh_log=False) == 8  # 8 is capability only
    assert effective_spec(7, 9, fresh_log=False) == 7  # 9 is structural: only on a fresh log
    assert effective_spec(7, 9, fresh_log=True) == 9
    assert effective_spec(5, 8, fresh_log=False) == 5  # crosses 6 and 7
    assert effective_spec(9, 8, fresh_log=True) == 9  # never lowered
    assert effective_spec(None, 9, fresh_log=True) is None


def test_noop_fillers_keep_their_slot_and_are_no_entity(tmp_store: Store) -> None:
    name = {"stepName": STEP}
    events = [
        *opening(7),
        slot(3, "step_created", "step_A", name),
        slot(4, "noop", "noop_4", {"sealed": True}),  # a writer took slot 4 and died
        slot(5, "step_started", "step_A", name),
        slot(6, "step_completed", "step_A", name),
        slot(7, "run_completed", None, {}),
    ]
    load(tmp_store, events)
    assert found(tmp_store) == []
    assert {v.verdict for v in check(tmp_store).runs} == {"ok"}


def test_python_sdk_runs_are_recognised_and_judged_by_their_own_versions(
    tmp_store: Store,
) -> None:
    created = slot(1, "run_created", None, {"deploymentId": "dpl_py", "workflowName": "wf"},
                   payload_field="input", payload_raw=b'json[[], {}]', payload_decoded=[[], {}],
                   payload_format="json-prefixed")  # fmt: skip
    name = {"stepName": "app.steps:work"}
    events = [
        created,
        slot(2, "run_started"),
        slot(3, "step_created", "step_A", name),
        slot(4, "step_completed", "step_A", name),
        slot(5, "step_started", "step_A", name),
        slot(6, "run_completed", None, {}),
    ]
    load(tmp_store, events)
    [finding] = check(tmp_store, codes=["event-after-terminal"]).findings
    assert finding.evidence["judged_in"] == "E3 (Python SDK, spec 7)"
    assert judgement(None, 7, python=True).line.name == "Python SDK (slot ids)"
    assert not judgement(None, 7, python=True).line.seed_known


def test_a_second_run_completed_is_an_error_at_spec_7_and_information_at_spec_9(
    tmp_store: Store,
) -> None:
    # the shape world-local 5.0.0-beta.46 wrote under load: run_completed twice
    def log(spec: int) -> list[EventRecord]:
        name = {"stepName": STEP}
        events = [
            *opening(spec),
            slot(3, "step_created", "step_A", name, spec=spec),
            slot(4, "step_started", "step_A", name, spec=spec),
            slot(5, "step_completed", "step_A", name, spec=spec),
            slot(6, "run_completed", None, {}, spec=spec),
            slot(7, "run_completed", None, {}, spec=spec),
        ]
        return [replace(e, run_id=f"wrun_{spec}") for e in events]

    load(tmp_store, [*log(7), *log(9)])
    found_ = {f.run_id: f for f in check(tmp_store, codes=["run-lifecycle"]).findings}
    assert (found_["wrun_7"].severity, found_["wrun_7"].event_ids) == ("error", (sid(6), sid(7)))
    assert (found_["wrun_9"].severity, found_["wrun_9"].evidence["inert_from_spec"]) == ("info", 9)


def test_an_inert_late_event_names_no_world_sim_invariant() -> None:
    late = {"events": [{"event_type": "step_completed"}, {"event_type": "step_started"}]}
    assert invariants_of("event-after-terminal", late) == ("step.no-restart-after-terminal",)
    assert invariants_of("event-after-terminal", {**late, "inert_from_spec": 9}) == ()
