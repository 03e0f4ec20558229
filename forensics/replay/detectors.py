"""The replay detectors in the shape of the analysis catalogue, for `forensics check`.

Each function takes the check's `Scan` and returns the hits of one code for the runs the
check analyses (`_fx_scope`) that can have any: runs with traced replays or imported fences.
One run's replay analysis yields every code at once, so it is done once per scan and shared.
`DETECTORS` lists them as `forensics.analysis.catalogue.Detector`s; each docstring is the
code's definition.
"""

from __future__ import annotations

from typing import Final

from forensics.analysis.catalogue import Detector
from forensics.analysis.hits import Hit
from forensics.analysis.scan import Scan
from forensics.replay.findings import CODES, candidate_runs, hits_of
from forensics.replay.replays import run_replays

_LAST: list[tuple[Scan, dict[str, list[Hit]]]] = []
"""The last scan and its hits by code (held, so no later scan can be taken for it)."""


def _hits(scan: Scan, code: str) -> list[Hit]:
    if not _LAST or _LAST[0][0] is not scan:
        scope = {r[0] for r in scan.con.execute("SELECT run_id FROM _fx_scope").fetchall()}
        found: dict[str, list[Hit]] = {}
        for run_id in candidate_runs(scan.con):
            if run_id in scope:
                for hit in hits_of(run_replays(scan.con, run_id)):
                    found.setdefault(hit.code, []).append(hit)
        _LAST[:] = [(scan, found)]
    return _LAST[0][1].get(code, [])


def trace_digest_mismatch(scan: Scan) -> list[Hit]:
    """A traced replay whose logged digest (or event count) is not what the digest formula
    gives over the events its own trace line lists: the line was altered or cut on its way
    into the log export, so the list is not what the runtime loaded."""
    return _hits(scan, "trace-digest-mismatch")


def trace_hole(scan: Scan) -> list[Hit]:
    """A traced replay whose loaded list lacks an event of the stored log that sorts below its
    last loaded event: it decided from a log with a hole, as an eventually consistent read or
    a write minted before and committed after the read leaves."""
    return _hits(scan, "trace-hole")


def trace_foreign_event(scan: Scan) -> list[Hit]:
    """A traced replay that loaded an event the stored log does not have: the import is
    incomplete, or the log lost the event after the replay read it."""
    return _hits(scan, "trace-foreign-event")


def replay_mapping_conflict(scan: Scan) -> list[Hit]:
    """One correlation id allocated to different step names or hook tokens by two replays, or
    by a replay and a stored creation event: replays that took different branches wrote into
    one log, and a replay allocating the id otherwise than the stored event fails on it."""
    return _hits(scan, "replay-mapping-conflict")


def stuck_fence(scan: Scan) -> list[Hit]:
    """An accepted write whose fence names an event id that never landed in the log (a fence
    patched in before a write that then failed)."""
    return _hits(scan, "stuck-fence")


def fence_break(scan: Scan) -> list[Hit]:
    """An accepted fenced write whose fence is not the event committed just before it: the
    compare-and-set the fence asks for did not hold."""
    return _hits(scan, "fence-break")


def stale_snapshot_write(scan: Scan) -> list[Hit]:
    """A replay-origin write decided from a known snapshot (a trace, or a fence) that missed an
    event committed before the write: symmetric when every missed event sorts above the
    snapshot's tail (a tail fence catches it), asymmetric when one sorts below it."""
    return _hits(scan, "stale-snapshot-write")


def unfenced_decision_write(scan: Scan) -> list[Hit]:
    """Replay-origin writes that carried no fence, in a run whose other writes carry fences:
    a property of the deployment (it never fences those kinds of write), so one finding per
    run at info severity, with the count by kind and the first writes as witnesses."""
    return _hits(scan, "unfenced-decision-write")


_EXAMPLES: Final = {
    "trace-digest-mismatch": "`digest` 94e1262add726a3e logged over 205 events that hash to 1c07…",
    "trace-hole": "inv269 loaded 205 events but not `wait_completed PMP`, sorted below its tail",
    "trace-foreign-event": "a replay loaded `evnt_01KSNW…` that the imported dump does not have",
    "replay-mapping-conflict": "step PMX is `drain` for inv269 and the log, `sync` for inv400",
    "stuck-fence": "`lastKnownEventId` evnt_01KVD5… that no event of the run has",
    "fence-break": "`wait_completed` fenced on `wait_created` but accepted after `hook_received`",
    "stale-snapshot-write": "`step_created PMX (drain)` decided without `wait_completed PMP`",
    "unfenced-decision-write": "a `step_created` without `lastKnownEventId` among fenced writes",
}
_FUNCTIONS: Final = (
    trace_digest_mismatch, trace_hole, trace_foreign_event, replay_mapping_conflict,
    stuck_fence, fence_break, stale_snapshot_write, unfenced_decision_write,
)  # fmt: skip
DETECTORS: Final = tuple(
    Detector(code, "replay", CODES[code], fn, _EXAMPLES[code])
    for fn in _FUNCTIONS
    for code in [fn.__name__.replace("_", "-")]
)
