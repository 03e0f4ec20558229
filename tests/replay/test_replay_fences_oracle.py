"""The fence chain and what-if designs agree with the plain per-write scans on random runs.

Each seed builds small runs through the store and the DSL: steps, hooks and waits in random
order, fences that chain, skip back or name events that never landed, write times out of
order (or none), pauses that split batches, and trace files whose replays loaded a prefix
of the log or a list with holes. Every run is judged as rebuilt, then again with its writes
dealt out to made-up replays whose snapshots end anywhere, so the new prefix counts meet
shapes the rebuild alone rarely makes.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import fences_oracle as oracle
import pytest
from dsl import RUN, T0, ev, event_id

from forensics.importers.trace import import_traces
from forensics.model import EventRecord
from forensics.replay.fences import SnapshotView, fence_chain
from forensics.replay.reconstruct import Snapshot
from forensics.replay.replays import Replay, RunReplays, run_replays
from forensics.replay.whatif import what_if
from forensics.store import Store
from forensics.store.traces import digest_lines, item_line
from tests.replay.conftest import TRACED

RUNS_PER_SEED = 40
NAMES = ("step//./w//a", "step//./w//b", "step//./w//c")


def _run_id(seed: int, k: int) -> str:
    return RUN[:-6] + f"{seed:02d}{k:04d}"


class _Builder:
    """One random run: events in id order with the fences and write times its writers sent."""

    def __init__(self, rng: random.Random, run: str, base: int) -> None:
        self.rng, self.run, self.base = rng, run, base
        self.events: list[EventRecord] = []
        self.live: dict[str, list[str]] = {"step": [], "hook": [], "wait": []}
        self.names: dict[str, str] = {}
        self.timed = rng.random() < 0.6
        self.fenced = rng.random() < 0.7
        self.pause = 0

    def add(self, etype: str, cid: str | None = None, data: dict[str, Any] | None = None) -> None:
        rng, n = self.rng, self.base + len(self.events) + 1
        if rng.random() < 0.05:
            self.pause += 2000  # a pause of two seconds: another invocation
        created = T0 + timedelta(milliseconds=n + self.pause)
        fields: dict[str, Any] = {"created_at": created}
        if self.timed:
            lag = rng.randint(-6, 20) if rng.random() < 0.2 else 2
            fields["write_time"] = created + timedelta(milliseconds=lag)
        if self.fenced and (etype.endswith(("_created", "wait_completed")) or etype in RUN_ENDS):
            fields["fence_last_event_id"] = self._fence(n)
        self.events.append(ev(n, etype, cid, data, run=self.run, **fields))

    def _fence(self, n: int) -> str | None:
        roll, earlier = self.rng.random(), self.events
        if roll < 0.5 and earlier:
            return earlier[-1].event_id
        if roll < 0.75 and earlier:
            return self.rng.choice(earlier).event_id
        return event_id(n + 500) if roll < 0.8 else None  # never lands, or no fence

    def step(self) -> None:
        rng, kinds = self.rng, list(_MOVES)
        kind = rng.choices(kinds, weights=[_MOVES[k] for k in kinds])[0]
        live = self.live[kind.split("_")[0]]
        if kind.endswith("_created"):
            again = live and rng.random() < 0.08  # a second creation of one correlation id
            cid = rng.choice(live) if again else f"{kind.split('_')[0]}_{len(self.events):02d}"
            live.append(cid)
            self.names.setdefault(cid, rng.choice(NAMES))
        elif not live:
            return
        else:
            cid = rng.choice(live)
        data = {"stepName": self.names[cid]} if kind.startswith("step") else None
        if kind.startswith("hook"):
            data = {"token": f"t-{cid}"}
        self.add(kind, cid, data)


RUN_ENDS = ("run_completed", "run_failed")
_MOVES = {
    "step_created": 6, "step_started": 3, "step_completed": 3, "step_failed": 1,
    "step_retrying": 1, "hook_created": 2, "hook_received": 2, "wait_created": 1,
    "wait_completed": 1,
}  # fmt: skip


def random_run(rng: random.Random, run: str, base: int) -> list[EventRecord]:
    b = _Builder(rng, run, base)
    b.add("run_created", data={"workflowName": "workflow//./w//wf"})
    b.add("run_started")
    for _ in range(rng.randint(2, 36)):
        b.step()
    if rng.random() < 0.6:
        b.add(rng.choice(RUN_ENDS))
    return b.events


def _line(kind: str, run: str, inv: int, **fields: Any) -> str:
    body = {"k": kind, "runId": run, "inv": inv, **fields}
    return "WF_TRACE " + json.dumps(body, separators=(",", ":"))


def random_traces(rng: random.Random, events: list[EventRecord]) -> list[str]:
    """Up to three replays, each loading the log below one creation (some with holes)."""
    creations = [k for k, e in enumerate(events) if e.event_type == "step_created" and k > 2]
    lines: list[str] = []
    for inv in range(1, rng.randint(1, 3) + 1 if creations else 1):
        k = rng.choice(creations)
        loaded = events[: rng.randint(2, k)]
        if len(loaded) > 3 and rng.random() < 0.5:
            loaded = [e for e in loaded if e is loaded[-1] or rng.random() < 0.8]
        items = [
            {"i": e.event_id, "t": e.event_type, "c": e.correlation_id or "",
             "n": (e.event_data or {}).get("stepName", "")}
            for e in loaded
        ]  # fmt: skip
        digest = digest_lines([item_line(x["i"], x["t"], x["c"], x["n"]) for x in items])
        run = events[0].run_id
        lines.append(_line("replay_start", run, inv, pid=1, workflowName="workflow//./w//wf",
                           eventCount=len(items), digest=digest, events=items))  # fmt: skip
        later = [j for j in creations if j >= len(loaded)]
        for seq, j in enumerate(sorted({k, *rng.sample(later, min(2, len(later)))}), start=1):
            e = events[j]
            name = (e.event_data or {}).get("stepName")
            lines.append(_line("step_subscribe", run, inv, seq=seq,
                               correlationId=e.correlation_id, stepName=name))  # fmt: skip
        if rng.random() < 0.8:
            lines.append(_line("replay_end", run, inv, outcome="suspended"))
    return lines


def dealt_out(rng: random.Random, rr: RunReplays) -> RunReplays:
    """The run's traced replays, plus its other writes dealt to made-up replays."""
    log, n = rr.log, len(rr.log.events)
    kept = [r for r in rr.replays if r.traced is not None]
    taken = {i for r in kept for i in r.writes}
    free = [i for i in log.commit if i not in taken and rng.random() < 0.6]
    made: list[Replay] = []
    for k in range(rng.randint(1, 4)):
        writes = tuple(free[k::4])
        if rng.random() < 0.3:  # any order, and writes another replay also claims
            writes = tuple(rng.sample(free, len(writes)))
        if not writes:
            continue
        end = rng.randint(0, n) if rng.random() < 0.9 else None
        missing = tuple(sorted(rng.sample(range(end or 0), min(end or 0, rng.randint(0, 3)))))
        tail = rng.choice([*log.event_ids, None, event_id(999)]) if n else None
        kind = rng.choice(("fenced", "fenced", "inferred", "traced"))
        snap = Snapshot(kind, "d" if rng.random() < 0.9 else None, end, tail, end, missing)
        source = rng.choice(("trace", "reconstructed"))
        made.append(Replay(f"x{k}", source, snap, writes, None, None, None, None))
    return RunReplays(log, rr.traces, (*kept, *made))


