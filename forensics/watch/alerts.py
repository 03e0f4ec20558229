"""What a watch announces: one `Alert` per new finding, a flat JSON object on one line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from forensics.model import SEVERITIES

_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=\.)\s+(?=[A-Z`])")
SUMMARY_CHARS = 200


@dataclass(frozen=True)
class Alert:
    """A finding as announced: when, which run, which anomaly, how bad, which events, and a
    one-line summary (`forensics explain RUN` gives the whole story). `finding_id` is stable,
    so a receiver can drop an alert it was given twice."""

    at: str
    run_id: str
    code: str
    severity: str
    event_ids: tuple[str, ...]
    summary: str
    finding_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "run_id": self.run_id,
            "code": self.code,
            "severity": self.severity,
            "event_ids": list(self.event_ids),
            "summary": self.summary,
            "finding_id": self.finding_id,
        }


def alert_of(finding: dict[str, Any], at: datetime) -> Alert:
    """The alert of a stored finding row (see `store.alerts.unannounced`)."""
    return Alert(
        at=at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        run_id=str(finding["run_id"]),
        code=str(finding["code"]),
        severity=str(finding["severity"]),
        event_ids=tuple(finding["event_ids"] or ()),
        summary=summary(str(finding.get("explanation") or ""), str(finding["code"])),
        finding_id=str(finding["finding_id"]),
    )


def summary(explanation: str, code: str) -> str:
    """What went wrong, in one line: the explanation's first sentence after its "Let …"
    naming of the events (E1, E2 … are the alert's `event_ids`), at most `SUMMARY_CHARS`."""
    text = _SPACE.sub(" ", explanation).strip()
    if not text:
        return f"{code} (no explanation stored)"
    sentences = _SENTENCE.split(text)
    said = next((t for t in sentences if not t.startswith("Let ")), sentences[0])
    said = said.removeprefix("Then ")
    said = said[:1].upper() + said[1:]
    if len(said) > SUMMARY_CHARS:
        said = said[: SUMMARY_CHARS - 1].rstrip() + "…"
    return said


def at_least(severity: str, minimum: str) -> bool:
    """Whether `severity` is `minimum` or worse (error > warning > info)."""
    rank = {name: n for n, name in enumerate(SEVERITIES)}
    return rank.get(severity, len(SEVERITIES)) <= rank[minimum]
