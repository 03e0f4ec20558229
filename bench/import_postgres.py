"""Benchmark: `forensics import postgres` against a bare COPY of the events, same run.

A database is built from the real world-postgres capture (`tests/data/realdata/postgres`): its
schema and rows are loaded, then the 43 runs (events, run rows, step rows, hooks, waits)
are replicated with fresh ULIDs, a clock shifted into the past (two minutes per replica,
so every row is older than the server's clock) and the capture's run label swapped for a
per-replica one inside the CBOR bytes (same length, so the CBOR stays valid) until there
are `-n` events (default 1,000,000). The database is kept and reused while its event count
matches; `--rebuild` makes it again.

Then, in one run: the baseline (`COPY (SELECT * FROM workflow.workflow_events) TO STDOUT`
drained and discarded by psycopg, best of two), a full import into a fresh store and a
re-import with nothing new, both through the CLI in a child process (wall time including
interpreter start; peak RSS of the process from `wait4`, and of the process with its
decoding workers sampled from /proc). It prints the ratios against the figures to
reach (import ≤ 1.5 × baseline, peak RSS ≤ 1 GiB, nothing-new re-import ≤ 2 s).
`--breakdown` also times, in this process, draining the importer's own binary COPY and
decoding it into staging tables without storing them, to show where the time goes.

    python bench/import_postgres.py [-n 1000000] [--dsn ADMIN_DSN] [--rebuild] [--breakdown]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

REALDATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "realdata" / "postgres"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LABEL = re.compile(rb"mwq6[0-9a-z]{4}")
TEXT_LABEL = re.compile(r"mwq6[0-9a-z]{4}")
SHIFT = timedelta(minutes=-2)  # each replica ran two minutes before the previous one
DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
ID_COLUMNS = {"id", "run_id", "step_id", "hook_id", "correlation_id", "wait_id"}


def ulid_time(ulid: str) -> int:
    value = 0
    for char in ulid[:10]:
        value = value * 32 + ALPHABET.index(char)
    return value


def encode(value: int, length: int) -> str:
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(length)))


class Replica:
    """Maps one real run's ids, times and labels to those of replica number `n`."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.shift = SHIFT * n
        self.ms = int(self.shift.total_seconds() * 1000)
        self.label = f"r{n:07d}"

    def fresh(self, old: str) -> str:
        """A new ULID-bearing id for `old` (same prefix, shifted time, new randomness); the
        same in every table, because the randomness comes from the replica and the old id."""
        prefix, body = old[:-26], old[-26:]
        stamp = ulid_time(body) + self.ms
        noise = random.Random(f"{self.n}:{old}").getrandbits(80)
        return prefix + encode((stamp << 80) | noise, 26)

    def cid(self, old: str) -> str:
        """A correlation id keeps its 16-character body (the draw ordinal) on a new prefix."""
        body = old[-26:]
        return old[:-26] + encode(ulid_time(body) + self.ms, 10) + body[10:]

    def value(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        if column == "wait_id":
            run, _, cid = value.partition("-")
            return f"{self.fresh(run)}-{self.cid(cid)}"
        if column in ("correlation_id", "step_id", "hook_id"):
            return self.cid(value)
        if column in ("id", "run_id"):
            return self.fresh(value)
        if isinstance(value, bytes):
            return LABEL.sub(self.label.encode(), value)
        if isinstance(value, str):
            return TEXT_LABEL.sub(self.label, value)
        if hasattr(value, "tzinfo"):  # a datetime
            return value + self.shift
        if isinstance(value, dict | list):
            return Jsonb(value)
        return value


def load_dump(conn: psycopg.Connection[tuple[Any, ...]], path: Path) -> None:
    """A plain pg_dump file: SQL as is, `COPY … FROM stdin` blocks streamed, `\\…` skipped."""
    lines = iter(path.read_text().splitlines(keepends=True))
    pending: list[str] = []
    for line in lines:
        if line.startswith("\\"):
            continue
        if line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;"):
            if "".join(pending).strip():
                conn.execute("".join(pending).encode())
            pending = []
            with conn.cursor() as cur, cur.copy(line.rstrip()[:-1].encode()) as copy:
                for data in lines:
                    if data.startswith("\\."):
                        break
                    copy.write(data)
        else:
            pending.append(line)
    if "".join(pending).strip():
        conn.execute("".join(pending).encode())


def build(admin_dsn: str, name: str, events: int) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(make_conninfo(admin_dsn, dbname=name), autocommit=True) as conn:
        load_dump(conn, REALDATA / "pg-schema.sql")
        load_dump(conn, REALDATA / "pg-data.sql")
        conn.execute("SET search_path = workflow, public")
        tables = (
            "workflow_events",
            "workflow_runs",
            "workflow_steps",
            "workflow_hooks",
            "workflow_waits",
        )
        real = {t: _rows(conn, t) for t in tables}
        indexes = _drop_indexes(conn)
        for table in tables:
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
        written = _replicate(conn, real, events)
        for statement in indexes:
            conn.execute(statement.encode())
        conn.execute("VACUUM (ANALYZE) workflow.workflow_events")
        conn.execute("VACUUM (ANALYZE)")
    print(f"built database {name}: {written:,d} events")


def _rows(conn: psycopg.Connection[tuple[Any, ...]], table: str) -> tuple[list[str], list[Any]]:
    cur = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(sql.Identifier(table)))
    assert cur.description is not None
    return [d.name for d in cur.description], cur.fetchall()


