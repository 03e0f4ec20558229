"""Benchmark: `forensics check` over a 5M-event store against one DuckDB window pass.

The store (built once from `bench/check_data.py`'s runs, imported with the bulk JSON Lines
path `forensics import json`, cached under `bench/out/`) holds 1,000 runs of 5,000 events with
a corruption shape injected into 1% of them, plus one 25,000-event run with two shapes.
In the same run this script times, as medians of `--repeat` rounds:

* the baseline, `lag(event_type) OVER (PARTITION BY run_id ORDER BY event_id)` over all
  events, in process and as a fresh `python -c` process;
* `forensics check --format json > /dev/null` on a store with no results yet (cold), as the
  import left it (with the sieve statistics it keeps) and with those dropped too, and again
  with nothing stale (warm): wall time and the child's CPU time, each as a ratio to the
  baseline process (CPU time is the steadier figure on a shared machine);
* the deep analysis behind `forensics explain RUN` of the 25,000-event run (its stored
  results dropped first), in process and as a process;

and checks that every injected shape is among the findings. `--slot-ids` runs the same on
the position-id variant: the runs written as workflow 5.x spec-7 logs (event ids
`evnt_000…n`, unique per run only; see `check_data.to_slots`), in a store of its own.

    python bench/check.py [--rebuild] [--repeat 3] [--slot-ids]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_data import Injected, bench_events

from forensics.analysis.engine import explain_run
from forensics.analysis.scan import forget_statistics
from forensics.store import Store
from forensics.store.findings import clear_findings, replace_findings

OUT = Path(__file__).resolve().parent / "out"
STORE = OUT / "check-store.duckdb"
MANIFEST = OUT / "check-injected.json"
BUILD_VERSION = 3  # 2: the import keeps the sieve statistics; 3: their key changed
LAG_SQL = (
    "SELECT count(prev) FROM (SELECT lag(event_type) OVER"
    " (PARTITION BY run_id ORDER BY event_id) AS prev FROM events)"
)


def use_variant(slot_ids: bool) -> None:
    """Point the benchmark at the position-id variant's store."""
    global STORE, MANIFEST, SLOT_IDS
    if slot_ids:
        STORE, MANIFEST, SLOT_IDS = (
            OUT / "check-store-slot.duckdb",
            OUT / "check-injected-slot.json",
            True,
        )


SLOT_IDS = False


