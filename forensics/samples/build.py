"""Build the bundled sample logs: `python -m forensics.samples.build [--out DIR]`.

Writes, deterministically (fixed seeds and times: two builds are byte-identical), the
sample sources and `manifest.json` into this folder or `--out`:

- `world-local-data/`: a world-local data directory (flat layout) with six healthy and one
  crash-recovered real run copied verbatim, plus two synthetic corrupted runs;
- `world-postgres-events.jsonl.gz`: world-postgres events as JSON Lines (one real run, two
  corrupted ones with `wevt_` ids);
- `world-local-5x-events.jsonl.gz`: four real runs of Workflow DevKit 5.x on world-local
  (slot ids, a `gzip` error payload, a duplicate `run_completed`, non-causal ULIDs);
- `hosted-api-v1-events.json`: saved hosted API v1 event pages of one corrupted run;
- `dynamodb-incident-scan.json`: an `aws dynamodb scan` of two corrupted runs with the
  incident-dump attributes `writtenAt` and `lastKnownEventId`.

`--refresh-excerpt CAPTURE` first re-reads the real runs from a capture folder (see
`_real.py`), `--refresh-excerpt-5x CAPTURE` the 5.x ones (`_real5x.py`); without them the
builder uses the excerpts kept beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any, Final

from forensics.samples import _hosted, _local, _postgres, _real5x, build_incident
from forensics.samples._formats import pretty
from forensics.samples._kit import Sample
from forensics.samples._local_dir import story_files
from forensics.samples._real import (
    LOCAL_RUNS,
    POSTGRES_RUNS,
    RealRun,
    load_excerpt,
    local_files,
    refresh_excerpt,
)
from forensics.samples._sources import api_pages, dynamodb_scan, jsonl_file

SAMPLES_DIR: Final = Path(__file__).resolve().parent
WORLD_LOCAL: Final = "world-local-data"
POSTGRES: Final = "world-postgres-events.jsonl.gz"
API_V1: Final = "hosted-api-v1-events.json"
DYNAMODB: Final = "dynamodb-incident-scan.json"
MANIFEST: Final = "manifest.json"
OUTPUTS: Final = (
    WORLD_LOCAL,
    POSTGRES,
    _real5x.FILE,
    API_V1,
    DYNAMODB,
    MANIFEST,
    *build_incident.OUTPUTS,
)
API_PAGE_LIMIT: Final = 12

Files = dict[str, bytes]


def outputs() -> Files:
    """Every generated file, by path relative to the samples folder."""
    excerpt = load_excerpt()
    files: Files = {}
    manifest: list[dict[str, Any]] = []

    copied = local_files(excerpt)
    after_disposed, streams = _local.hook_received_after_disposed()
    bodies = [b'{"event":"invoice.paid","n":7}']
    local = [after_disposed, _local.hook_self_conflict()]
    directory = dict(copied)
    directory |= story_files(after_disposed.story, dict.fromkeys(streams, bodies))
    directory |= story_files(local[1].story, {})
    files |= {f"{WORLD_LOCAL}/{name}": data for name, data in sorted(directory.items())}
    manifest += [_real_entry(run, WORLD_LOCAL, "world-local", copied) for run in LOCAL_RUNS]
    manifest += [_entry(sample, WORLD_LOCAL, "world-local") for sample in local]

    rows = excerpt["postgres_events"]
    postgres = [_postgres.late_step_started(), _postgres.duplicate_step_created()]
    files[POSTGRES] = jsonl_file(rows, [s.story for s in postgres])
    manifest += [_pg_entry(run, rows) for run in POSTGRES_RUNS]
    manifest += [_entry(sample, POSTGRES, "jsonl") for sample in postgres]

    events5x = _real5x.load_excerpt5x()
    files[_real5x.FILE] = _real5x.events_file(events5x)
    manifest += _real5x.entries(events5x)

    api = _hosted.double_step_completed()
    files[API_V1] = pretty(api_pages(api.story, API_PAGE_LIMIT)) + b"\n"
    manifest.append(_entry(api, API_V1, "api-v1"))

    dynamo = [_hosted.hook_vs_sleep(), _hosted.drain_sync()]
    scan = dynamodb_scan(s.story for s in dynamo)
    files[DYNAMODB] = json.dumps(scan, indent=4).encode() + b"\n"
    manifest += [_entry(sample, DYNAMODB, "dynamodb-json") for sample in dynamo]

    build_incident.extend(files, manifest)

    document = {
        "generated_by": "python -m forensics.samples.build",
        "presets": {DYNAMODB: "incident-dump"},
        "runs": manifest,
    }
    files[MANIFEST] = pretty(document) + b"\n"
    return files


def _entry(sample: Sample, file: str, fmt: str) -> dict[str, Any]:
    story = sample.story
    return {
        "run_id": story.run_id,
        "file": file,
        "format": fmt,
        "shape": sample.shape,
        "workflow_name": story.workflow,
        "description": sample.description,
        "event_count": len(story.events),
        "staged_event_count": len(story.staged),
        "expected_codes": sorted(sample.witness),
        "witness": {code: sample.witness[code] for code in sorted(sample.witness)},
    }


def _real_entry(run: RealRun, file: str, fmt: str, copied: Files) -> dict[str, Any]:
    record = json.loads(copied[f"runs/{run.run_id}.json"])
    events = [n for n in copied if n.startswith(f"events/{run.run_id}-")]
    return _plain_entry(run, file, fmt, record["workflowName"], len(events))


def _pg_entry(run: RealRun, rows: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [r for r in rows if r["run_id"] == run.run_id]
    name = next(
        r["payload_cbor_decoded"]["workflowName"] for r in mine if r["type"] == "run_created"
    )
    return _plain_entry(run, POSTGRES, "jsonl", name, len(mine))


def _plain_entry(run: RealRun, file: str, fmt: str, workflow: str, count: int) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "file": file,
        "format": fmt,
        "shape": run.shape,
        "workflow_name": workflow,
        "description": run.description,
        "event_count": count,
        "staged_event_count": 0,
        "expected_codes": [],
        "witness": {},
    }


def write(out: Path, files: Files) -> None:
    """Replace the generated files under `out` with `files` (nothing else is touched)."""
    for name in OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forensics.samples.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="folder to write into")
    parser.add_argument(
        "--refresh-excerpt",
        type=Path,
        metavar="CAPTURE",
        help="re-read the real runs from this capture folder first",
    )
    parser.add_argument(
        "--refresh-excerpt-5x",
        type=Path,
        metavar="CAPTURE",
        help="re-read the real 5.x runs from this capture folder first",
    )
    args = parser.parse_args(argv)
    if args.refresh_excerpt is not None:
        refresh_excerpt(args.refresh_excerpt)
    if args.refresh_excerpt_5x is not None:
        _real5x.refresh_excerpt5x(args.refresh_excerpt_5x)
    files = outputs()
    write(args.out, files)
    print(f"wrote {len(files)} files into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
