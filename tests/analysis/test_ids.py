"""Tests for id-scheme detection and correlation-id analysis, including real runs."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from forensics.analysis.ids import (
    IdReport,
    analyse_ids,
    find_started_at,
    id_scheme,
    parse_correlation_id,
    seeded_b0,
    slot_number,
    ulid_time_ms,
    ulid_times_ms,
)
from forensics.analysis.seed import (
    REGION_BIT,
    CorrelationIdGenerator,
    body_to_int,
    encode_time,
    int_to_body,
)
from tests.realdata import REALDATA

RUN_ID = "wrun_01JZ0000000000000000000000"
WORKFLOW = "workflow//./src/workflows/demo.ts//demoWorkflow"
STARTED_AT = 1750000000123
PREFIX = "01JXT21Q3V"
B0 = "PTAKE35338VS4P3Q"
TOKENS = ["59zy9htJTwBPCli93GS-x", "Q4dpbsry7RipzO_GiSAZI"]


def _cid(kind: str, k: int) -> str:
    return f"{kind}_{PREFIX}{int_to_body(body_to_int(B0) + k)}"


# ----------------------------------------------------------------- event ids


def test_id_scheme() -> None:
    assert id_scheme("evnt_01M7YNNATD58W8H0D3AA2N49TK") == "ulid"
    assert id_scheme("wevt_01M7YNQXYFMDWSBP2FNBJ89PSJ") == "ulid"
    assert id_scheme("01M7YNQXYFMDWSBP2FNBJ89PSJ") == "ulid"
    assert id_scheme("evnt_00000000000000000000000001") == "slot"
    assert id_scheme("evnt_0000000000000000000000001") == "unknown"  # 25 digits
    assert id_scheme("evnt_81M7YNNATD58W8H0D3AA2N49TK") == "unknown"  # > 48-bit time
    assert id_scheme("evnt_01M7YNNATD58W8H0D3AA2N49TU") == "unknown"  # U not Crockford
    assert id_scheme("") == "unknown"


def test_slot_number_and_time() -> None:
    assert slot_number("evnt_00000000000000000000000042") == 42
    assert slot_number("evnt_01M7YNNATD58W8H0D3AA2N49TK") is None
    assert ulid_time_ms("evnt_00000000000000000000000042") is None
    assert ulid_time_ms(f"wevt_{PREFIX}{B0}") == STARTED_AT
    tagged = encode_time(STARTED_AT | REGION_BIT)
    assert ulid_time_ms(f"evnt_{tagged}{B0}") == STARTED_AT


def test_ulid_times_in_bulk_agree_with_one_at_a_time() -> None:
    tagged = encode_time(STARTED_AT | REGION_BIT)
    ids = [
        "evnt_00000000000000000000000042", f"wevt_{PREFIX}{B0}", f"evnt_{tagged}{B0}",
        f"{PREFIX}{B0}", f"evnt_{PREFIX}{B0}".lower(), f"evnt_8{PREFIX[1:]}{B0}",
        f"evnt_{PREFIX}{B0[:-1]}U", "evnt_short", "", "evnt_", f"xxxx_{PREFIX}{B0}",
    ]  # fmt: skip
    assert ulid_times_ms(ids) == [ulid_time_ms(i) for i in ids]
    assert ulid_times_ms(ids)[:4] == [None, STARTED_AT, STARTED_AT, STARTED_AT]


def test_parse_correlation_id() -> None:
    p = parse_correlation_id(_cid("step", 0))
    assert (p.kind, p.scheme, p.time_prefix, p.body) == ("step", "ulid", PREFIX, body_to_int(B0))
    c = parse_correlation_id("step_00000000000000000000000007")
    assert (c.kind, c.scheme, c.time_prefix, c.body) == ("step", "counter", None, 7)
    w = parse_correlation_id("wait_00000000000000000000000001")
    assert (w.kind, w.scheme, w.body) == ("wait", "counter", 1)
    o = parse_correlation_id(f"strm_{PREFIX}{B0}")
    assert (o.kind, o.scheme) == ("other", "ulid")
    u = parse_correlation_id("hook_my-token")
    assert (u.kind, u.scheme, u.body) == ("hook", "unknown", None)


# ----------------------------------------------------------------- analyse_ids


def test_analyse_seeded_run_with_auto_tokens() -> None:
    cids = [_cid("hook", 0), _cid("hook", 1), _cid("step", 2)]
    tokens = {cids[0]: TOKENS[0], cids[1]: TOKENS[1]}
    rep = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, cids, tokens)
    assert rep.scheme == "ulid"
    assert (rep.seed_matches, rep.ordinal_base, rep.started_at_source) == (True, "seed", "given")
    assert rep.seed_b0 == body_to_int(B0)
    assert (rep.expected_time_prefix, rep.time_prefix_matches) == (PREFIX, True)
    assert [e.ordinal for e in rep.entries] == [0, 1, 2]
    assert {e.ordinal_source for e in rep.entries} == {"seed"}
    assert rep.auto_token_hooks == (cids[0], cids[1])
    assert [e.token_predicted for e in rep.entries] == [*TOKENS, None]
    assert (rep.missing_ordinals, rep.shared_bodies, rep.ordinal_regressions) == ((), (), ())


def test_named_hook_draws_no_token() -> None:
    # ordinal 0: hook with a user token (no draw); ordinal 2: unnamed hook -> first token
    cids = [_cid("hook", 0), _cid("step", 1), _cid("hook", 2)]
    tokens = {cids[0]: "my-token", cids[2]: TOKENS[0]}
    rep = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, cids, tokens)
    assert [e.token_auto for e in rep.entries] == [False, None, True]
    assert rep.auto_token_hooks == (cids[2],)


def test_gaps_shared_bodies_regressions_repeats() -> None:
    cids = [_cid("step", 0), _cid("step", 3), _cid("wait", 3), _cid("step", 1), _cid("step", 0)]
    rep = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, cids, None)
    assert rep.missing_ordinals == (2,)
    assert rep.max_ordinal == 3
    assert rep.shared_bodies == ((cids[1], cids[2]),)
    assert rep.ordinal_regressions == ((cids[3], cids[1]),)
    assert rep.repeated_ids == (cids[0],)
    assert len(rep.entries) == 4


def test_regressions_ignore_one_batch() -> None:
    a, b, c, d = (_cid("step", k) for k in (1, 2, 0, 3))
    assert analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, [a, b, c, d], None).ordinal_regressions == (
        (c, b),
    )
    one_batch = {a: 1, b: 1, c: 1, d: 2}
    rep = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, [a, b, c, d], None, batch_of=one_batch)
    assert rep.ordinal_regressions == ()
    later = {a: 1, b: 1, c: 2, d: 2}
    rep = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, [a, b, c, d], None, batch_of=later)
    assert rep.ordinal_regressions == ((c, b),)


def test_started_at_from_time_prefix() -> None:
    cids = [_cid("step", 0), _cid("step", 1)]
    rep = analyse_ids(RUN_ID, WORKFLOW, None, cids, None)
    assert (rep.started_at_ms, rep.started_at_source, rep.seed_matches) == (
        STARTED_AT,
        "time_prefix",
        True,
    )
    # a caller's time a few ms off is corrected by the ids' own prefix
    off = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT + 4, cids, None)
    assert (off.started_at_ms, off.started_at_source, off.seed_matches) == (
        STARTED_AT,
        "time_prefix",
        True,
    )


def test_seed_mismatch_falls_back_to_smallest_body() -> None:
    base = body_to_int("0123456789ABCDEF")
    cids = [f"step_{PREFIX}{int_to_body(base + k)}" for k in (5, 6, 8)]
    rep = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, cids, None)
    assert (rep.seed_matches, rep.ordinal_base) == (False, "smallest_body")
    assert [e.ordinal for e in rep.entries] == [0, 1, 3]
    assert {e.ordinal_source for e in rep.entries} == {"smallest_body"}
    assert rep.missing_ordinals == (2,)
    assert all(e.token_predicted is None for e in rep.entries)


def test_counter_scheme() -> None:
    cids = [
        "step_00000000000000000000000001",
        _cid("hook", 0),
        "wait_00000000000000000000000001",
        "step_00000000000000000000000003",
    ]
    rep = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, cids, {cids[1]: TOKENS[0]})
    assert rep.scheme == "counter"
    assert [(e.ordinal, e.ordinal_source) for e in rep.entries] == [
        (0, "counter"),
        (0, "seed"),
        (0, "counter"),
        (2, "counter"),
    ]
    assert rep.missing_counters == (("step", 1),)
    assert rep.auto_token_hooks == (cids[1],)


def test_empty_and_unknown() -> None:
    empty = analyse_ids(RUN_ID, WORKFLOW, STARTED_AT, [], None)
    assert (empty.scheme, empty.seed_matches, empty.ordinal_base) == ("none", None, "none")
    assert empty.seed_b0 == body_to_int(B0)
    unknown = analyse_ids(RUN_ID, WORKFLOW, None, ["hook_whatever"], None)
    assert (unknown.scheme, unknown.started_at_source, unknown.max_ordinal) == (
        "unknown",
        "none",
        None,
    )


def test_find_started_at_synthetic() -> None:
    assert find_started_at(RUN_ID, WORKFLOW, STARTED_AT + 7, B0) == STARTED_AT
    assert find_started_at(RUN_ID, WORKFLOW, STARTED_AT - 3, body_to_int(B0)) == STARTED_AT
    assert find_started_at(RUN_ID, WORKFLOW, STARTED_AT + 9, B0, window_ms=5) is None
    assert seeded_b0(RUN_ID, WORKFLOW, STARTED_AT) == body_to_int(B0)


# ----------------------------------------------------------------- real data

# Entity kinds in program order for each workflow of app/workflows/demo.ts.
PROGRAM_ORDER = {
    "sequentialWorkflow": "SSS",
    "parallelWorkflow": "SSSSSS",
    "retryWorkflow": "SS",
    "fatalWorkflow": "SS",
    "exhaustedRetriesWorkflow": "S",
    "throwingWorkflow": "S",
    "sleepWorkflow": "SWS",
    "hookWorkflow": "HSS",
    "webhookWorkflow": "HSSS",
    "raceWorkflow": "HWS",
    "longSleepWorkflow": "SWS",
    "slowStepWorkflow": "SS",
}


@dataclass(frozen=True)
class Event:
    event_id: str
    event_type: str
    correlation_id: str | None
    token: str | None
    created_at_ms: int


@dataclass(frozen=True)
class Run:
    world: str
    run_id: str
    workflow_name: str
    started_at_ms: int
    status: str
    events: tuple[Event, ...]

    @property
    def short_name(self) -> str:
        return self.workflow_name.rsplit("//", 1)[-1]

    def creation_order(self) -> list[str]:
        return [
            e.correlation_id
            for e in self.events
            if e.correlation_id and e.event_type in ("step_created", "hook_created", "wait_created")
        ]

    def creation_batches(self) -> dict[str, int]:
        """Suspension index per created id: runs of consecutive creation events."""
        batches: dict[str, int] = {}
        batch, in_run = 0, False
        for e in self.events:
            created = e.event_type in ("step_created", "hook_created", "wait_created")
            if created and e.correlation_id:
                batch += 0 if in_run else 1
                batches.setdefault(e.correlation_id, batch)
            in_run = created
        return batches

    def all_correlation_ids(self) -> set[str]:
        return {e.correlation_id for e in self.events if e.correlation_id}

    def hook_tokens(self) -> dict[str, str]:
        return {
            e.correlation_id: e.token
            for e in self.events
            if e.event_type == "hook_created" and e.correlation_id and e.token
        }


def _ms(text: str) -> int:
    """Epoch ms of an ISO time; naive times are UTC; sub-ms digits are dropped."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.replace(microsecond=0).timestamp()) * 1000 + dt.microsecond // 1000


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _token(data: object) -> str | None:
    token = data.get("token") if isinstance(data, dict) else None
    return token if isinstance(token, str) else None


