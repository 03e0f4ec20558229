"""The `watch dir`, `watch trace` and `watch dynamodb` parts of `watch.py` (see its docstring).

Each builds its own source in a temporary folder (DynamoDB Local is started with the test
suite's helper), then measures an idle pass against a baseline that does the least the
source could be asked, the time from a corrupting write to its alert on a child's stdout,
and the child's resident memory while it keeps polling.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from import_dynamodb import events_table
from import_postgres import tree_rss_kib

STEP = "step_01KSNVVXJB00000000000001"


class Watcher:
    """A `forensics watch …` child; its stdout lines arrive on `lines` with a time."""

    def __init__(self, store: Path, *source: str, code: Path | None = None) -> None:
        argv = [sys.executable, "-m", "forensics", "--db", str(store), "watch", *source]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if code is not None:  # another build of forensics (a baseline), first on the path
            env["PYTHONPATH"] = str(code)
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.passes = threading.Event()
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), json.loads(line)))

    def _err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if re.search(r" pass \d+:", line):  # a pass ended (the first one takes the baseline)
                self.passes.set()
            elif "source failed" in line or "error" in line:
                print(f"  watch: {line.rstrip()}", file=sys.stderr)

    def alert_for(self, run_id: str, timeout: float = 120.0) -> float:
        deadline = time.perf_counter() + timeout
        while True:
            at, alert = self.lines.get(timeout=max(0.1, deadline - time.perf_counter()))
            if alert["run_id"] == run_id and alert["code"] == "multiple-terminals":
                return at

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def rss_over(
    watcher: Watcher,
    minutes: float,
    write: Any,
    what: str,
    beside: Watcher | None = None,
) -> None:
    """Sample the child's resident memory (and `beside`'s, a baseline watching the same
    source) every 5 s for `minutes`, with a write every 30 s."""
    samples: list[float] = []
    others: list[float] = []
    end = time.monotonic() + minutes * 60
    next_row = time.monotonic()
    while time.monotonic() < end:
        if time.monotonic() >= next_row:
            write()
            next_row += 30
        samples.append(tree_rss_kib(watcher.proc.pid) / 1024)
        if beside is not None:
            others.append(tree_rss_kib(beside.proc.pid) / 1024)
        time.sleep(5)
    every = max(1, len(samples) // 5)  # five points of the trend, a sample each 5 s
    trend = " ".join(f"{v:.0f}" for v in samples[::every])
    line = (
        f"watch {what} RSS over {minutes:g} min (with workers): first {samples[0]:.0f} MiB,"
        f" peak {max(samples):.0f} MiB, last {samples[-1]:.0f} MiB (target <= 300;"
        f" trend {trend})"
    )
    if others:
        line += (
            f" vs the baseline build beside it {others[0]:.0f} / {max(others):.0f} /"
            f" {others[-1]:.0f} MiB = {samples[-1] / others[-1]:.2f} x (last)"
        )
    print(line, flush=True)


def delays_line(what: str, delays: list[float]) -> None:
    print(
        f"watch {what} commit to alert ({len(delays)} writes, --interval 2s): median"
        f" {statistics.median(delays):.2f} s, worst {max(delays):.2f} s (target <= 5 median)",
        flush=True,
    )


def timed(work: Callable[[], object], times: int = 20) -> list[float]:
    out = []
    for _ in range(times):
        start = time.perf_counter()
        work()
        out.append(time.perf_counter() - start)
    return out


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, worst {max(values) * 1000:.2f} ms"


# -- world-local directory -------------------------------------------------------------------


def run_id(n: int) -> str:
    return f"wrun_01KSNVVXH82P5GM4{n:010d}"


def write_event(root: Path, n: int, k: int, kind: str, cid: str | None, data: object) -> None:
    obj: dict[str, object] = {"eventType": kind, "specVersion": 2, "runId": run_id(n)}
    if cid:
        obj["correlationId"] = cid
    if data is not None:
        obj["eventData"] = data
    obj["eventId"] = f"wevt_01KSNVVXJ{n:08d}{k:08d}"
    obj["createdAt"] = f"2026-11-21T09:00:{k:02d}.000Z"
    path = root / "events" / f"{run_id(n)}-{obj['eventId']}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)  # whole, then renamed into place, as world-local writes


def world(root: Path, runs: int) -> None:
    (root / "events").mkdir(parents=True)
    for n in range(runs):
        write_event(root, n, 1, "run_created", None, {"deploymentId": "d", "workflowName": "w"})
        write_event(root, n, 2, "run_started", None, None)
        write_event(root, n, 3, "step_created", STEP, {"stepName": "step//charge"})
        write_event(root, n, 4, "step_started", STEP, {"attempt": 1})
        write_event(root, n, 5, "step_completed", STEP, {})


def dir_live(runs: int, injections: int, minutes: float) -> None:
    """A `watch dir` child: commit to alert and RSS."""
    folder = Path(tempfile.mkdtemp(prefix="forensics-bench-wdir-"))
    root = folder / ".workflow-data"
    try:
        world(root, runs)
        watcher = Watcher(folder / "store.duckdb", "dir", str(root))
        try:
            watcher.passes.wait(1800)
            delays, victims = [], iter(range(runs))
            for _ in range(injections):
                n = next(victims)
                write_event(root, n, 6, "step_completed", STEP, {})
                committed = time.perf_counter()
                delays.append(watcher.alert_for(run_id(n)) - committed)
            delays_line(f"dir ({runs:,} runs, {runs * 5:,} files)", delays)
            rss_over(
                watcher,
                minutes,
                lambda: write_event(root, next(victims), 6, "step_completed", STEP, {}),
                "dir",
            )
        finally:
            watcher.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- trace files -----------------------------------------------------------------------------


def trace_lines(inv: int) -> list[str]:
    def record(kind: str, **fields: Any) -> str:
        body = {"k": kind, "runId": run_id(inv % 50), "inv": inv, **fields}
        return "WF_TRACE " + json.dumps(body, separators=(",", ":"))

    events = [{"i": "evnt_01", "t": "run_created"}, {"i": "evnt_02", "t": "run_started"}]
    return [
        record(
            "replay_start",
            workflowName="workflow//./w//wf",
            pid=inv,
            eventCount=2,
            startedAt="2026-05-27T23:21:14.332Z",
            events=events,
        ),
        record("step_subscribe", seq=1, correlationId="step_01", stepName="step//./w//a"),
        record("replay_end", outcome="suspended"),
    ]


def trace_figures(replays: int, minutes: float) -> None:
    """Idle poll of a followed log vs a bare stat; a `watch trace` child's RSS."""
    from forensics.importers.trace_follow import Follow
    from forensics.store import Store

    folder = Path(tempfile.mkdtemp(prefix="forensics-bench-trace-"))
    log = folder / "app.log"
    try:
        with log.open("w") as out:
            for inv in range(replays):
                out.write("\n".join(trace_lines(inv)) + "\n")
        with Store(folder / "probe.duckdb") as store:
            follow = Follow([log])
            follow.poll(store)
            idle = timed(lambda: follow.poll(store), 50)
            follow.close()
        bare = timed(lambda: os.stat(log), 50)
        print(
            f"watch trace idle poll ({replays:,} replays read): {ms(idle)} vs a bare os.stat"
            f" {ms(bare)} = {statistics.median(idle) / statistics.median(bare):.0f} x",
            flush=True,
        )
        watcher = Watcher(folder / "store.duckdb", "trace", str(log))
        counter = iter(range(replays, replays * 100))

        def append() -> None:
            with log.open("a") as out:
                out.write("\n".join(trace_lines(next(counter))) + "\n")

        try:
            watcher.passes.wait(1800)
            rss_over(watcher, minutes, append, "trace")
        finally:
            watcher.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- DynamoDB --------------------------------------------------------------------------------


