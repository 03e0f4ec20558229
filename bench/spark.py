"""Benchmark: `check --engine spark` on local[2] and local[1] against DuckDB's `check`.

Builds (and caches under `bench/out/`) a fleet of `--runs` synthetic runs of about
`--events` events each from the check benchmark's generator, one corruption shape injected
into each of the first ten runs, imports it with `forensics import json`, then in one run:

* DuckDB `check` on the store with its results and kept statistics dropped (cold);
* `forensics export --layout fleet`;
* the Spark check (`run_check`) on `local[2]`, then on `local[1]` (fresh sessions; start-up
  timed apart), each writing its findings and verdicts as Parquet;

and requires the three to agree on every finding (code, run, severity, witness events) and
verdict. Prints wall times, the local[2]/local[1] speed-up and the events per second per
core, the figure the README's plan for 10 billion events is scaled from.

    python bench/spark.py [--runs 1000] [--events 5000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_data import SHAPES, reseed
from synth import synth_run

from forensics.analysis.engine import check
from forensics.analysis.scan import forget_statistics
from forensics.fleet.layout import export_fleet
from forensics.store import Store
from forensics.store.findings import clear_findings

OUT = Path(__file__).resolve().parent / "out"
Key = tuple[str, str, str, tuple[str, ...]]


def build(runs: int, events: int) -> tuple[Path, list[dict[str, Any]]]:
    """The cached store of `runs` runs of about `events` events, and its injected shapes."""
    store = OUT / f"spark-{runs}x{events}.duckdb"
    shapes_file = store.with_suffix(".json")
    if store.exists() and shapes_file.exists():
        return store, list(orjson.loads(shapes_file.read_bytes()))
    OUT.mkdir(parents=True, exist_ok=True)
    source = OUT / f"spark-{runs}x{events}.jsonl"
    rng, injected, shapes = random.Random(7), [], list(SHAPES.values())
    with source.open("wb") as fh:
        for index in range(runs):
            evs = reseed(list(synth_run(index, events, rng)))
            if index < len(shapes):
                code, witness = shapes[index](evs)
                injected.append({"run_id": evs[0]["runId"], "code": code, "witness": witness})
            fh.writelines(orjson.dumps(e) + b"\n" for e in evs)
    cmd = [sys.executable, "-m", "forensics", "--db", str(store), "import", "json", str(source)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    source.unlink()
    shapes_file.write_bytes(orjson.dumps(injected))
    return store, injected


def duckdb_check(store: Path) -> tuple[float, set[Key], set[tuple[str, str]]]:
    with Store(store) as s:
        forget_statistics(s.con)
        clear_findings(s.con)
        started = time.perf_counter()
        result = check(s)
        took = time.perf_counter() - started
    found = {(f.run_id, f.code, f.severity, tuple(f.event_ids)) for f in result.findings}
    return took, found, {(v.run_id, v.verdict) for v in result.runs}


def spark_check(
    fleet: Path, cores: int, extra: dict[str, str]
) -> tuple[float, float, set[Key], set[tuple[str, str]]]:
    from forensics.fleet.session import start
    from forensics.fleet.spark_check import run_check

    started = time.perf_counter()
    spark, _ = start(f"local[{cores}]", None, {
        "spark.ui.enabled": "false",
        "spark.driver.memory": "2g",
        **extra,
    })  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    boot = time.perf_counter() - started
    out = fleet.parent / f"{fleet.name}-check-{cores}"
    started = time.perf_counter()
    run_check(spark, str(fleet), str(out))
    took = time.perf_counter() - started
    spark.stop()
    con = duckdb.connect()
    rows = con.execute(f"SELECT run_id, code, severity, event_ids FROM '{out}/findings/*.parquet'")
    found = {(r[0], r[1], r[2], tuple(r[3])) for r in rows.fetchall()}
    ruled = con.execute(f"SELECT run_id, verdict FROM '{out}/run_verdicts/*.parquet'").fetchall()
    shutil.rmtree(out)
    return boot, took, found, {(r[0], r[1]) for r in ruled}


def scan_rates(log_dir: str) -> list[tuple[int, int, float, float]]:
    """Per Spark stage that read Parquet, from the newest event log under `log_dir`: its
    tasks, rows read, and rows per second of task time (wall and CPU): the per-partition
    throughput a cluster's plan scales from."""
    import io

    import zstandard

    logs = sorted(Path(log_dir).glob("*/events_*"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return []
    stages: dict[int, list[float]] = {}
    with logs[-1].open("rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        for line in io.TextIOWrapper(reader, encoding="utf-8"):
            if '"SparkListenerTaskEnd"' not in line:
                continue
            event = orjson.loads(line)
            metrics = event.get("Task Metrics") or {}
            rows = (metrics.get("Input Metrics") or {}).get("Records Read", 0)
            if rows:
                s = stages.setdefault(event["Stage ID"], [0, 0, 0.0, 0.0])
                s[0] += 1
                s[1] += rows
                s[2] += metrics.get("Executor Run Time", 0) / 1000
                s[3] += metrics.get("Executor CPU Time", 0) / 1e9
    return [(int(t), int(n), n / max(run, 1e-9), n / max(cpu, 1e-9))
            for t, n, run, cpu in stages.values()]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5000, help="events per run (≥ 330)")
    parser.add_argument("--event-log", help="write Spark's event log (per-stage times) here")
    parser.add_argument("--cores", default="2,1", help="Spark local[N] sessions to time, in order")
    args = parser.parse_args()
    store, injected = build(args.runs, args.events)
    with duckdb.connect(str(store), read_only=True) as con:
        total = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    print(f"fleet: {args.runs} runs, {total:,} events")
    duck_s, duck_found, duck_ruled = duckdb_check(store)
    missed = [i for i in injected if not any(
        k[0] == i["run_id"] and k[1] == i["code"] for k in duck_found)]  # fmt: skip
    print(f"duckdb check (cold): {duck_s:.1f} s, {len(duck_found)} findings, missed {missed}")
    fleet = OUT / f"{store.stem}-fleet"
    with Store(store, read_only=True) as s:
        started = time.perf_counter()
        export_fleet(s, fleet, overwrite=True)
        print(f"export --layout fleet: {time.perf_counter() - started:.1f} s")
    timings = {}
    for cores in [int(c) for c in args.cores.split(",")]:
        extra = {}
        if args.event_log:
            Path(args.event_log).mkdir(parents=True, exist_ok=True)
            extra = {"spark.eventLog.enabled": "true", "spark.eventLog.dir": args.event_log}
        # each session in a fresh process, so each starts a fresh JVM (a second session in
        # the same JVM would find its classes loaded and its code compiled)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            boot, took, found, ruled = pool.submit(spark_check, fleet, cores, extra).result()
        if args.event_log:
            for tasks, rows, per_s, per_cpu_s in scan_rates(args.event_log):
                if rows >= total // 2:
                    print(f"  scan stage: {tasks} tasks, {rows:,} rows, {per_s:,.0f} rows/s"
                          f" of task time, {per_cpu_s:,.0f} rows/s of task CPU")  # fmt: skip
        same = found == duck_found and ruled == duck_ruled
        timings[cores] = took
        print(f"spark local[{cores}]: start {boot:.1f} s, check {took:.1f} s,"
              f" {len(found)} findings, identical to duckdb: {same}")  # fmt: skip
        if not same:
            print("  only spark:", sorted(found - duck_found)[:5])
            print("  only duckdb:", sorted(duck_found - found)[:5])
    if 1 in timings and 2 in timings:
        print(f"local[2] vs local[1]: {timings[1] / timings[2]:.2f}x faster")
    rates = ", ".join(f"local[{c}] {total / t / c:,.0f}" for c, t in timings.items())
    print(f"events/s per core: {rates}; duckdb {total / duck_s:,.0f} events/s")
    print(f"load average (1, 5, 15 min): {os.getloadavg()}")


if __name__ == "__main__":
    main()