def _drop_indexes(conn: psycopg.Connection[tuple[Any, ...]]) -> list[str]:
    """Drop the events table's key and indexes (bulk load); return how to make them again."""
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'workflow'"
        " AND tablename = 'workflow_events'"
    ).fetchall()
    remake = []
    for index, definition in rows:
        if index == "workflow_events_pkey":
            conn.execute("ALTER TABLE workflow_events DROP CONSTRAINT workflow_events_pkey")
            remake.append("ALTER TABLE workflow.workflow_events ADD PRIMARY KEY (id)")
        else:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier("workflow", index)))
            remake.append(definition)
    return remake


def _replicate(
    conn: psycopg.Connection[tuple[Any, ...]],
    real: dict[str, tuple[list[str], list[Any]]],
    events: int,
) -> int:
    per_replica = len(real["workflow_events"][1])
    replicas = -(-events // per_replica)
    written = 0
    for table, (columns, rows) in real.items():
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for n in range(replicas):
                replica = Replica(n)
                for row in rows:
                    if table == "workflow_events" and written >= events:
                        break
                    copy.write_row([replica.value(c, v) for c, v in zip(columns, row, strict=True)])
                    written += table == "workflow_events"
        print(f"  {table}: {time.perf_counter() - start:.1f} s")
    return written


def bare_copy(dsn: str) -> float:
    """Seconds to drain `COPY (SELECT * FROM workflow.workflow_events) TO STDOUT`."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        with cur.copy("COPY (SELECT * FROM workflow.workflow_events) TO STDOUT") as copy:
            for _ in copy:
                pass
        return time.perf_counter() - start


class Child:
    """A command run to completion: wall seconds, exit code, peak RSS (MiB), stdout.

    `rss_mib` is the child's own peak (wait4); `tree_mib` the peak of the sum over the child
    and its descendants (decoding workers), sampled from /proc every 50 ms."""

    def __init__(self, argv: list[str]) -> None:
        start = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(argv, stdout=out)
            sampler = threading.Thread(target=self._sample, args=(proc.pid,), daemon=True)
            self.tree_mib = 0.0
            self.done = False
            sampler.start()
            _pid, status, usage = os.wait4(proc.pid, 0)
            self.wall = time.perf_counter() - start
            self.done = True
            sampler.join()
            out.seek(0)
            self.stdout = out.read().decode()
        self.code = os.waitstatus_to_exitcode(status)
        self.cpu = usage.ru_utime + usage.ru_stime
        self.rss_mib = usage.ru_maxrss / 1024

    def _sample(self, root: int) -> None:
        while not self.done:
            self.tree_mib = max(self.tree_mib, tree_rss_kib(root) / 1024)
            time.sleep(0.05)


def tree_rss_kib(root: int) -> int:
    """Resident KiB of process `root` and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += sum(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return total


def cli_import(db: Path, dsn: str) -> tuple[Child, dict[str, Any]]:
    argv = [
        sys.executable,
        "-m",
        "forensics",
        "--db",
        str(db),
        "import",
        "postgres",
        "--dsn",
        dsn,
        "--output",
        "json",
    ]
    child = Child(argv)
    if child.code != 0:
        sys.exit(f"forensics import postgres failed with exit status {child.code}")
    return child, json.loads(child.stdout)[0]


def breakdown(dsn: str) -> Iterator[tuple[str, float]]:
    """In-process: drain the importer's event COPY; then also decode it into staging tables."""
    from forensics.importers.postgres.connect import open_snapshot
    from forensics.importers.postgres.events import EventBatches
    from forensics.importers.postgres.probe import probe
    from forensics.importers.postgres.selects import EVENT_TYPES, Filters, Marks, events_copy
    from forensics.importers.postgres.streaming import copy_batches

    for decode in (False, True):
        conn = open_snapshot(dsn, 0)
        statement, params = events_copy(probe(conn, "workflow"), Filters(), Marks())
        batches = EventBatches("bench", None, lambda q: None, {})
        start = time.perf_counter()
        for rows in copy_batches(conn, statement, params, EVENT_TYPES, 20_000):
            if decode:
                batches.table(rows)
        yield (
            "importer COPY + decode to Arrow" if decode else "importer COPY, rows parsed",
            time.perf_counter() - start,
        )
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=1_000_000)
    parser.add_argument("--dsn", default=os.environ.get("FORENSICS_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--name", default="forensics_bench_pg", help="database to (re)use")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args()
    dsn = make_conninfo(args.dsn, dbname=args.name)
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM workflow.workflow_events").fetchone()
        have = int(row[0]) if row else 0
    except psycopg.Error:
        have = -1
    if args.rebuild or have != args.events:
        build(args.dsn, args.name, args.events)
    bare_copy(dsn)  # warm the cache
    baseline = min(bare_copy(dsn), bare_copy(dsn))
    work = Path(tempfile.mkdtemp(prefix="forensics-bench-pg-"))
    try:
        full, summary = cli_import(work / "store.duckdb", dsn)
        again, second = cli_import(work / "store.duckdb", dsn)
        late = bare_copy(dsn)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    print(f"baseline bare COPY drain: {baseline:6.2f} s (again after the imports: {late:.2f} s)")
    print(
        f"full import (CLI):        {full.wall:6.2f} s = {full.wall / baseline:.2f} x baseline"
        f" (target <= 1.5); peak RSS {full.rss_mib:,.0f} MiB, with decoding workers"
        f" {full.tree_mib:,.0f} MiB (target <= 1024); read {summary['read']:,d},"
        f" stored {summary['stored']:,d},"
        f" runs {summary['runs']:,d}, entities {summary['entities']:,d}"
    )
    print(
        f"re-import, nothing new:   {again.wall:6.2f} s (target <= 2),"
        f" peak RSS {again.rss_mib:,.0f} MiB; read {second['read']:,d},"
        f" stored {second['stored']:,d}"
    )
    if args.breakdown:
        for label, seconds in breakdown(dsn):
            print(f"{label + ':':32s} {seconds:6.2f} s = {seconds / baseline:.2f} x baseline")


if __name__ == "__main__":
    main()
