"""Noise collapsed: an unfenced kind of write is one info finding per run; ranks and filters."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dsl import event_id

from forensics.analysis.engine import check
from forensics.analysis.ranks import CAUSE_ORDER, rank, select
from forensics.cli import main
from forensics.store import Store
from tests.replay.test_replay_reconstruct import healthy, load


def _fenced_run(store: Store) -> None:
    """Only B's creation and the run's end carry fences (the latter a stale one)."""
    events = healthy()
    events[6] = replace(events[6], fence_last_event_id=event_id(6))
    events[10] = replace(events[10], fence_last_event_id=event_id(7))
    load(store, events)


def test_unfenced_writes_are_one_info_finding_with_the_count(tmp_store: Store) -> None:
    _fenced_run(tmp_store)
    found = check(tmp_store).findings
    unfenced = [f for f in found if f.code == "unfenced-decision-write"]
    assert len(unfenced) == 1
    f = unfenced[0]
    assert (f.severity, f.event_ids) == ("info", (event_id(3), event_id(4)))
    assert f.evidence["count"] == 2
    assert f.evidence["kinds"] == {"hook_created": 1, "step_created": 1}
    assert "2 replay-origin write(s) carried no fence" in f.explanation
    assert [x.code for x in found] == ["fence-break", "unfenced-decision-write"]


def test_every_code_has_a_rank_and_lists_put_the_root_cause_first() -> None:
    from forensics.analysis.catalogue import all_codes

    assert set(all_codes()) == set(CAUSE_ORDER)

    class F:
        def __init__(self, code: str, severity: str) -> None:
            self.code, self.severity = code, severity

    found = [F("race-window", "warning"), F("duplicate-creation", "error"),
             F("stale-snapshot-write", "error"), F("seed-mismatch", "info")]  # fmt: skip
    assert [f.code for f in sorted(found, key=rank)] == [
        "stale-snapshot-write", "duplicate-creation", "race-window", "seed-mismatch"
    ]  # fmt: skip
    assert [f.code for f in select(found, min_severity="warning", exclude=["race-window"])] == [
        "duplicate-creation", "stale-snapshot-write"
    ]  # fmt: skip


def test_check_shows_errors_and_warnings_unless_asked(
    tmp_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    _fenced_run(tmp_store)
    db = str(tmp_store.path)
    tmp_store.close()

    def codes(*args: str) -> list[str]:
        with pytest.raises(SystemExit):
            main(["--db", db, "check", "--format", "csv", *args])
        out = capsys.readouterr().out.splitlines()[1:]
        return [line.split(",")[1] for line in out]

    assert "unfenced-decision-write" not in codes()
    assert "unfenced-decision-write" in codes("--min-severity", "info")
    assert codes("--code", "fence-break") == ["fence-break"]
    assert "fence-break" not in codes("--exclude-code", "fence-break")
