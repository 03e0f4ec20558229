"""The detector catalogue: the issue's codes, each defined and exemplified once."""

from __future__ import annotations

from forensics.analysis.catalogue import BUILTIN as DETECTORS

CODES = tuple(d.code for d in DETECTORS)

ISSUE_CODES = {
    "kind-prefix-mismatch", "missing-creation", "event-after-terminal", "duplicate-creation",
    "step-name-conflict", "token-mismatch", "resume-at-mismatch", "multiple-terminals",
    "hook-self-conflict", "run-lifecycle", "corrupted-log-error", "correlation-body-reuse",
    "correlation-prefix-mismatch", "ordinal-regression", "seed-mismatch", "mint-commit-inversion",
    "guard-blind-spot", "race-window", "stuck-step", "slot-hole", "entity-event-mismatch",
    "conflicting-copies",
}  # fmt: skip


def test_every_code_once() -> None:
    assert (set(CODES), len(CODES)) == (ISSUE_CODES, len(ISSUE_CODES))


def test_every_detector_is_defined_in_one_paragraph_with_an_example() -> None:
    for d in DETECTORS:
        assert d.definition and "\n" not in d.definition, d.code
        assert d.example and d.severity in ("error", "warning", "info"), d.code


def test_replay_detectors_join_by_entry_point() -> None:
    from forensics.analysis.catalogue import all_codes

    replay = {"trace-digest-mismatch", "trace-hole", "trace-foreign-event",
              "replay-mapping-conflict", "stuck-fence", "fence-break", "stale-snapshot-write",
              "unfenced-decision-write"}  # fmt: skip
    assert set(all_codes()) == ISSUE_CODES | replay