def build(force: bool) -> list[Injected]:
    """The cached store and its injected shapes; built when missing, stale or forced."""
    if not force and STORE.exists() and MANIFEST.exists():
        saved = json.loads(MANIFEST.read_text())
        if saved.get("version") == BUILD_VERSION:
            return [Injected(**{**i, "witness": tuple(i["witness"])}) for i in saved["injected"]]
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in (STORE, STORE.with_suffix(".duckdb.wal"), MANIFEST):
        stale.unlink(missing_ok=True)
    injected: list[Injected] = []
    source = OUT / "check-events.jsonl"
    started = time.perf_counter()
    with source.open("wb") as fh:
        for event in bench_events(injected, slot_ids=SLOT_IDS):
            fh.write(orjson.dumps(event) + b"\n")
    print(
        f"generated {source.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    cli("--db", str(STORE), "import", "json", str(source), check=True)
    print(f"imported in {time.perf_counter() - started:.0f} s")
    source.unlink()
    payload = {"version": BUILD_VERSION, "injected": [asdict(i) for i in injected]}
    MANIFEST.write_text(json.dumps(payload, indent=2))
    return injected


def cli(*args: str, check: bool = False, stdout: Any = subprocess.DEVNULL) -> int:
    exe = shutil.which("forensics")
    cmd = [exe] if exe else [sys.executable, "-m", "forensics"]
    done = subprocess.run([*cmd, *args], stdout=stdout, check=False)
    if check and done.returncode not in (0, 1):
        raise SystemExit(f"forensics {' '.join(args)} failed with {done.returncode}")
    return done.returncode


def timed(fn: Any, repeat: int) -> float:
    """The median wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def process(args: list[str], repeat: int, before: Any = None) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of a child process.

    CPU time is what the work costs whatever else runs on the machine, so its ratio is the
    steadier figure on a shared machine; wall time is what a user waits.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def forensics_args(*args: str) -> list[str]:
    exe = shutil.which("forensics")
    return [*([exe] if exe else [sys.executable, "-m", "forensics"]), "--db", str(STORE), *args]


def baseline_in_process() -> None:
    with Store(STORE, read_only=True) as store:
        store.query(LAG_SQL)


def baseline_args() -> list[str]:
    code = (
        f"import duckdb; con = duckdb.connect({str(STORE)!r}, read_only=True);"
        f" con.execute(\"SET memory_limit='700MB'\"); con.execute({LAG_SQL!r}).fetchall()"
    )
    return [sys.executable, "-c", code]


def forget_all() -> None:
    with Store(STORE) as store:
        clear_findings(store.con)


def forget_all_and_statistics() -> None:
    with Store(STORE) as store:
        clear_findings(store.con)
        forget_statistics(store.con)


def forget(run_id: str) -> None:
    with Store(STORE) as store:
        replace_findings(store.con, [run_id], [], [])


def forget_and_explain(store: Store, run_id: str) -> None:
    replace_findings(store.con, [run_id], [], [])
    explain_run(store, run_id)


def found_all(injected: list[Injected]) -> list[Injected]:
    """Injected shapes that `check --format json` does not report."""
    out = OUT / "check-findings.json"
    with out.open("w") as fh:
        cli("--db", str(STORE), "check", "--format", "json", stdout=fh)
    findings = json.loads(out.read_text())["findings"]
    have = {(f["run_id"], f["code"], tuple(f["event_ids"])) for f in findings}
    missing = []
    for i in injected:
        if not any(r == i.run_id and c == i.code and set(i.witness) <= set(e) for r, c, e in have):
            missing.append(i)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached store")
    parser.add_argument("--repeat", type=int, default=3, help="timings per figure (median)")
    parser.add_argument("--slot-ids", action="store_true", help="the spec-7 position-id variant")
    args = parser.parse_args()
    use_variant(args.slot_ids)
    injected = build(args.rebuild)
    big, n = injected[-1].run_id, args.repeat
    with Store(STORE, read_only=True) as store:
        events = store.query("SELECT count(*) FROM events")[1][0][0]
    print(f"store: {events:,} events, {len(injected)} injected shapes")
    base = timed(baseline_in_process, n)
    base_wall, base_cpu = process(baseline_args(), n)
    bare_wall, bare_cpu = process(
        forensics_args("check", "--format", "json"), n, forget_all_and_statistics
    )
    cold_wall, cold_cpu = process(forensics_args("check", "--format", "json"), n, forget_all)
    warm_wall, warm_cpu = process(forensics_args("check", "--format", "json"), n)
    explain_wall, _ = process(forensics_args("explain", big), n, lambda: forget(big))
    with Store(STORE) as store:
        explain_lib = timed(lambda: forget_and_explain(store, big), n)
    missing = found_all(injected)
    print(f"baseline lag pass: {base:.2f} s in process; as a process {base_wall:.2f} s wall,"
          f" {base_cpu:.2f} s CPU")  # fmt: skip
    for name, wall, cpu in (
        ("cold: no results, statistics kept by the import", cold_wall, cold_cpu),
        ("cold: no results and no kept statistics", bare_wall, bare_cpu),
        ("warm, nothing stale", warm_wall, warm_cpu),
    ):
        print(
            f"check ({name}): {wall:.2f} s wall = {wall / base_wall:.2f}x the baseline process"
            f" ({wall / base:.2f}x in process); {cpu:.2f} s CPU = {cpu / base_cpu:.2f}x"
        )
    print(f"explain {big} (25,000 events, deep analysis): {explain_lib:.3f} s in process,"
          f" {explain_wall:.2f} s as a process")  # fmt: skip
    print(f"injected shapes found: {len(injected) - len(missing)}/{len(injected)}")
    for m in missing:
        print(f"  MISSING {m.shape}: {m.code} in {m.run_id} witness {m.witness}")
    if missing:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("FORENSICS_MEMORY_LIMIT", "700MB")
    main()
