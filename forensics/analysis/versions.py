"""Which runtime wrote a run, and which of the detectors' assumptions hold for its log.

The one place where rules learn what changed between engine versions. A run's line comes from
the `workflowCoreVersion` its `run_created` carries (`executionContext`), else from its spec
version: the 4.x line (and older) mints ULID event ids before the write commits and replays
in event-id order; the 5.x line replays a log whose order is its commit order (slot positions
allocated at commit from spec 6; a (createdAt, eventId) listing on ULID worlds), draws
correlation ids with the run id's time and a seed it does not log, and world-local's 5.x ULID
worlds mint the ids of one write in no particular order. Detectors ask `line_of` and the
`Line` answers; the table `BEHAVIOURS` says which version brought each change, for README and
for explanations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import duckdb

from forensics.analysis.scan import Scan

SPEC_SLOT_IDS: Final = 6
"""From this spec version event ids are slot positions, allocated when the write commits."""


@dataclass(frozen=True)
class Line:
    """What a run's writer did, as far as the detectors are concerned."""

    name: str
    cid_time_from_run_id: bool
    """Correlation ids carry the run id's time (5.x) instead of the run's `startedAt` (4.x)."""
    seed_known: bool
    """The replay's PRNG seed is known (`runId:workflowName:startedAt`), so B0 and unnamed
    hook tokens can be reproduced."""
    log_order_is_commit_order: bool
    """Every snapshot a replay loads is a prefix of the final log: no event commits after a
    later-sorted one, so id/commit inversions and stale-branch races cannot arise."""
    one_write_any_id_order: bool
    """Events written together (same `createdAt` millisecond) may carry ids in any order."""


LINE_4: Final = Line("4.x", False, True, False, False)
LINE_5: Final = Line("5.x", True, False, True, False)
LINE_5_LOCAL_ULID: Final = Line("5.x (world-local, ULID ids)", True, False, True, True)

BEHAVIOURS: Final = (
    ("correlation ids take the run id's time; the seed is not in the log", "workflow 5.0.0"),
    ("the log is read in commit order (createdAt, eventId); snapshots are prefixes", "5.0.0"),
    (
        "ids of one write minted in any order (step_started before step_created)",
        "world-local 5.0.0-beta.29",
    ),
    ("slot event ids, allocated at commit, unique per run", "spec 6 (world-local 5.0.0-beta.46)"),
    ("sealed log: `noop` fills an abandoned slot", "spec 7"),
    ("events after an entity's terminal event ignored", "spec 9"),
)

_MAJOR = re.compile(r"^\s*v?(\d+)\.")


def major_version(version: str | None) -> int | None:
    """The major version of a semver string (`5.0.0-beta.35` -> 5), None when unreadable."""
    m = _MAJOR.match(version or "")
    return int(m.group(1)) if m else None


def line_of(
    core_version: str | None, spec_version: int | None, deployment_id: str | None = None
) -> Line:
    """The line of a run from its `workflowCoreVersion`, spec version and deployment id.

    Without a core version a spec of 6 or more (slot ids) is the 5.x line; anything else is
    judged by the 4.x rules, as before versions were known."""
    major = major_version(core_version)
    newer = (major is not None and major >= 5) or (
        major is None and (spec_version or 0) >= SPEC_SLOT_IDS
    )
    if not newer:
        return LINE_4
    local = (deployment_id or "").startswith("dpl_local@")
    if local and (spec_version or 0) < SPEC_SLOT_IDS:
        return LINE_5_LOCAL_ULID
    return LINE_5


def run_lines(scan: Scan) -> dict[str, Line]:
    """The line of every run being analysed (from `_fx_facts`)."""
    rows = scan.rows(
        "SELECT run_id, core_version, spec_version, deployment FROM _fx_facts"
        " WHERE run_id IN (SELECT run_id FROM _fx_scope)"
    )
    return {
        r["run_id"]: line_of(r["core_version"], r["spec_version"], r["deployment"]) for r in rows
    }


_OPENING_SQL: Final = """
SELECT json_extract_string(event_data, '$.executionContext.workflowCoreVersion'),
    spec_version, json_extract_string(event_data, '$.deploymentId')
FROM events WHERE run_id = ? AND event_type = 'run_created' AND NOT staged
ORDER BY import_id LIMIT 1
"""


def line_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> Line:
    """The line of one run, from its `run_created` (the 4.x rules when it has none)."""
    rows = con.execute(_OPENING_SQL, [run_id]).fetchall()
    return line_of(rows[0][0], rows[0][1], rows[0][2]) if rows else LINE_4
