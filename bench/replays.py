"""Benchmark: replay traces at scale, against the figures README promises.

Builds (once, cached under bench/out/) one 25,000-event run (a hook fed with receives while
500 steps run) and a raw-text trace of 200 of its replays, each loading 24,801-25,000 events
(about 5M loaded-event items, every 40th replay with a hole), stores the run's events, then
measures, each against a baseline timed in the same run:

- `import trace`: loaded-event items per second (target >= 500,000); baseline: reading the
  file and parsing every WF_TRACE payload with orjson, nothing stored;
- `replays` for the run (target <= 1 s); baseline: fetching the run's event rows;
- the digest of one 25,000-event snapshot (target <= 30 ms); baseline: bare SHA-256 over
  the same bytes;
- `diff` of two such replays (target <= 0.5 s); baseline: expanding their two loaded lists.

Run from the repo root: python bench/replays.py [--replays N] [--rounds R]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from forensics.analysis.seed import encode_time
from forensics.importers.trace import import_traces
from forensics.model import EventRecord, Provenance
from forensics.replay.checks import trace_holes
from forensics.replay.diff import diff, resolve
from forensics.replay.replays import run_replays
from forensics.replay.views import diff_info, replay_rows
from forensics.store import Store
from forensics.store.traces import digest_lines

OUT = Path(__file__).resolve().parent / "out"
RUN = "wrun_01KT00000000BENCH0000000000"
EVENTS, STEPS = 25_000, 500
T0 = 1_780_000_000_000
STEP_NAME = "step//./src/workflows/ingest//processBatch"
LOG_ROWS = (
    "SELECT event_id, event_type, correlation_id, event_data FROM events"
    " WHERE run_id = ? ORDER BY event_id"
)
Event = tuple[str, str, str | None, str | None]


def _id(prefix: str, n: int) -> str:
    return f"{prefix}_{encode_time(T0 + n)}{n:016d}"


def layout() -> list[Event]:
    """(event id, type, correlation id, step name) of the run, in eventId order."""
    hook = _id("hook", 0)
    out: list[Event] = [
        ("", "run_created", None, None), ("", "run_started", None, None),
        ("", "hook_created", hook, None),
    ]  # fmt: skip
    receives = (EVENTS - 3 - 3 * STEPS) // STEPS
    for k in range(STEPS):
        cid = _id("step", k + 1)
        out += [("", "step_created", cid, STEP_NAME), ("", "step_started", cid, STEP_NAME)]
        out += [("", "hook_received", hook, None)] * receives
        out.append(("", "step_completed", cid, STEP_NAME))
    out += [("", "hook_received", hook, None)] * (EVENTS - len(out))
    return [(_id("evnt", n), t, c, s) for n, (_, t, c, s) in enumerate(out)]


def store_events(store: Store, events: list[Event]) -> None:
    base = datetime.fromtimestamp(T0 / 1000, UTC)
    with store.begin_import("bench", "synthetic") as session:
        for n, (i, t, c, s) in enumerate(events):
            session.add_event(
                EventRecord(
                    RUN,
                    i,
                    t,
                    Provenance("bench"),
                    correlation_id=c,
                    created_at=base + timedelta(milliseconds=n),
                    spec_version=3,
                    event_data={"stepName": s} if s else None,
                )
            )
        session.finish()


def trace_file(events: list[Event], replays: int) -> Path:
    path = OUT / f"trace-{replays}x{EVENTS}.log"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    items = [
        orjson.dumps({"i": i, "t": t, **({"c": c} if c else {}), **({"n": s} if s else {})})
        for i, t, c, s in events
    ]
    cids = [c for _, t, c, _ in events if t in ("hook_created", "step_created")]
    with path.with_suffix(".tmp").open("wb") as fh:
        for k in range(replays):
            fh.write(_replay(events, items, cids, k, replays))
    path.with_suffix(".tmp").rename(path)
    return path


def _replay(
    events: list[Event],
    items: list[bytes],
    cids: list[str | None],
    k: int,
    replays: int,
) -> bytes:
    length = EVENTS - replays + 1 + k
    loaded = items[:length]
    if k % 40 == 39:
        del loaded[length - 100]
    lines = [i.decode() for i in loaded]
    digest = digest_lines([_line(orjson.loads(i)) for i in loaded])
    when = datetime.fromtimestamp(T0 / 1000 + 60 + k, UTC).isoformat().replace("+00:00", "Z")
    head = (
        f'{{"k":"replay_start","runId":"{RUN}","workflowName":"w","inv":{k + 1},"pid":7,'
        f'"startedAt":"2026-05-28T00:00:00.000Z","eventCount":{len(lines)},'
        f'"digest":"{digest}","events":['
    )
    out = [f"{when}\treq-{k}\tINFO\tWF_TRACE {head}{','.join(lines)}]}}"]
    created = sum(1 for _, t, _, _ in events[:length] if t in ("hook_created", "step_created"))
    for seq, cid in enumerate(cids[: created + 1], start=1):
        kind, key = ("hook", "token") if seq == 1 else ("step", "stepName")
        value = "t-1" if seq == 1 else STEP_NAME
        body = (f'{{"k":"{kind}_subscribe","runId":"{RUN}","inv":{k + 1},"seq":{seq},'
                f'"correlationId":"{cid}","{key}":"{value}"}}')  # fmt: skip
        out.append(f"{when}\treq-{k}\tINFO\tWF_TRACE {body}")
    end = f'{{"k":"replay_end","runId":"{RUN}","inv":{k + 1},"outcome":"suspended"}}'
    out.append(f"{when}\treq-{k}\tINFO\tWF_TRACE {end}")
    return ("\n".join(out) + "\n").encode()


def _line(e: dict[str, str]) -> str:
    return f"{e['i']}|{e['t']}|{e.get('c', '')}|{e.get('n', '')}"


def timed(work: Callable[[], object], rounds: int) -> float:
    """The median wall time of `rounds` runs."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_only(path: Path) -> int:
    items = 0
    with path.open("rb") as fh:
        for raw in fh:
            at = raw.find(b"WF_TRACE ")
            if at >= 0:
                record = orjson.loads(raw[at + 9 :])
                items += len(record.get("events", ()))
    return items


