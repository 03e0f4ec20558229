"""Benchmark: `forensics watch postgres` on the 1M-event database of `import_postgres.py`.

In one run, side by side:

- what an idle poll costs the server: the watch's probe (one read of `pg_stat_user_tables`)
  against the newest-event aggregate a re-import runs (what every poll would cost without
  the probe), each timed by the client over 20 runs, so these are upper bounds of the
  server's query time; the median and the worst are printed;
- from a corrupting commit to its alert on stdout: a `forensics watch postgres` child with
  the default 2 s interval; `--injections` times (default 20) a second `step_completed` of
  an existing step is committed with an id below its run's newest and a `created_at` a day
  old (a late commit), and the time until the child prints that run's `multiple-terminals`
  alert is taken; median and worst;
- the child's resident memory (with any worker processes), sampled every 5 s for
  `--minutes` (default 10) while it keeps polling, with a late row committed every 30 s:
  first, peak and last sample, so the trend shows;
- an idle pass of `forensics watch dir` over a world-local directory of `--dir-files`
  event files (default 100,000; listing and stat only), against a bare `os.walk` of it;
  then a `forensics watch dir` child on a directory of `--dir-runs` runs: commit (a late
  second `step_completed` file renamed into place) to alert, and its RSS over `--minutes`;
- `forensics watch trace`: an idle poll of a followed log against a bare `os.stat` of it,
  and a child's RSS over `--minutes` while a replay is appended every 30 s;
- `forensics watch dynamodb` on DynamoDB Local (`--ddb-items` items, a stream with new
  images): an idle pass (DescribeTable, DescribeStream, GetShardIterator, GetRecords)
  against the whole Scan each pass would cost without the stream, commit (a second
  `step_completed` item put) to alert, and the child's RSS over `--minutes`.

`--only` picks some of postgres, dir, trace, dynamodb (default: all). `--fresh` starts the
PostgreSQL watch on an empty store (its first pass imports and checks everything, the
heaviest pass a watch makes); `--baseline-code DIR` runs another build's `watch postgres`
(a checkout or `git archive` of it) beside this one on a copy of the store, and compares
their memory.

The store is `--store` (kept and reused; made with `forensics import postgres` when
absent). The injected rows are deleted from the benchmark database at the end (it is the
benchmark's own), so `import_postgres.py` keeps reusing it.

    python bench/watch.py [--dsn ADMIN_DSN] [--store PATH] [--injections 20] [--minutes 10]
                          [--only dir,trace,dynamodb]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_postgres import DEFAULT_DSN, build
from watch_sources import Watcher, dir_live, dynamodb_figures, rss_over, trace_figures

from forensics.importers.postgres.activity import Activity
from forensics.importers.postgres.probe import probe
from forensics.importers.postgres.selects import Filters, newest_events

MARK = "Z"  # suffix of injected event ids: sorts after the copied id, below the next one


def timed(work: Any, times: int = 20) -> list[float]:
    out = []
    for _ in range(times):
        start = time.perf_counter()
        work()
        out.append(time.perf_counter() - start)
    return out


def idle_costs(dsn: str) -> tuple[list[float], list[float]]:
    activity = Activity(dsn, "workflow")
    activity.read()  # connect first
    probe_times = timed(activity.read)
    activity.close()
    with psycopg.connect(dsn) as conn:
        layout = probe(conn, "workflow")
        statement, params = newest_events(layout, Filters())
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        conn.execute("SET work_mem = '64MB'")
        conn.execute("SET parallel_setup_cost = 0")
        conn.execute("SET parallel_tuple_cost = 0")
        aggregate = timed(lambda: conn.execute(statement, params).fetchall(), 5)
    return probe_times, aggregate


def completions(dsn: str, count: int) -> list[tuple[Any, ...]]:
    """`count` step_completed rows of different runs, whole (to be copied)."""
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(
            "SELECT DISTINCT ON (run_id) * FROM workflow.workflow_events"
            " WHERE type = 'step_completed' AND id NOT LIKE %s ORDER BY run_id, id LIMIT %s",
            [f"%{MARK}", count],
        )
        names = [d.name for d in cur.description or []]
        return [tuple(names), *cur.fetchall()]


def inject(dsn: str, names: tuple[str, ...], row: tuple[Any, ...]) -> tuple[str, float]:
    """Commit a copy of `row` under a late id, a day older; (run id, commit time)."""
    values = dict(zip(names, row, strict=True))
    values["id"] = f"{values['id']}{MARK}"
    values["created_at"] = values["created_at"] - timedelta(days=1)
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO workflow.workflow_events ({columns}) VALUES ({marks})".encode(),
            list(values.values()),
        )
        return str(values["run_id"]), time.perf_counter()


def cleanup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM workflow.workflow_events WHERE id LIKE %s", [f"%{MARK}"])


def watch_figures(
    store: Path, dsn: str, injections: int, minutes: float, baseline: Path | None
) -> None:
    rows = completions(dsn, injections + int(minutes * 2) + 1)
    names, pool = rows[0], list(rows[1:])
    beside = None
    if baseline is not None:  # the other build watches its own copy of the store
        copy = store.with_name(store.stem + "-baseline.duckdb")
        copy.unlink(missing_ok=True)
        if store.exists():
            shutil.copy(store, copy)
        beside = Watcher(copy, "postgres", "--dsn", dsn, code=baseline)
    watcher = Watcher(store, "postgres", "--dsn", dsn)
    try:
        watcher.passes.wait(3600)
        if beside is not None:
            beside.passes.wait(3600)
        delays = []
        for _ in range(injections):
            run_id, committed = inject(dsn, names, pool.pop())
            delays.append(watcher.alert_for(run_id) - committed)
        print(
            f"commit to alert ({injections} late rows, --interval 2s): median"
            f" {statistics.median(delays):.2f} s, worst {max(delays):.2f} s (target <= 5 median)",
            flush=True,
        )
        write = lambda: pool and inject(dsn, names, pool.pop())  # noqa: E731
        rss_over(watcher, minutes, write, "postgres", beside)
    finally:
        watcher.stop()
        if beside is not None:
            beside.stop()
        cleanup(dsn)


def dir_figures(files: int) -> None:
    from forensics.importers.world_local_follow import changed_files

    root = Path(tempfile.mkdtemp(prefix="forensics-bench-dir-")) / ".workflow-data"
    try:
        events = root / "events"
        events.mkdir(parents=True)
        for n in range(files):
            (events / f"wrun_{n // 10:026d}-wevt_{n:026d}.json").write_bytes(b"{}")
        known = changed_files(root, {})
        walk = min(timed(lambda: [len(f) for _, _, f in os.walk(root)], 3))
        idle = min(timed(lambda: changed_files(root, known), 3))
        print(
            f"watch dir idle pass over {files:,} files: {idle * 1000:.0f} ms"
            f" vs a bare os.walk {walk * 1000:.0f} ms = {idle / walk:.1f} x"
        )
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("FORENSICS_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--name", default="forensics_bench_pg", help="database to (re)use")
    parser.add_argument("-n", "--events", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, default=Path("bench-watch.duckdb"))
    parser.add_argument("--injections", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--dir-files", type=int, default=100_000)
    parser.add_argument("--dir-runs", type=int, default=2_000)
    parser.add_argument("--trace-replays", type=int, default=10_000)
    parser.add_argument("--ddb-items", type=int, default=20_000)
    parser.add_argument("--only", default="postgres,dir,trace,dynamodb")
    parser.add_argument(
        "--fresh", action="store_true", help="the watch starts on an empty store (imports all)"
    )
    parser.add_argument(
        "--baseline-code",
        type=Path,
        default=None,
        help="a checkout of another build: its `watch postgres` runs beside, RSS compared",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if "postgres" in only:
        postgres_figures(args)
    if "dir" in only:
        dir_figures(args.dir_files)
        dir_live(args.dir_runs, args.injections, args.minutes)
    if "trace" in only:
        trace_figures(args.trace_replays, args.minutes)
    if "dynamodb" in only:
        dynamodb_figures(args.ddb_items, args.injections, args.minutes)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def postgres_figures(args: argparse.Namespace) -> None:
    dsn = make_conninfo(args.dsn, dbname=args.name)
    try:
        cleanup(dsn)  # rows a stopped run left behind
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM workflow.workflow_events").fetchone()
        have = int(row[0]) if row else 0
    except psycopg.Error:
        have = -1
    if have != args.events:
        build(args.dsn, args.name, args.events)
    probe_times, aggregate = idle_costs(dsn)
    print(
        f"idle poll, the watch's probe: median {statistics.median(probe_times) * 1000:.1f} ms,"
        f" worst {max(probe_times) * 1000:.1f} ms (target <= 50) vs the newest-event"
        f" aggregate a re-import runs: median {statistics.median(aggregate) * 1000:.0f} ms"
        f" = {statistics.median(aggregate) / statistics.median(probe_times):.0f} x",
        flush=True,
    )
    if args.fresh:
        args.store.unlink(missing_ok=True)
        Path(f"{args.store}.wal").unlink(missing_ok=True)
    elif not args.store.exists():
        start = time.perf_counter()
        argv = [sys.executable, "-m", "forensics", "--db", str(args.store), "import"]
        subprocess.run(
            [*argv, "postgres", "--dsn", dsn, "--output", "json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"(store made by a full import in {time.perf_counter() - start:.0f} s)")
    watch_figures(args.store, dsn, args.injections, args.minutes, args.baseline_code)


if __name__ == "__main__":
    main()
