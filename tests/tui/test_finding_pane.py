"""The finding pane's "fatal in" line says, per code and shape, why no replay fails: a second
`run_completed` is never read by a replay, a cause leads to the failures, a copy taken while
the entity is open is consumed silently; spec 9's inert late events name the era."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from forensics.analysis.catalogue import all_detectors
from forensics.model import Finding
from forensics.tui.widgets.findings_panel import finding_text


def pane(code: str, fatal: tuple[str, ...] = (), severity: str = "error", **evidence: Any) -> str:
    finding = Finding("F1", code, severity, "wrun_1", None, ("evnt_1", "evnt_2"), fatal,
                      None, dict(evidence), "explained")  # fmt: skip
    console = Console(width=200, record=True, color_system=None)
    console.print(finding_text(finding))
    return console.export_text()


def test_a_second_run_completed_is_read_by_no_replay() -> None:
    text = pane("run-lifecycle", problem="several-terminals", judged_in="E3 (workflow 5.x)")
    assert "Fatal in: none. The run had already ended at its first terminal event" in text
    assert "consume" not in text
    assert "Run judged in: E3 (workflow 5.x)" in text


def test_every_code_without_a_fatal_era_gets_a_sentence_that_claims_no_consumer() -> None:
    for detector in all_detectors():
        text = pane(detector.code)
        assert "Fatal in: none. " in text, detector.code
        assert "a replay consumes it" not in text, detector.code
    assert "This is a cause" in pane("stale-snapshot-write")
    assert "takes the copy silently" in pane("duplicate-creation", severity="warning")


def test_a_late_event_inert_from_spec_9_says_so() -> None:
    text = pane("event-after-terminal", ("E0", "E1", "E2"), severity="info", inert_from_spec=9)
    assert "Fatal in: E0 E1 E2. Not in E4, the era this run is judged in" in text
    assert "Breaks world-sim invariant" not in text
