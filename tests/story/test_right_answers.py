"""Right answers: every copy is a witness, one witness gets one verdict, events and eras have
different names."""

from __future__ import annotations

from dsl import ev

from forensics.analysis.engine import check
from forensics.store import Store
from tests.analysis.findings_dsl import completed, e, load, opening

NAME = {"stepName": "step//./workflows/demo//work"}


def test_an_entity_created_four_times_is_explained_with_all_four(tmp_store: Store) -> None:
    events = [
        *opening(),
        *[ev(n, "step_created", "step_A", NAME) for n in (3, 4, 5, 6)],
        ev(7, "step_started", "step_A", NAME),
        ev(8, "step_completed", "step_A", NAME),
        completed(9),
    ]
    load(tmp_store, events)
    [f] = [f for f in check(tmp_store).findings if f.code == "duplicate-creation"]
    assert f.event_ids == (e(3), e(4), e(5), e(6))
    assert f.explanation.startswith(
        "#3 creates the entity and #4, #5 and #6 create it again before it ended"
    )
    assert "4 writers" in f.explanation
    assert [x["event_id"] for x in f.evidence["events"]] == [e(3), e(4), e(5), e(6)]


def test_explanations_name_events_by_position_and_define_eras(tmp_store: Store) -> None:
    events = [
        *opening(),
        ev(3, "step_created", "step_A", NAME),
        ev(4, "step_started", "step_A", NAME),
        ev(5, "step_completed", "step_A", NAME),
        ev(6, "step_started", "step_A", NAME),
        completed(7),
    ]
    load(tmp_store, events)
    [f] = check(tmp_store).findings
    assert "E1 =" not in f.explanation and "Let " not in f.explanation
    assert f.explanation.startswith("#6 (step_started) arrives after #5")
    assert "runtime era E0-E2 (E0 (up to Nov 2025, workflow 4.0 betas, spec 1);" in f.explanation
