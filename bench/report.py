"""Benchmark: the run report of a 25,000-event run with 200 replays, and the fleet report of a
5M-event store, each against a named baseline timed in the same run.

* Run report: a store (cached under `bench/out/`) holding one run of 25,003 events written
  by 200 suspensions, each a replay that creates 41 steps and a wait with a tail fence and
  write times (incident-dump columns), one of them on a stale snapshot. Baseline: plotly's
  own `write_html` of one self-contained scatter of the run's 25,003 points, the floor cost
  of any such page. Targets: at most 3 s to write, at most 8 MB.
* Fleet report: the 5M-event store of `bench/check.py` (`bench/out/check-store.duckdb`) when
  it exists, else one built here from `bench/synth.py` (1,000 runs of 5,000 events) with the
  bulk JSON Lines import. Baseline: counting runs by status through the `runs` view, the
  one query a naive fleet summary needs. Target: at most 10 s.

    python bench/report.py [--rebuild] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import plotly.graph_objects as go

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import encode_body, encode_time, synth_events

from forensics.model import EventRecord, Provenance
from forensics.replay.fences import fence_chain
from forensics.replay.replays import run_replays
from forensics.replay.whatif import what_if
from forensics.report import write_fleet_report, write_run_report
from forensics.report.findings import findings_info
from forensics.report.header import run_header_info
from forensics.report.page import Page, Section, write_page
from forensics.report.run_report import RUN_FIGURES, findings_section
from forensics.store import Store

OUT = Path(__file__).resolve().parent / "out"
RUN_STORE = OUT / "report-run.duckdb"
FLEET_STORE = OUT / "check-store.duckdb"
OWN_FLEET_STORE = OUT / "report-fleet.duckdb"
START_MS = 1_795_000_000_000
BATCHES, STEPS = 200, 41
RUN_ID = "wrun_" + encode_time(START_MS) + encode_body(7)
WORKFLOW = "workflow//./workflows/bench//fanOutWorkflow"


class _Writer:
    """Mints ids in time order and remembers the tail, as a world's writers would."""

    def __init__(self) -> None:
        self.ms, self.n, self.tail = START_MS, 0, ""
        self.out: list[EventRecord] = []

    def add(
        self,
        etype: str,
        cid: str | None,
        data: dict[str, object] | None,
        fence: str | None = None,
        lag: int = 0,
    ) -> str:
        self.ms += 3
        self.n += 1
        eid = "evnt_" + encode_time(self.ms) + encode_body(self.n)
        at = datetime.fromtimestamp(self.ms / 1000, UTC)
        self.out.append(
            EventRecord(
                run_id=RUN_ID,
                event_id=eid,
                event_type=etype,
                provenance=Provenance("bench"),
                correlation_id=cid,
                created_at=at,
                write_time=at + timedelta(milliseconds=2 + lag),
                spec_version=3,
                event_data=data,
                fence_last_event_id=fence,
            )
        )
        self.tail = eid
        return eid


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def run_events() -> list[EventRecord]:
    """25,003 events: 200 suspensions of 41 steps and a wait each, one on a stale snapshot."""
    w = _Writer()
    w.add("run_created", None, {"workflowName": WORKFLOW, "deploymentId": "dpl_bench"})
    w.add("run_started", None, {})
    prefix, body = encode_time(START_MS + 5), 1 << 70
    for b in range(BATCHES):
        loaded = w.tail if b != 120 else w.out[-3].event_id  # batch 120 decided from an old read
        for k in range(STEPS):
            cid = f"step_{prefix}{encode_body(body + b * (STEPS + 1) + k)}"
            loaded = w.add("step_created", cid, {"stepName": f"step//./bench//shard{k}"}, loaded)
        wait = f"wait_{prefix}{encode_body(body + b * (STEPS + 1) + STEPS)}"
        resume: dict[str, object] = {"resumeAt": _iso(w.ms + 200)}
        w.add("wait_created", wait, resume, loaded)
        for k in range(STEPS):
            cid = f"step_{prefix}{encode_body(body + b * (STEPS + 1) + k)}"
            w.add("step_started", cid, {"stepName": f"step//./bench//shard{k}"})
            w.add("step_completed", cid, {"stepName": f"step//./bench//shard{k}"}, lag=4 * (k == 7))
        w.add("wait_completed", wait, resume, w.tail)
    w.add("run_completed", None, {}, w.tail)
    return w.out


def build_run_store(force: bool) -> None:
    if RUN_STORE.exists() and not force:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in (RUN_STORE, Path(f"{RUN_STORE}.wal")):
        stale.unlink(missing_ok=True)
    with Store(RUN_STORE) as store, store.begin_import("bench", "bench/report.py") as session:
        session.add_events(run_events())
        session.finish()


