"""Finding codes carry the names of the world-sim invariants they break."""

from __future__ import annotations

from pathlib import Path

from forensics.analysis.catalogue import all_codes
from forensics.analysis.invariants import RULES, invariants_of

README = Path(__file__).resolve().parents[2] / "README.md"


def _events(*types: str) -> dict[str, object]:
    return {"events": [{"event_type": t} for t in types]}


def test_codes_map_to_the_rule_their_witnesses_break() -> None:
    assert invariants_of("run-lifecycle", {"problem": "several-terminals"}) == (
        "run.terminal-is-last",
    )
    assert invariants_of("run-lifecycle", {"problem": "no-run-created"}) == ("run.created-first",)
    late_start = _events("step_completed", "step_started")
    assert invariants_of("event-after-terminal", late_start) == ("step.no-restart-after-terminal",)
    late_hook = _events("hook_disposed", "hook_received")
    assert invariants_of("event-after-terminal", late_hook) == ("hook.no-receive-after-dispose",)
    started_first = _events("step_started", "step_created")
    assert invariants_of("missing-creation", started_first) == ("step.started-after-created",)
    assert invariants_of("multiple-terminals", _events("step_completed", "step_completed")) == (
        "step.terminal-once",
    )
    assert invariants_of("mint-commit-inversion", {}) == ("log.monotonic-order",)
    assert invariants_of("entity-event-mismatch", {"kind": "step"}) == ("step.entity-matches-log",)


def test_codes_without_an_upstream_rule_name_none() -> None:
    assert invariants_of("race-window", _events("hook_received", "wait_completed")) == ()
    assert invariants_of("seed-mismatch", {}) == ()
    assert invariants_of("run-lifecycle", {"problem": "something-else"}) == ()


def test_every_named_rule_is_described_and_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    codes = set(all_codes())
    for code, rules in {
        "run-lifecycle": ("run.terminal-is-last", "run.created-first"),
        "mint-commit-inversion": ("log.monotonic-order",),
    }.items():
        assert code in codes
        for rule in rules:
            assert rule in RULES
            assert f"`{rule}`" in text
    for rule in RULES:
        assert f"`{rule}`" in text, f"README's world-sim table lacks {rule}"
