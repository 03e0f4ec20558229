"""Which runtime wrote a run, and which of the detectors' assumptions hold for its log.

The one place where rules learn what changed between engine versions. A run's line comes from
the `workflowCoreVersion` its `run_created` carries (`executionContext`), else from its spec
version: the 4.x line (and older) mints ULID event ids before the write commits and replays
in event-id order; the 5.x line replays a log whose order is its commit order (slot positions
allocated at commit from spec 6; a (createdAt, eventId) listing on ULID worlds), draws
correlation ids with the run id's time and a seed it does not log, and world-local's 5.x ULID
worlds mint the ids of one write in no particular order. The Python SDK (recognised by its
`json`-prefixed payloads) writes into the same worlds at its own spec versions and draws
correlation ids with the run's `startedAt` from a PRNG of its own. Detectors ask `line_of`
and the `Line` answers; `judgement` adds the run's effective spec version (a `run_started`'s
`executorSpecVersion` raises it where upstream's backend does) and the runtime era the run is
judged in; `forensics.analysis.eras.ERA_RULES` says which release brought each behaviour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import duckdb

from forensics.analysis.scan import Scan

SPEC_SLOT_IDS: Final = 6
"""From this spec version event ids are slot positions, allocated when the write commits."""
SPEC_SEALED_LOG: Final = 7
"""From this spec version a `noop` may fill an abandoned slot; the replay steps over it."""
SPEC_SINGLE_ORCHESTRATOR: Final = 9
"""From this spec version any event of an entity after its terminal event is inert."""
CAPABILITY_ONLY_SPECS: Final = frozenset({3, 4, 5, 8})
"""Spec versions a backend may raise a running run across (upstream's
`CAPABILITY_ONLY_SPEC_VERSIONS`); the others change how the log is laid out or read."""


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
LINE_PY: Final = Line("Python SDK", False, False, False, False)
LINE_PY_SLOTS: Final = Line("Python SDK (slot ids)", False, False, True, False)
PYTHON_PAYLOAD: Final = "json-prefixed"
"""The payload format of every payload the Python SDK writes (`json` + JSON text)."""

_MAJOR = re.compile(r"^\s*v?(\d+)\.")


def major_version(version: str | None) -> int | None:
    """The major version of a semver string (`5.0.0-beta.35` -> 5), None when unreadable."""
    m = _MAJOR.match(version or "")
    return int(m.group(1)) if m else None


def line_of(
    core_version: str | None,
    spec_version: int | None,
    deployment_id: str | None = None,
    *,
    python: bool = False,
) -> Line:
    """The line of a run from its `workflowCoreVersion`, spec version and deployment id.

    Without a core version a spec of 6 or more (slot ids) is the 5.x line; anything else is
    judged by the 4.x rules, as before versions were known. A Python SDK run (`python`) is
    its own line: slot ids from spec 6, correlation ids on `startedAt`, no known seed."""
    if python:
        return LINE_PY_SLOTS if (spec_version or 0) >= SPEC_SLOT_IDS else LINE_PY
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


def effective_spec(stamped: int | None, executor: int | None, fresh_log: bool) -> int | None:
    """The spec version a run is read at, after a `run_started`'s `executorSpecVersion`.

    Upstream's backend raises a run that is not over to its executor's attested version
    when every version crossed is capability-only, or when the log holds nothing but
    `run_created` yet (`fresh_log`); otherwise the stamped version stays."""
    if stamped is None or executor is None or executor <= stamped:
        return stamped
    crossed = range(stamped + 1, executor + 1)
    return executor if fresh_log or all(v in CAPABILITY_ONLY_SPECS for v in crossed) else stamped


@dataclass(frozen=True)
class Judgement:
    """How one run is judged: its line, the effective spec version and the runtime era."""

    line: Line
    spec: int | None
    era: str
    writer: str
    """`workflow 5.0.0-beta.55`, `workflow 5.x`, `Python SDK`, `workflow 4.x`, …"""

    @property
    def inert_after_terminal(self) -> bool:
        """Events of an entity after its terminal event are inert (spec 9 on)."""
        return self.era == "E4"

    def describe(self) -> str:
        spec = f", spec {self.spec}" if self.spec is not None else ""
        return f"{self.era} ({self.writer}{spec})"


def era_of(line: Line, spec: int | None, legacy: bool = False) -> str:
    """The runtime era a run is judged in: E0 for spec 1 (or `workflow_*` events), E1-E2 for
    the rest of the 4.x line (the log does not say which), E3 for the 5.x line (and Python
    runs in 5.x worlds), E4 from spec 9."""
    if legacy or spec == 1:
        return "E0"
    if (spec or 0) >= SPEC_SINGLE_ORCHESTRATOR:
        return "E4"
    if line in (LINE_4, LINE_PY):
        return "E1-E2"
    return "E3"


def judgement(
    core_version: str | None,
    spec_version: int | None,
    deployment_id: str | None = None,
    *,
    python: bool = False,
    executor_spec: int | None = None,
    fresh_log: bool = False,
    legacy: bool = False,
) -> Judgement:
    """The judgement of one run from what its `run_created` and `run_started` say."""
    spec = effective_spec(spec_version, executor_spec, fresh_log)
    line = line_of(core_version, spec, deployment_id, python=python)
    if python:
        writer = "Python SDK"
    elif core_version:
        writer = f"workflow {core_version}"
    else:
        writer = f"workflow {line.name.split(' ')[0]}"
    return Judgement(line, spec, era_of(line, spec, legacy), writer)


# What each run's `run_created` and `run_started` say beyond `_fx_facts`: the Python SDK's
# payloads, the executor's attested spec version, whether `run_started` took slot 2.
_OPENINGS_SQL: Final = """
SELECT run_id,
    bool_or(event_type = 'run_created' AND payload_format = 'json-prefixed') AS python,
    max(CASE WHEN event_type = 'run_started' THEN coalesce(
        TRY_CAST(json_extract_string(event_data, '$.executorSpecVersion') AS INTEGER),
        TRY_CAST(json_extract_string(extra, '$.executorSpecVersion') AS INTEGER)) END)
        AS executor_spec,
    bool_or(event_type = 'run_started' AND slot = 2) AS fresh_log,
    bool_or(starts_with(event_type, 'workflow_')) AS legacy
