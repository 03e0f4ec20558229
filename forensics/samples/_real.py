"""The real runs the samples copy verbatim, kept as a small excerpt beside the builder.

The excerpt (`_realdata.json.gz`) holds, byte for byte, the files of a few runs from a
world-local data directory written by Workflow DevKit 4.8.9 (`@workflow/world-local`
4.4.1) and the event rows of one world-postgres run, as captured from a small demo app.
Keeping the excerpt in the package makes the builder self-contained; `refresh_excerpt`
regenerates it from the capture folder (`local/workflow-data.tar.gz` and
`postgres/pg-events.decoded.jsonl`).
"""

from __future__ import annotations

import base64
import gzip
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from forensics.samples._formats import gzip_bytes

EXCERPT: Final = Path(__file__).resolve().parent / "_realdata.json.gz"
DATA_DIR: Final = ".workflow-data/"


@dataclass(frozen=True)
class RealRun:
    """A real run the samples copy, with what it shows."""

    run_id: str
    shape: str
    description: str


LOCAL_RUNS: Final = (
    RealRun(
        "wrun_01M7YNNASS8KVC54EGYKZ763NW",
        "healthy",
        "sequentialWorkflow: three steps in a row (real world-local run)",
    ),
    RealRun(
        "wrun_01M7YNNASS8KVC54EGYKZ763NX",
        "healthy",
        "parallelWorkflow: five fetchItem steps under Promise.all, then note (real run)",
    ),
    RealRun(
        "wrun_01M7YNNAST44YFK7BMMFBCW7YQ",
        "healthy",
        "retryWorkflow: flakyCharge fails on attempt 1, step_retrying, succeeds (real run)",
    ),
    RealRun(
        "wrun_01M7YNNAST44YFK7BMMFBCW7YV",
        "healthy",
        'sleepWorkflow: step, sleep("2s") with wait_created/wait_completed, step (real run)',
    ),
    RealRun(
        "wrun_01M7YNNAST44YFK7BMMFBCW7YW",
        "healthy",
        "hookWorkflow: named hook resumed from outside with resumeHook() (real run)",
    ),
    RealRun(
        "wrun_01M7YNNAST44YFK7BMMFBCW7YX",
        "healthy",
        "webhookWorkflow: createWebhook() with a seeded token, resumed by an HTTP POST (real)",
    ),
    RealRun(
        "wrun_01M7YNNSSK0N0CSWBKWGR75H4R",
        "crash-recovered",
        "slowStepWorkflow: host killed mid-step; after restart the step ran again, so two "
        "step_started and no step_retrying before step_completed (benign; real run)",
    ),
)
POSTGRES_RUNS: Final = (
    RealRun(
        "wrun_01M7YNQXXW70AY9PS014938C8A",
        "healthy",
        "parallelWorkflow on world-postgres: one suspension wrote its five step_created rows "
        "in ordinal order 1, 3, 4, 2, 0 (benign; real run)",
    ),
)


def load_excerpt(path: Path = EXCERPT) -> dict[str, Any]:
    """`{"files": {relative path: base64 bytes}, "postgres_events": [row, …]}`."""
    with gzip.open(path, "rb") as fh:
        excerpt: dict[str, Any] = json.loads(fh.read())
    return excerpt


def local_files(excerpt: dict[str, Any]) -> dict[str, bytes]:
    """The copied world-local files, by path inside the data directory."""
    files: dict[str, str] = excerpt["files"]
    return {name: base64.b64decode(data) for name, data in sorted(files.items())}


def refresh_excerpt(capture: Path, path: Path = EXCERPT) -> None:
    """Rewrite the excerpt from the capture folder (the only step that reads it)."""
    wanted = {run.run_id for run in LOCAL_RUNS}
    files: dict[str, str] = {}
    with tarfile.open(capture / "local" / "workflow-data.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        streams = _stream_ids(tar, members, wanted)
        for member in members:
            name = member.name.removeprefix("./").removeprefix(DATA_DIR)
            if name == "version.txt" or _belongs(name, wanted | streams):
                handle = tar.extractfile(member)
                assert handle is not None
                files[name] = base64.b64encode(handle.read()).decode()
    pg_ids = {run.run_id for run in POSTGRES_RUNS}
    rows = []
    with (capture / "postgres" / "pg-events.decoded.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["run_id"] in pg_ids:
                rows.append(row)
    rows.sort(key=lambda r: (r["run_id"], r["id"]))
    excerpt = {"files": files, "postgres_events": rows}
    text = json.dumps(excerpt, sort_keys=True, ensure_ascii=False, indent=0)
    path.write_bytes(gzip_bytes(text.encode()))


def _belongs(name: str, ids: set[str]) -> bool:
    """True for a run's, step's, event's, lock's or stream's file of one of `ids`."""
    base = name.rsplit("/", 1)[-1]
    return any(base.startswith((i + "-", i + ".")) for i in ids)


def _stream_ids(tar: tarfile.TarFile, members: list[tarfile.TarInfo], runs: set[str]) -> set[str]:
    """Stream ids listed in `streams/runs/<runId>.json` of the wanted runs."""
    found: set[str] = set()
    for member in members:
        name = member.name.removeprefix("./").removeprefix(DATA_DIR)
        if name.startswith("streams/runs/") and _belongs(name, runs):
            handle = tar.extractfile(member)
            assert handle is not None
            found.update(json.loads(handle.read())["streams"])
    return found
