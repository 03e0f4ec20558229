"""Benchmark: `forensics import json` of a big JSON Lines file vs DuckDB's own read_json_auto.

Generates (once, cached under bench/out/) 5,000,000 realistic events as JSON Lines, then
alternates the two commands as separate processes, each into a fresh database file, and
prints wall time, peak RSS and the ratio per round plus the medians. Run from the repo root:

    python bench/import_jsonl.py [--events N] [--rounds R] [--distinct-payloads]

The synthetic runs repeat each other's step payloads (4,331 distinct among 3.3M), and
the import decodes each distinct payload once; `--distinct-payloads` makes every payload
unique, the worst case for that.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson
from synth import synth_events

OUT = Path(__file__).resolve().parent / "out"
BASELINE = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]);"
    " con.execute(f\"CREATE TABLE t AS SELECT * FROM read_json_auto('{sys.argv[2]}')\")"
)


def dataset(events: int, distinct: bool) -> Path:
    path = OUT / f"events-{events}{'-distinct' if distinct else ''}.jsonl"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        runs, per_run = max(1, events // 5000), min(events, 5000)
        for event in synth_events(runs, per_run, distinct=distinct):
            fh.write(orjson.dumps(event) + b"\n")
    tmp.rename(path)
    return path


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{cmd[:3]} failed with status {status}")
    return wall, usage.ru_maxrss / 1024


def fresh(name: str) -> Path:
    db = OUT / name
    for suffix in ("", ".wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--distinct-payloads",
        action="store_true",
        help="every payload unique (by default runs repeat each other's step payloads)",
    )
    args = parser.parse_args()
    data = dataset(args.events, args.distinct_payloads)
    size = data.stat().st_size / 2**30
    print(f"data: {data.name}, {args.events:,} events, {size:.2f} GiB")
    ratios, ours, theirs, rss = [], [], [], []
    for r in range(args.rounds):
        a = timed(
            [
                sys.executable,
                "-m",
                "forensics",
                "--db",
                str(fresh("ours.duckdb")),
                "import",
                "json",
                str(data),
            ]
        )
        b = timed([sys.executable, "-c", BASELINE, str(fresh("baseline.duckdb")), str(data)])
        ours.append(a[0])
        theirs.append(b[0])
        rss.append(a[1])
        ratios.append(a[0] / b[0])
        print(
            f"round {r + 1}: forensics {a[0]:.1f}s {a[1]:.0f} MiB | "
            f"read_json_auto {b[0]:.1f}s {b[1]:.0f} MiB | ratio {a[0] / b[0]:.2f}"
        )
    print(
        f"median: forensics {statistics.median(ours):.1f}s, read_json_auto "
        f"{statistics.median(theirs):.1f}s, ratio {statistics.median(ratios):.2f} "
        f"(target <= 1.3), peak RSS {max(rss):.0f} MiB (target <= 1024), "
        f"{args.events / statistics.median(ours):,.0f} events/s"
    )


if __name__ == "__main__":
    main()