def report(name: str, ours: float, base: float, target: str, ok: bool, extra: str = "") -> None:
    verdict = "meets" if ok else "MISSES"
    print(f"{name:<26} {ours * 1000:9.1f} ms  baseline {base * 1000:8.1f} ms  "
          f"ratio {ours / base:5.2f}  {verdict} {target}{extra}")  # fmt: skip


def measure_import(path: Path, events: list[Event], items: int, db: Path, rounds: int) -> None:
    base = timed(lambda: parse_only(path), rounds)
    took: list[float] = []
    for _ in range(rounds):
        for suffix in ("", ".wal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        with Store(db) as store:
            store_events(store, events)
            started = time.perf_counter()
            import_traces(store, [path])
            took.append(time.perf_counter() - started)
    ours = statistics.median(took)
    rate = items / ours
    report("import trace", ours, base, ">= 500,000 items/s", rate >= 500_000,
           f"  ({rate:,.0f} items/s)")  # fmt: skip


def measure_queries(db: Path, replays: int, rounds: int) -> None:
    with Store(db, read_only=True) as store:
        con = store.con
        base = timed(lambda: con.execute(LOG_ROWS, [RUN]).fetchall(), rounds)

        def listing() -> object:
            rr = run_replays(con, RUN)
            return replay_rows(rr, trace_holes(rr))

        ours = timed(listing, rounds)
        report("replays RUN", ours, base, "<= 1 s", ours <= 1.0)
        rr = run_replays(con, RUN)
        lines = [e.line for e in rr.log.events]
        blob = ("\n".join(lines) + "\n").encode()
        ours = timed(lambda: digest_lines(lines), 20)
        base = timed(lambda: hashlib.sha256(blob).hexdigest(), 20)
        report("digest of 25,000 events", ours, base, "<= 30 ms", ours <= 0.03)
        a, b = f"inv{replays // 2}", f"inv{replays}"
        da, db_ = resolve(rr, a).digest or "", resolve(rr, b).digest or ""
        base = timed(lambda: (rr.traces.loaded(da), rr.traces.loaded(db_)), 5)
        ours = timed(lambda: diff_info(rr, diff(resolve(rr, a), resolve(rr, b))), 5)
        report(f"diff {a} {b}", ours, base, "<= 0.5 s", ours <= 0.5)
        whole = timed(lambda: diff(resolve(run_replays(con, RUN), a), resolve(rr, b)), 3)
        print(f"{'  (diff incl. loading run)':<26} {whole * 1000:9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events = layout()
    path = trace_file(events, args.replays)
    items = parse_only(path)
    print(f"trace: {path.name}, {args.replays} replays, {items:,} loaded-event items,"
          f" {path.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
    db = OUT / "replays.duckdb"
    measure_import(path, events, items, db, args.rounds)
    measure_queries(db, args.replays, args.rounds)


if __name__ == "__main__":
    main()