def fleet_store(force: bool) -> Path:
    """The check benchmark's 5M store when present, else one built here (slow, once)."""
    if FLEET_STORE.exists() and not force:
        return FLEET_STORE
    if OWN_FLEET_STORE.exists() and not force:
        return OWN_FLEET_STORE
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        source = Path(tmp) / "fleet.jsonl"
        with source.open("wb") as fh:
            for event in synth_events(1_000, 5_000):
                fh.write(orjson.dumps(event) + b"\n")
        cmd = [sys.executable, "-m", "forensics", "--db", str(OWN_FLEET_STORE), "import", "json"]
        subprocess.run([*cmd, str(source)], check=True, stdout=subprocess.DEVNULL)
    return OWN_FLEET_STORE


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def plotly_baseline(path: Path) -> None:
    """One self-contained scatter of the run's points with plotly's own writer."""
    with Store(RUN_STORE, read_only=True) as store:
        rows = store.con.execute(
            "SELECT log_position, epoch_ms(write_time) FROM run_log ORDER BY log_position"
        ).fetchall()
    fig = go.Figure(go.Scatter(x=[r[0] for r in rows], y=[r[1] for r in rows], mode="markers"))
    fig.write_html(path, include_plotlyjs=True)


def bench_run(repeat: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        page, base = Path(tmp) / "run.html", Path(tmp) / "baseline.html"

        def ours() -> None:
            with Store(RUN_STORE, read_only=True) as store:
                write_run_report(store.con, RUN_ID, page)

        def engine() -> None:
            with Store(RUN_STORE, read_only=True) as store:
                rr = run_replays(store.con, RUN_ID)
                what_if(rr, fence_chain(rr))

        def own_work() -> None:
            """Every section but the fence chain's engine calls, and the page around them."""
            with Store(RUN_STORE, read_only=True) as store:
                con = store.con
                sections = (
                    findings_section(run_header_info(con, RUN_ID), findings_info(con, RUN_ID)),
                    *(
                        Section(n, n, figures=(RUN_FIGURES[n](con, RUN_ID),))
                        for n in ("timeline", "commit-order", "replays")
                    ),
                )
                write_page(Page("bench", (), sections, "now"), Path(tmp) / "own.html")

        t_base = timed(lambda: plotly_baseline(base), repeat)
        t_own = timed(own_work, repeat)
        t_engine = timed(engine, 1)
        t_ours = timed(ours, repeat)
        size, base_size = page.stat().st_size / 1e6, base.stat().st_size / 1e6
        yield f"run report ({RUN_ID}, 25,003 events, {BATCHES} replays)"
        yield f"  baseline plotly write_html, one scatter: {t_base:6.2f} s  {base_size:5.2f} MB"
        yield f"  forensics run report:                    {t_ours:6.2f} s  {size:5.2f} MB"
        yield f"  the report's own work (all but fence chain and what-if): {t_own:6.2f} s"
        yield f"  the replay engine's run_replays + fence_chain + what_if:  {t_engine:6.2f} s"
        yield f"  ratio: {t_ours / t_base:.2f}x time, {size / base_size:.2f}x size"
        yield f"  targets: {'ok' if t_ours <= 3 else 'MISSED'} (<= 3 s),"
        yield f"           {'ok' if size <= 8 else 'MISSED'} (<= 8 MB)"


def bench_fleet(store_path: Path, repeat: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "fleet.html"

        def baseline() -> None:
            with Store(store_path, read_only=True) as store:
                store.con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()

        def ours() -> None:
            with Store(store_path, read_only=True) as store:
                write_fleet_report(store.con, page)

        t_base = timed(baseline, repeat)
        t_ours = timed(ours, repeat)
        with Store(store_path, read_only=True) as store:
            events = store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        yield f"fleet report ({store_path.name}, {events:,} events)"
        yield f"  baseline runs-by-status via the runs view: {t_base:6.2f} s"
        yield f"  forensics fleet report:                    {t_ours:6.2f} s"
        verdict = "ok" if t_ours <= 10 else "MISSED"
        yield f"  ratio: {t_ours / t_base:.2f}x; target {verdict} (<= 10 s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached stores")
    parser.add_argument("--repeat", type=int, default=3, help="timings per figure (median)")
    parser.add_argument("--skip-fleet", action="store_true", help="only the run report")
    args = parser.parse_args()
    build_run_store(args.rebuild)
    for line in bench_run(args.repeat):
        print(line, flush=True)
    if not args.skip_fleet:
        for line in bench_fleet(fleet_store(args.rebuild), args.repeat):
            print(line, flush=True)


if __name__ == "__main__":
    main()