def _is_run_record(name: str) -> bool:
    """``runs/<runId>.json`` directly under the data directory (not ``streams/runs``)."""
    parts = Path(name).parts
    return len(parts) >= 3 and parts[-3] == ".workflow-data" and parts[-2] == "runs"


def _local_runs(tmp: Path) -> list[Run]:
    with tarfile.open(REALDATA / "local" / "workflow-data.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and _is_run_record(m.name)]
        tar.extractall(tmp, members=members, filter="data")
    events: dict[str, list[Event]] = {}
    for row in _jsonl(REALDATA / "local" / "local-events.jsonl"):
        ev = Event(
            str(row["eventId"]),
            str(row["eventType"]),
            row.get("correlationId"),  # type: ignore[arg-type]
            _token(row.get("eventData")),
            _ms(str(row["createdAt"])),
        )
        events.setdefault(str(row["runId"]), []).append(ev)
    runs = []
    for path in sorted(tmp.glob(".workflow-data/runs/wrun_*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        evs = tuple(sorted(events.get(rec["runId"], []), key=lambda e: e.event_id))
        runs.append(
            Run(
                "local",
                rec["runId"],
                rec["workflowName"],
                _ms(rec["startedAt"]),
                rec["status"],
                evs,
            )
        )
    return runs


def _postgres_runs() -> list[Run]:
    events: dict[str, list[Event]] = {}
    for row in _jsonl(REALDATA / "postgres" / "pg-events.decoded.jsonl"):
        ev = Event(
            str(row["id"]),
            str(row["type"]),
            row.get("correlation_id"),  # type: ignore[arg-type]
            _token(row.get("payload_cbor_decoded")),
            _ms(str(row["created_at"])),
        )
        events.setdefault(str(row["run_id"]), []).append(ev)
    runs = []
    for rec in _jsonl(REALDATA / "postgres" / "pg-workflow_runs.jsonl"):
        rid = str(rec["id"])
        evs = tuple(sorted(events.get(rid, []), key=lambda e: e.event_id))
        runs.append(
            Run(
                "postgres",
                rid,
                str(rec["name"]),
                _ms(str(rec["started_at"])),
                str(rec["status"]),
                evs,
            )
        )
    return runs


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    runs = _local_runs(tmp_path_factory.mktemp("workflow-data")) + _postgres_runs()
    assert len(runs) == 86
    return runs


def _seeded_ids(run: Run, kinds: str) -> list[str]:
    """What the workflow's draws produce for these kinds (in program order)."""
    names = {"S": "step", "H": "hook", "W": "wait"}
    gen = CorrelationIdGenerator(run.run_id, run.workflow_name, run.started_at_ms)
    return [gen.next_id(names[k]) for k in kinds]


def _report(run: Run) -> IdReport:
    return analyse_ids(
        run.run_id, run.workflow_name, run.started_at_ms, run.creation_order(), run.hook_tokens()
    )


def test_every_real_run_reproduces_its_correlation_ids(real_runs: list[Run]) -> None:
    for run in real_runs:
        cids = run.all_correlation_ids()
        program = PROGRAM_ORDER[run.short_name]
        # every entity the log mentions was created, and the drawn ordinals are dense:
        # the ids are exactly the seeded ids of a prefix of the program-order draws
        assert set(run.creation_order()) == cids, run.run_id
        expected = _seeded_ids(run, program[: len(cids)])
        assert cids == set(expected), (run.world, run.run_id, run.short_name)
        # runs that ran to the end drew every entity of their program
        if run.status in ("completed", "failed"):
            assert len(cids) == len(program), (run.run_id, run.status)
        assert {c[5:15] for c in cids} == {encode_time(run.started_at_ms)}


def test_analyse_ids_on_real_runs(real_runs: list[Run]) -> None:
    regressed: list[tuple[str, str]] = []
    for run in real_runs:
        rep = _report(run)
        assert rep.scheme == "ulid"
        assert (rep.seed_matches, rep.ordinal_base, rep.started_at_source) == (
            True,
            "seed",
            "given",
        ), run.run_id
        assert rep.time_prefix_matches is True
        assert sorted(e.ordinal or 0 for e in rep.entries) == list(range(len(rep.entries)))
        assert rep.missing_ordinals == ()
        assert (rep.shared_bodies, rep.repeated_ids) == ((), ())
        if rep.ordinal_regressions:
            regressed.append((run.world, run.short_name))
        # with suspensions known, nothing regresses across suspensions
        batched = analyse_ids(
            run.run_id,
            run.workflow_name,
            run.started_at_ms,
            run.creation_order(),
            run.hook_tokens(),
            batch_of=run.creation_batches(),
        )
        assert batched.ordinal_regressions == (), run.run_id
        # without startedAt the ids' own time prefix gives the exact seed
        blind = analyse_ids(run.run_id, run.workflow_name, None, run.creation_order(), None)
        assert (blind.started_at_ms, blind.seed_matches) == (run.started_at_ms, True)
    # one postgres parallelWorkflow run wrote its five concurrent step_created
    # rows out of ordinal order (1, 3, 4, 2, 0): benign, inside one suspension
    assert regressed == [("postgres", "parallelWorkflow")]


def test_webhook_tokens_are_predicted(real_runs: list[Run]) -> None:
    webhook_runs = [r for r in real_runs if r.short_name == "webhookWorkflow"]
    assert len(webhook_runs) == 8
    for run in webhook_runs:
        ((hook_id, token),) = run.hook_tokens().items()
        gen = CorrelationIdGenerator(run.run_id, run.workflow_name, run.started_at_ms)
        assert gen.next_id("hook") == hook_id
        assert gen.next_hook_token() == token
        assert _report(run).auto_token_hooks == (hook_id,)
    named = [r for r in real_runs if r.short_name in ("hookWorkflow", "raceWorkflow")]
    assert len(named) == 20
    for run in named:
        rep = _report(run)
        hooks = [e for e in rep.entries if e.kind == "hook"]
        assert [e.token_auto for e in hooks] == [False]
        assert rep.auto_token_hooks == ()


def test_find_started_at_on_postgres_runs(real_runs: list[Run]) -> None:
    pg = [r for r in real_runs if r.world == "postgres"]
    assert len(pg) == 43
    offsets = []
    for run in pg:
        started = next(e for e in run.events if e.event_type == "run_started")
        first_body = min(parse_correlation_id(c).body or 0 for c in run.all_correlation_ids())
        found = find_started_at(
            run.run_id, run.workflow_name, started.created_at_ms, int_to_body(first_body)
        )
        assert found == run.started_at_ms, run.run_id
        offsets.append(started.created_at_ms - run.started_at_ms)
    # the run_started row is written a few ms after startedAt, never exactly at it here
    assert max(offsets) <= 50
    assert any(o != 0 for o in offsets)