def _agree(rr: RunReplays, seen: Counter[str]) -> None:
    chain = fence_chain(rr)
    assert chain == oracle.fence_chain(rr)
    outcomes = what_if(rr, chain)
    assert outcomes == oracle.what_if(rr, chain)
    seen["stale"] += sum(1 for row in chain if row.missed)
    seen["trace fence"] += sum(1 for row in chain if row.fence_source == "trace")
    seen["asymmetric"] += sum(1 for row in chain if row.symmetry == "asymmetric")
    seen["list view"] += sum(1 for r in rr.replays if SnapshotView(rr, r).ids is not None)
    for o in outcomes:
        seen[o.design] += len(o.rejected)
        seen[f"{o.design} kept"] += o.evaluated - len(o.rejected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_chain_and_the_designs_match_the_plain_scans(
    seed: int, tmp_store: Store, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    runs = [random_run(rng, _run_id(seed, k), k * 1000) for k in range(RUNS_PER_SEED)]
    traces = [line for events in runs if rng.random() < 0.5 for line in random_traces(rng, events)]
    with tmp_store.begin_import("test", "dsl") as session:
        session.add_events([e for events in runs for e in events])
        session.finish()
    (tmp_path / "traces.log").write_text("\n".join(traces) + "\n")
    import_traces(tmp_store, [tmp_path / "traces.log"])
    seen: Counter[str] = Counter()
    for events in runs:
        rr = run_replays(tmp_store.con, events[0].run_id)
        _agree(rr, seen)
        for _ in range(2):
            _agree(dealt_out(rng, rr), seen)
    assert min(seen.values()) > 0 and len(seen) == 12, seen


def test_a_write_judged_from_an_empty_snapshot_missed_all_before_it(tmp_store: Store) -> None:
    """A known snapshot with neither an end nor a list holds nothing (the oracle agrees)."""
    events = [ev(n, t) for n, t in enumerate(("run_created", "run_started", "hook_received"), 1)]
    events.append(ev(4, "step_created", "step_01", {"stepName": "a"}))
    with tmp_store.begin_import("test", "dsl") as session:
        session.add_events(events)
        session.finish()
    rr = run_replays(tmp_store.con, RUN)
    empty = Replay("x", "reconstructed", Snapshot("fenced", "d", 0, None), (3,), *(None,) * 4)
    rr = RunReplays(rr.log, rr.traces, (empty,))
    row = fence_chain(rr)[3]
    assert (row.verdict, row.missed) == ("stale-snapshot-write", (0, 1, 2))
    assert fence_chain(rr) == oracle.fence_chain(rr)
    assert what_if(rr, fence_chain(rr)) == oracle.what_if(rr, fence_chain(rr))


def test_the_bundled_traced_runs_match_the_plain_scans(traced_store: Store) -> None:
    runs = [r[0] for r in traced_store.query("SELECT run_id FROM runs ORDER BY run_id")[1]]
    assert {r["run_id"] for r in TRACED} <= set(runs)
    for run in runs:
        rr = run_replays(traced_store.con, run)
        chain = fence_chain(rr)
        assert chain == oracle.fence_chain(rr)
        assert what_if(rr, chain) == oracle.what_if(rr, chain)
