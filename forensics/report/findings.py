"""The findings of one run as the report shows them: stored results of `forensics check`.

`findings_info` reads the run's rows of the `findings` table (errors first) with each
witness event's log position, so the page can say "#207" and the timeline can ring the
same events; `witness_map` is what the timeline takes. Families come from the detector
catalogue and decide which figures a finding links to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from forensics.analysis.catalogue import by_code
from forensics.analysis.invariants import invariants_of
from forensics.report._query import Con, fetch, has_table

_ORDER = "CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"


@dataclass(frozen=True, slots=True)
class FindingInfo:
    finding_id: str
    code: str
    family: str  # lifecycle | identity | run | ids | timing | sources | unknown
    severity: str
    correlation_id: str | None
    event_ids: tuple[str, ...]
    positions: tuple[int | None, ...]  # log position of each witness (None: not in the log)
    fatal_in: tuple[str, ...]
    replay_message: str | None
    explanation: str
    invariants: tuple[str, ...] = ()  # the world-sim rules it breaks


def findings_info(con: Con, run_id: str) -> tuple[FindingInfo, ...]:
    """The stored findings of `run_id`, errors first, then warnings, then notes."""
    if not has_table(con, "findings"):
        return ()
    rows = fetch(
        con,
        "SELECT finding_id, code, severity, correlation_id, event_ids, fatal_in,"
        f" replay_message, explanation, evidence FROM findings WHERE run_id = ?"
        f" ORDER BY {_ORDER}, code, finding_id",
        [run_id],
    )
    ids = sorted({e for r in rows for e in r["event_ids"]})
    where = {
        str(r["event_id"]): int(r["log_position"])
        for r in fetch(
            con,
            "SELECT event_id, log_position FROM run_log"
            " WHERE run_id = ? AND list_contains(?, event_id)",
            [run_id, ids],
        )
    }
    return tuple(
        FindingInfo(
            finding_id=str(r["finding_id"]),
            code=str(r["code"]),
            family=_family(str(r["code"])),
            severity=str(r["severity"]),
            correlation_id=r["correlation_id"],
            event_ids=tuple(r["event_ids"]),
            positions=tuple(where.get(e) for e in r["event_ids"]),
            fatal_in=tuple(r["fatal_in"]),
            replay_message=r["replay_message"],
            explanation=str(r["explanation"] or ""),
            invariants=invariants_of(str(r["code"]), _evidence(r["evidence"])),
        )
        for r in rows
    )


def _evidence(value: object) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}


def witness_map(findings: Sequence[FindingInfo]) -> dict[str, tuple[str, ...]]:
    """Event id → the codes of the findings it witnesses (each code once, in order)."""
    out: dict[str, list[str]] = {}
    for f in findings:
        for e in f.event_ids:
            codes = out.setdefault(e, [])
            if f.code not in codes:
                codes.append(f.code)
    return {e: tuple(c) for e, c in out.items()}


def _family(code: str) -> str:
    detector = by_code().get(code)
    return detector.family if detector else "unknown"
