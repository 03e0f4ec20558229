"""Detectors comparing sources: conflicting copies of an event, entity rows vs events."""

from __future__ import annotations

from dsl import ev
from findings_dsl import at, completed, e, entity, found, load, opening, step

from forensics.analysis.engine import check
from forensics.store import Store


def test_empty_log_has_no_source_findings(tmp_store: Store) -> None:
    assert found(tmp_store) == []


def test_conflicting_copies_of_one_event(tmp_store: Store) -> None:
    events = [*opening(), *step(3, "step_A"), completed(6)]
    load(tmp_store, events, where="export.json")
    other = ev(
        5, "step_completed", "step_A", {"stepName": "step//./workflows/demo//other"}, where="dump"
    )
    load(tmp_store, [other], where="dump.sql")
    result = check(tmp_store)
    copies = [f for f in result.findings if f.code == "conflicting-copies"]
    assert [(f.severity, f.event_ids, f.evidence["differing_fields"]) for f in copies] == [
        ("warning", (e(5),), ["eventData"])
    ]
    assert copies[0].evidence["locations"] == ["test", "dump"]


def test_entity_rows_that_disagree_with_the_events(tmp_store: Store) -> None:
    events = [
        *opening(),
        *step(3, "step_A"),
        ev(6, "wait_created", "wait_W", {"resumeAt": "2026-11-21T10:00:00.000Z"}),
        completed(7),
    ]
    rows = [
        entity("step_A", "step", name="step//./workflows/demo//work", status="completed"),
        entity("wait_W", "wait", status="completed", resume_at=at(0, hours=1)),
        entity("step_X", "step", name="step//./workflows/demo//ghost", status="completed"),
    ]
    load(tmp_store, events, entities=rows)
    result = check(tmp_store, codes=["entity-event-mismatch"])
    assert [(f.correlation_id, f.event_ids, f.evidence["problems"]) for f in result.findings] == [
        ("step_X", (), ["row has no events"]),
        ("wait_W", (e(6),), ["row completed, no wait_completed event"]),
    ]


def test_entity_rows_that_agree_are_not_findings(tmp_store: Store) -> None:
    events = [*opening(), *step(3, "step_A"), completed(6)]
    rows = [entity("step_A", "step", name="step//./workflows/demo//work", status="completed")]
    load(tmp_store, events, entities=rows)
    assert found(tmp_store) == []