def dynamodb_figures(count: int, injections: int, minutes: float) -> None:
    """DynamoDB Local with a streamed table: idle pass vs a whole Scan, commit to alert, RSS."""
    import boto3
    from import_dynamodb import _servers, items

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDBENCH")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    folder = Path(tempfile.mkdtemp(prefix="forensics-bench-ddb-"))
    servers = _servers()
    server = servers.start("dynamodb-local", folder)
    try:
        client = boto3.client("dynamodb", endpoint_url=server.url)
        every = list(items(count))
        load(client, every)
        injected = injections_of(every)
        idle_and_scan(server.url, folder)
        watcher = Watcher(
            folder / "store.duckdb", "dynamodb", "--table", TABLE, "--endpoint-url", server.url
        )
        try:
            watcher.passes.wait(1800)
            delays = []
            for _ in range(injections):
                item = next(injected)
                client.put_item(TableName=TABLE, Item=item)
                committed = time.perf_counter()
                delays.append(watcher.alert_for(item["runId"]["S"]) - committed)
            delays_line(f"dynamodb stream ({count:,} items)", delays)
            rss_over(
                watcher,
                minutes,
                lambda: client.put_item(TableName=TABLE, Item=next(injected)),
                "dynamodb",
            )
        finally:
            watcher.stop()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


TABLE = "events_watched"


def load(client: Any, every: list[dict[str, Any]]) -> None:
    client.create_table(
        **events_table(TABLE),
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2})
    for i in range(0, len(every), 25):
        batch = [{"PutRequest": {"Item": it}} for it in every[i : i + 25]]
        while batch:
            done = client.batch_write_item(RequestItems={TABLE: batch})
            batch = done.get("UnprocessedItems", {}).get(TABLE, [])


def injections_of(every: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Per run, a copy of its `step_completed` item under an id above the run's newest."""
    newest: dict[str, str] = {}
    completed: dict[str, dict[str, Any]] = {}
    for item in every:
        run = item["runId"]["S"]
        newest[run] = max(newest.get(run, ""), item["eventId"]["S"])
        if item["eventType"]["S"] == "step_completed":
            completed.setdefault(run, item)
    for run, item in completed.items():
        yield {**item, "eventId": {"S": newest[run] + "Z"}}


def idle_and_scan(url: str, folder: Path) -> None:
    """An idle pass of the stream follower vs a count-only Scan of the whole table."""
    from forensics.importers.base import ImportOptions
    from forensics.importers.dynamodb_live import LiveOptions, Target, connect
    from forensics.importers.dynamodb_live.pages import read_pages
    from forensics.importers.dynamodb_live.plan import Reads, scan_requests
    from forensics.store import Store
    from forensics.watch.sources import DynamoSource

    conn = connect(Target(TABLE, endpoint_url=url))
    with Store(folder / "probe.duckdb") as store:
        source = DynamoSource(conn, ImportOptions(), LiveOptions())
        source.poll(store)  # the first pass: a whole Scan, then the stream
        idle = timed(lambda: source.poll(store))
    requests = scan_requests(Reads(TABLE, 1))
    scan = timed(lambda: sum(len(p.items) for p in read_pages(conn, requests, 1)), 3)
    print(
        f"watch dynamodb idle pass (stream, 1 shard): {ms(idle)} vs a count-only Scan of"
        f" the table each pass would need without it {ms(scan)}"
        f" = {statistics.median(scan) / statistics.median(idle):.0f} x less",
        flush=True,
    )
