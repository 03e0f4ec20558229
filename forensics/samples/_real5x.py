"""Real runs written by Workflow DevKit 5.x, kept as a small excerpt beside the builder.

The excerpt (`_realdata5x.json.gz`) holds the event objects, as world-local stored them, of a
few runs captured from the same demo app on two 5.x setups: workflow 5.0.0-beta.55 with
`@workflow/world-local` 5.0.0-beta.46 (spec 7, slot event ids `evnt_000…1` that repeat in
every run) and workflow 5.0.0-beta.35 with world-local 5.0.0-beta.29 (spec 5, ULIDs of one
write minted in any order). One beta.46 stress run wrote `run_completed` twice under load,
a real anomaly of that world. The builder writes them as one JSON Lines file;
`refresh_excerpt5x` re-reads them from the capture (`local/` and `local-b35/`
`local-events.jsonl.gz`).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Final

from forensics.samples._formats import gzip_bytes
from forensics.samples._real import RealRun

EXCERPT5X: Final = Path(__file__).resolve().parent / "_realdata5x.json.gz"
FILE: Final = "world-local-5x-events.jsonl.gz"
DUPLICATE_COMPLETION: Final = "wrun_01M98MZV1J9SDZYY1NS361EZ7R"

RUNS: Final = (
    RealRun(
        "wrun_01M98MYN5PDXE0SAXXCS69B1SN",
        "healthy",
        "sequentialWorkflow on workflow 5.0.0-beta.55 / world-local beta.46: slot ids"
        " evnt_…01 to …12, correlation ids with the run id's time (real run)",
    ),
    RealRun(
        "wrun_01M98MYN5PDXE0SAXXCS69B1SS",
        "healthy",
        "exhaustedRetriesWorkflow on 5.0.0-beta.55: fails for good; its run_failed error is a"
        " `gzip`-prefixed devalue payload (real run)",
    ),
    RealRun(
        DUPLICATE_COMPLETION,
        "duplicate-run-completed",
        "hookSleepLoopWorkflow under the stress scenario on world-local 5.0.0-beta.46: two"
        " run_completed in slots 105 and 106 after queue redeliveries (real run)",
    ),
    RealRun(
        "wrun_01M98QW3GWZNENM1H2BY01RKHE",
        "healthy",
        "sequentialWorkflow on workflow 5.0.0-beta.35 / world-local beta.29: every"
        " step_started sorts before its step_created, written in the same millisecond (real)",
    ),
)
WITNESS: Final = {
    DUPLICATE_COMPLETION: {
        "run-lifecycle": ["evnt_00000000000000000000000105", "evnt_00000000000000000000000106"]
    }
}


def load_excerpt5x(path: Path = EXCERPT5X) -> list[dict[str, Any]]:
    """The excerpt's events, in (run id, event id) order."""
    events: list[dict[str, Any]] = json.loads(gzip.decompress(path.read_bytes()))
    return events


def events_file(events: list[dict[str, Any]]) -> bytes:
    """The JSON Lines sample, gzip without name or time stamp."""
    lines = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
    return gzip_bytes(lines.encode())


def entries(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifest's rows for the 5.x runs."""
    out = []
    for run in RUNS:
        mine = [e for e in events if e["runId"] == run.run_id]
        opening = next(e for e in mine if e["eventType"] == "run_created")
        witness = WITNESS.get(run.run_id, {})
        out.append(
            {
                "run_id": run.run_id,
                "file": FILE,
                "format": "jsonl",
                "shape": run.shape,
                "workflow_name": opening["eventData"]["workflowName"],
                "description": run.description,
                "event_count": len(mine),
                "staged_event_count": 0,
                "expected_codes": sorted(witness),
                "witness": witness,
            }
        )
    return out


def refresh_excerpt5x(capture: Path, path: Path = EXCERPT5X) -> None:
    """Re-read the runs of `RUNS` from a 5.x capture folder (with `local/`, `local-b35/`)."""
    wanted = {r.run_id for r in RUNS}
    events = []
    for folder in ("local", "local-b35"):
        with gzip.open(capture / folder / "local-events.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                event = json.loads(line)
                if event["runId"] in wanted:
                    event.pop("_file", None)  # the capture tool's note, not the event's
                    events.append(event)
    events.sort(key=lambda e: (e["runId"], e["eventId"]))
    path.write_bytes(gzip_bytes(json.dumps(events, separators=(",", ":")).encode()))
