"""What a detector returns before the engine gives it an id and an explanation: a `Hit`.

A hit is plain data: the code, severity, run, entity, witness event ids (log order), the eras
whose replay fails on it with the message the first of them printed, and an evidence object.
`finding_id` derives a stable id from the code, the run and the witness, so the same anomaly
keeps its id from one check to the next and across stores.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from forensics.analysis.eras import unconsumed_eras, unconsumed_message
from forensics.model import Finding


@dataclass(frozen=True)
class Hit:
    code: str
    severity: str
    run_id: str
    correlation_id: str | None
    event_ids: tuple[str, ...]
    fatal_in: tuple[str, ...] = ()
    replay_message: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def finding(self, explanation: str = "", evidence: dict[str, Any] | None = None) -> Finding:
        return Finding(
            finding_id=finding_id(self.code, self.run_id, self.event_ids, self.correlation_id),
            code=self.code,
            severity=self.severity,
            run_id=self.run_id,
            correlation_id=self.correlation_id,
            event_ids=self.event_ids,
            fatal_in=self.fatal_in,
            replay_message=self.replay_message,
            evidence=evidence if evidence is not None else self.evidence,
            explanation=explanation,
        )


def finding_id(code: str, run_id: str, event_ids: tuple[str, ...], cid: str | None) -> str:
    """`F` + 16 hex digits of a hash of what identifies the anomaly (the entity when no event)."""
    parts = [code, run_id, *event_ids] if event_ids else [code, run_id, cid or ""]
    return "F" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def unconsumed(
    event_type: str,
    cid: str | None,
    event_id: str,
    consumed_before: Any = (),
    *,
    after_terminal: bool = False,
) -> tuple[tuple[str, ...], str]:
    """`fatal_in` and the first fatal era's message for an event that nobody consumes."""
    eras = unconsumed_eras(event_type, consumed_before, after_terminal=after_terminal)
    return eras, unconsumed_message(eras[0], event_type, cid, event_id)


def in_log_order(*event_ids: str | None) -> tuple[str, ...]:
    """Distinct ids, sorted as the log sorts them (eventId order)."""
    return tuple(sorted({e for e in event_ids if e}))
