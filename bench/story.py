"""Benchmark: `forensics story` of a 25,000-event run with 200 traced replays.

Reuses the run and trace of `bench/replays.py` (built once, cached under bench/out/): a hook
fed with receives while 500 steps run, and 200 traced replays each loading 24,801-25,000
events. Measures, each against a baseline timed in the same run:

- `forensics story RUN --format json` as a command, the run's findings already current
  (target <= 1 s); baseline: `forensics replays RUN --format json` as a command;
- the same, first time after the import (its `check` of the run included);
- `build_story` in process; baseline: `run_replays` (loading the log and the traces).

Run from the repo root: python bench/story.py [--rounds R]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from replays import OUT, RUN, layout, store_events, timed, trace_file

from forensics.analysis.engine import check
from forensics.importers.trace import import_traces
from forensics.replay.replays import run_replays
from forensics.replay.story import story_of
from forensics.store import Store

REPLAYS = 200


def command(db: Path, *args: str) -> float:
    """Wall time of one `forensics` process (exit code 1 = anomalies found is fine)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "forensics", "--db", str(db), *args],
        capture_output=True,
        check=False,
    )
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    return took


def build(db: Path) -> None:
    events = layout()
    path = trace_file(events, REPLAYS)
    if db.exists():
        db.unlink()
    with Store(db) as store:
        store_events(store, events)
        import_traces(store, [path])


def report(name: str, ours: float, base: float, target: str, ok: bool) -> None:
    mark = "ok" if ok else "✗"
    print(f"{name:<34} {ours * 1000:8.1f} ms vs {base * 1000:8.1f} ms"
          f" = {ours / base:5.2f}×  target {target} {mark}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    db = OUT / "story.duckdb"
    build(db)
    cold = OUT / "story-cold.duckdb"
    shutil.copy(db, cold)
    first = command(cold, "story", RUN, "--format", "json")
    cold.unlink()
    base = timed(lambda: command(db, "replays", RUN, "--format", "json"), args.rounds)
    report("story (first, with its check)", first, base, "(none)", True)
    ours = timed(lambda: command(db, "story", RUN, "--format", "json"), args.rounds)
    report("story RUN as a command", ours, base, "<= 1 s", ours <= 1.0)
    with Store(db) as store:
        result = check(store, run_ids=[RUN])
        base = timed(lambda: run_replays(store.con, RUN), args.rounds)
        ours = timed(lambda: story_of(store.con, RUN, result.findings, result.runs), args.rounds)
        report("build_story in process", ours, base, "(none)", True)


if __name__ == "__main__":
    main()
