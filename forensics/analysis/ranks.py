"""How findings are ranked: by severity, then by how directly a code explains a failure.

A list of findings puts the root cause first: a write decided from a stale snapshot (or a
broken fence) explains the name conflicts and duplicate creations it leaves behind, which
explain the replay errors the run failed on; timing warnings that only say a race was
possible come after them, and properties of the writer (an unfenced kind of write) last.
Codes this table does not know (plug-in detectors) rank after the known ones of their
severity. `--min-severity` and the TUI's default view read `SEVERITIES` from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Protocol, TypeVar

from forensics.model import SEVERITIES

CAUSE_ORDER: Final = (
    "stale-snapshot-write",
    "fence-break",
    "stuck-fence",
    "replay-mapping-conflict",
    "step-name-conflict",
    "token-mismatch",
    "resume-at-mismatch",
    "hook-self-conflict",
    "duplicate-creation",
    "multiple-terminals",
    "event-after-terminal",
    "kind-prefix-mismatch",
    "correlation-body-reuse",
    "correlation-prefix-mismatch",
    "corrupted-log-error",
    "run-lifecycle",
    "trace-hole",
    "race-window",
    "mint-commit-inversion",
    "guard-blind-spot",
    "trace-foreign-event",
    "trace-digest-mismatch",
    "missing-creation",
    "ordinal-regression",
    "stuck-step",
    "slot-hole",
    "entity-event-mismatch",
    "conflicting-copies",
    "unfenced-decision-write",
    "seed-mismatch",
)
_RANK: Final = {code: n for n, code in enumerate(CAUSE_ORDER)}
DEFAULT_MIN_SEVERITY: Final = "warning"
"""What lists show unless asked for more: errors and warnings."""


class Ranked(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> str: ...


T = TypeVar("T", bound=Ranked)


def severity_rank(severity: str) -> int:
    """0 for error, 1 warning, 2 info (3 for anything else)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def code_rank(code: str) -> int:
    """The code's place in `CAUSE_ORDER` (unknown codes after every known one)."""
    return _RANK.get(code, len(CAUSE_ORDER))


def rank(f: Ranked) -> tuple[int, int, str]:
    """Sort key: severity, then cause order, then code."""
    return (severity_rank(f.severity), code_rank(f.code), f.code)


def at_least(severity: str, minimum: str) -> bool:
    """Whether `severity` is `minimum` or worse."""
    return severity_rank(severity) <= severity_rank(minimum)


def select(
    findings: Iterable[T],
    *,
    min_severity: str = "info",
    codes: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> list[T]:
    """The findings a list shows: at least `min_severity`, in `codes`, not in `exclude`."""
    wanted = set(codes) if codes else None
    dropped = set(exclude)
    return [
        f
        for f in findings
        if at_least(f.severity, min_severity)
        and (wanted is None or f.code in wanted)
        and f.code not in dropped
    ]
