"""Benchmark: quarantining broken lines, vs DuckDB loading the same lines as text.

Writes a JSON Lines file of N broken lines (cut-off JSON, as a truncated dump has) among
a few good events, then runs `forensics import json` on it and, as the baseline, DuckDB
reading the same file into a table of raw lines, each as its own process into a fresh
database. Prints wall time, rows per second and the ratio per round and their medians.

    python bench/quarantine.py [--lines N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

BASELINE = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]);"
    " con.execute(f\"CREATE TABLE t AS SELECT * FROM read_csv('{sys.argv[2]}',"
    " columns={{'line': 'VARCHAR'}}, delim=chr(1), quote='', escape='', header=false)\")"
)


def dataset(folder: Path, lines: int) -> Path:
    good = {
        "runId": "wrun_01M7YNNASS8KVC54EGYKZ763NW",
        "eventType": "run_created",
        "createdAt": "2026-11-20T10:00:00.000Z",
        "eventData": {},
    }
    path = folder / "broken.jsonl"
    with path.open("wb") as fh:
        for n in range(lines):
            event = orjson.dumps({**good, "eventId": f"wevt_01M7YNNAT{n:017d}"})
            fh.write(event[: len(event) // 2] + b"\n")  # cut in half: not JSON
        fh.write(orjson.dumps({**good, "eventId": "wevt_01M7YNNATZZZZZZZZZZZZZZZZZ"}) + b"\n")
    return path


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = dataset(folder, ns.lines)
        ours, base = [], []
        for r in range(ns.rounds):
            db = folder / f"f{r}.duckdb"
            ours.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "forensics",
                        "--db",
                        str(db),
                        "import",
                        "json",
                        str(path),
                    ]
                )
            )
            base.append(
                timed([sys.executable, "-c", BASELINE, str(folder / f"b{r}.duckdb"), str(path)])
            )
            print(
                f"round {r + 1}: forensics {ours[-1]:.2f} s ({ns.lines / ours[-1]:,.0f} rows/s),"
                f" DuckDB read_csv {base[-1]:.2f} s, ratio {ours[-1] / base[-1]:.1f}"
            )
        o, b = statistics.median(ours), statistics.median(base)
        print(
            f"median: forensics {o:.2f} s = {ns.lines / o:,.0f} quarantined rows/s;"
            f" baseline {b:.2f} s; ratio {o / b:.1f}"
        )


if __name__ == "__main__":
    main()
