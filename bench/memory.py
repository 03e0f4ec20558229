"""Benchmark: peak memory and wall time of every command over a 5M-event store.

Builds once (under a folder of its own, outside the repository: `--dir`, default
`$TMPDIR/forensics-memory`) 5,000,000 synthetic events as JSON Lines (`bench/synth.py`),
imports them with `forensics import json` (the first row of the table), then runs each
command that reads the store as its own process on that store, sampling the resident
memory of the whole process tree (the command and any worker it starts) from /proc every
20 ms. Prints one row per command: wall seconds, peak RSS of the tree and of the command's
own process (from `wait4`), and whether it kept within 1 GiB (and `export` within 60 s).

    python bench/memory.py [--events N] [--dir DIR] [--reuse] [--only NAME …]

`--reuse` keeps a store an earlier run built (the import row is then left out).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
from synth import synth_events

LIMIT_MIB = 1024
EXPORT_LIMIT_S = 60.0


@dataclass
class Result:
    name: str
    wall: float
    tree_mib: float
    own_mib: float
    status: int


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(root: int) -> int:
    """Resident KiB of `root` and every process under it."""
    kids, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kib(pid)
        todo.extend(kids.get(pid, []))
    return total


def measure(name: str, cmd: list[str], cwd: Path) -> Result:
    """Run one command; its wall time and the peak RSS of its process tree and of itself."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: findings reported, as `check` does on a store with findings
        print(f"{name}: exit {code}: {err.decode(errors='replace')[-2000:]}", file=sys.stderr)
    own = usage.ru_maxrss / 1024
    return Result(name, wall, max(peak[0] / 1024, own), own, code)


def dataset(folder: Path, events: int) -> Path:
    path = folder / f"events-{events}.jsonl"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        runs, per_run = max(1, events // 5000), min(events, 5000)
        for event in synth_events(runs, per_run):
            fh.write(orjson.dumps(event) + b"\n")
    tmp.rename(path)
    return path


def commands(db: Path, run: str, out: Path) -> list[tuple[str, list[str]]]:
    """Every command that reads the store, with the arguments a user would give it."""
    f = [sys.executable, "-m", "forensics", "--db", str(db)]
    return [
        ("check", [*f, "check"]),
        ("runs", [*f, "runs"]),
        ("runs --format json", [*f, "runs", "--format", "json"]),
        ("events RUN", [*f, "events", run]),
        ("events RUN --full --format json", [*f, "events", run, "--full", "--format", "json"]),
        ("explain RUN", [*f, "explain", run]),
        ("ids RUN", [*f, "ids", run]),
        ("replays RUN", [*f, "replays", run]),
        ("fences RUN", [*f, "fences", run]),
        ("story RUN", [*f, "story", run]),
        ("report RUN", [*f, "report", run, "-o", str(out / "run.html")]),
        ("report (fleet)", [*f, "report", "--fleet", "-o", str(out / "fleet.html")]),
        ("export parquet", [*f, "export", str(out / "parquet")]),
        ("export csv", [*f, "export", str(out / "csv"), "--format", "csv"]),
        ("export json", [*f, "export", str(out / "json"), "--format", "json"]),
        ("export --layout fleet", [*f, "export", str(out / "fleet"), "--layout", "fleet"]),
        ("sql count(*)", [*f, "sql", "select count(*) from events"]),
        # 5M rows printed as they are read (four columns: Python's conversion of all of
        # them takes many minutes, memory is the same)
        (
            "sql 5M rows --format csv",
            [
                *f,
                "sql",
                "select run_id, event_id, event_type, spec_version from events",
                "--format",
                "csv",
            ],
        ),
        ("sql 5M rows (table)", [*f, "sql", "select run_id, event_id from events"]),
        ("sql runs view", [*f, "sql", "select * from runs", "--format", "csv"]),
        ("sql -q (canned)", [*f, "sql", "-q", "order-inversions"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    default_dir = Path(tempfile.gettempdir()) / "forensics-memory"
    parser.add_argument("--dir", type=Path, default=default_dir)
    parser.add_argument("--reuse", action="store_true", help="keep a store built before")
    parser.add_argument("--only", nargs="*", help="only the commands whose name starts so")
    args = parser.parse_args()
    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    data = dataset(folder, args.events)
    db = folder / f"store-{args.events}.duckdb"
    results: list[Result] = []
    cwd = Path(__file__).resolve().parent.parent
    if not (args.reuse and db.exists()):
        for suffix in ("", ".wal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        imp = [sys.executable, "-m", "forensics", "--db", str(db), "import", "json", str(data)]
        results.append(measure("import json (JSON Lines)", imp, cwd))
        print(_row(results[-1]), flush=True)
    with duckdb.connect(str(db), read_only=True) as con:
        (run,) = con.execute(
            "SELECT run_id FROM events GROUP BY run_id ORDER BY count(*) DESC, run_id LIMIT 1"
        ).fetchone() or ("",)
    out = folder / "out"
    for name, cmd in commands(db, str(run), out):
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        results.append(measure(name, cmd, cwd))
        print(_row(results[-1]), flush=True)
    shutil.rmtree(out, ignore_errors=True)
    print()
    print(
        f"{args.events:,} events, {data.stat().st_size / 2**30:.2f} GiB of JSON Lines;"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    print("| command | wall s | peak RSS MiB (tree) | own process MiB | within |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| `{r.name}` | {r.wall:.1f} | {r.tree_mib:.0f} | {r.own_mib:.0f} | {_ok(r)} |")
    over = [r.name for r in results if _ok(r) != "✓"]
    print(f"over budget: {', '.join(over) or 'none'}")


def _ok(r: Result) -> str:
    if r.status not in (0, 1):
        return f"exit {r.status}"
    if r.tree_mib > LIMIT_MIB:
        return "✗ RSS"
    if r.name.startswith("export") and r.wall >= EXPORT_LIMIT_S:
        return "✗ time"
    return "✓"


def _row(r: Result) -> str:
    return (
        f"{r.name:34} {r.wall:7.1f} s {r.tree_mib:7.0f} MiB tree {r.own_mib:7.0f} MiB own"
        f"  exit {r.status}  {_ok(r)}"
    )


if __name__ == "__main__":
    main()