FROM events
WHERE NOT staged AND event_type IN
    ('run_created', 'run_started', 'workflow_started', 'workflow_completed', 'workflow_failed')
    AND {where}
GROUP BY run_id
"""


def run_judgements(scan: Scan) -> dict[str, Judgement]:
    """The judgement of every run being analysed (from `_fx_facts` and the openings, read
    once per check into `_fx_open`: several detectors ask)."""
    if not scan.rows(
        "SELECT 1 AS x FROM duckdb_tables() WHERE table_name = '_fx_open' AND temporary"
    ):
        scan.con.execute(
            "CREATE TEMP TABLE _fx_open AS "
            + _OPENINGS_SQL.replace("{where}", "run_id IN (SELECT run_id FROM _fx_scope)")
        )
    rows = scan.rows(
        "SELECT f.run_id, f.core_version, f.spec_version, f.deployment, o.python,"
        " o.executor_spec, o.fresh_log, o.legacy FROM _fx_facts f LEFT JOIN _fx_open o"
        " USING (run_id) WHERE f.run_id IN (SELECT run_id FROM _fx_scope)"
    )
    return {r["run_id"]: _judged(r) for r in rows}


def _judged(r: dict[str, object]) -> Judgement:
    spec = r["spec_version"]
    executor = r["executor_spec"]
    return judgement(
        r["core_version"] if isinstance(r["core_version"], str) else None,
        spec if isinstance(spec, int) else None,
        r["deployment"] if isinstance(r["deployment"], str) else None,
        python=bool(r["python"]),
        executor_spec=executor if isinstance(executor, int) else None,
        fresh_log=bool(r["fresh_log"]),
        legacy=bool(r["legacy"]),
    )


def run_lines(scan: Scan) -> dict[str, Line]:
    """The line of every run being analysed."""
    return {run: j.line for run, j in run_judgements(scan).items()}


_OPENING_SQL: Final = f"""
SELECT o.run_id, c.core_version, s.spec_version, c.deployment, o.python, o.executor_spec,
    o.fresh_log, o.legacy
FROM ({_OPENINGS_SQL.replace("{where}", "run_id = $run")}) o
LEFT JOIN (
    SELECT run_id,
        json_extract_string(event_data, '$.executionContext.workflowCoreVersion')
            AS core_version,
        json_extract_string(event_data, '$.deploymentId') AS deployment
    FROM events WHERE run_id = $run AND event_type = 'run_created' AND NOT staged
    ORDER BY import_id LIMIT 1
) c USING (run_id)
LEFT JOIN (
    SELECT run_id, max(spec_version) AS spec_version FROM events
    WHERE run_id = $run AND NOT staged GROUP BY run_id
) s USING (run_id)
"""


def judgement_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> Judgement:
    """The judgement of one run, from its events (the 4.x rules when it has no opening)."""
    cur = con.execute(_OPENING_SQL, {"run": run_id})
    names = [d[0] for d in cur.description or ()]
    rows = cur.fetchall()
    if not rows:
        return judgement(None, None)
    return _judged(dict(zip(names, rows[0], strict=True)))


def line_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> Line:
    """The line of one run, from its opening events (the 4.x rules when it has none)."""
    return judgement_of_run(con, run_id).line
