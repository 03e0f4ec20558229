"""`forensics check`, `explain` and `ids` on the command line: shapes, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dsl import RUN, ev
from findings_dsl import completed, e, load, opening, step

from forensics.cli import main
from forensics.errors import EXIT_ANOMALIES, EXIT_INPUT, EXIT_OK, EXIT_STORE, EXIT_USAGE
from forensics.store import Store

HEALTHY = "wrun_01M7YNNAST44YFK7BMMFBCW7YQ"
NAME = {"stepName": "step//./workflows/demo//work"}


def forensics(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "cli.duckdb"
    with Store(path) as store:
        late = [*opening(), *step(3, "step_A"), ev(6, "step_started", "step_A", NAME), completed(7)]
        load(store, late)
        load(store, [*opening(run=HEALTHY), completed(3, run=HEALTHY)], where="healthy")
    return str(path)


def test_check_json_shape_and_exit_code(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, err = forensics(capsys, "--db", db, "check", "--format", "json")
    data = json.loads(out)
    assert code == EXIT_ANOMALIES
    assert list(data) == ["runs", "findings"]
    assert data["runs"] == [
        {"run_id": RUN, "verdict": "anomalous"},
        {"run_id": HEALTHY, "verdict": "ok"},
    ]
    [finding] = data["findings"]
    assert list(finding) == [
        "id", "code", "severity", "run_id", "correlation_id", "event_ids", "fatal_in",
        "replay_message", "invariants", "evidence", "explanation",
    ]  # fmt: skip
    assert (finding["code"], finding["event_ids"], finding["fatal_in"]) == (
        "event-after-terminal",
        [e(5), e(6)],
        ["E0", "E1", "E2"],
    )
    assert finding["invariants"] == ["step.no-restart-after-terminal"]
    assert (
        err == "forensics: 2 runs (2 analysed now): 1 ok, 1 anomalous, 0 inconclusive; 1 findings\n"
    )


def test_check_of_a_healthy_run_exits_0(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = forensics(capsys, "--db", db, "check", HEALTHY[-8:], "--format", "json")
    assert (code, json.loads(out)) == (
        EXIT_OK,
        {"runs": [{"run_id": HEALTHY, "verdict": "ok"}], "findings": []},
    )


def test_check_filters_by_code(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = forensics(capsys, "--db", db, "check", "--code", "stuck-step", "--format", "csv")
    assert (code, out) == (
        EXIT_OK,
        "id,code,severity,run_id,correlation_id,event_ids,fatal_in,replay_message,explanation\n",
    )
    code, _, err = forensics(capsys, "--db", db, "check", "--code", "no-such-code")
    assert code == EXIT_USAGE
    assert err.startswith(
        "forensics: usage: unknown detector code no-such-code\n  try: known codes:"
    )


def test_explain_prints_witness_and_explanation(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, out, _ = forensics(capsys, "--db", db, "explain", RUN)
    lines = out.splitlines()
    assert code == EXIT_ANOMALIES
    assert lines[1].startswith("(#N: an event's position in the log; E0-E4: the runtime eras, E0")
    del lines[1]
    assert lines[:8] == [
        f"{RUN}: anomalous; judged in E1-E2 (workflow 4.x, spec 3)",
        "",
        "[error] event-after-terminal  " + lines[2].split()[2] + "  step_A",
        "  fatal in: E0 E1 E2",
        "  breaks world-sim invariant: step.no-restart-after-terminal",
        "  replay: Unconsumed event in event log: eventType=step_started, correlationId=step_A,"
        f" eventId={e(6)}. This indicates a corrupted or invalid event log.",
        f"    #5  {e(5)}  step_completed  2026-11-21T09:00:00.005Z",
        f"    #6  {e(6)}  step_started  2026-11-21T09:00:00.006Z",
    ]
    code, out, _ = forensics(capsys, "--db", db, "explain", RUN, "--format", "json")
    assert (json.loads(out)["verdict"], len(json.loads(out)["findings"])) == ("anomalous", 1)


def test_check_never_creates_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    code, out, err = forensics(capsys, "--db", str(missing), "check")
    assert (code, out, missing.exists()) == (EXIT_STORE, "", False)
    assert err.startswith(f"forensics: store: no store at {missing}\n")


def test_unknown_run_is_an_input_error(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, err = forensics(capsys, "--db", db, "explain", "wrun_nope")
    assert (code, out) == (EXIT_INPUT, "")
    assert err == (
        "forensics: input: no run 'wrun_nope' in the store\n"
        "  try: list runs with `forensics runs`\n"
    )


def test_ids_of_a_real_run(capsys: pytest.CaptureFixture[str], real_store_path: Path) -> None:
    code, out, _ = forensics(
        capsys, "--db", str(real_store_path), "ids", "wrun_01M7YNNASS8KVC54EGYKZ763NX",
        "--format", "json",
    )  # fmt: skip
    data = json.loads(out)
    assert code == EXIT_OK
    assert (data["scheme"], data["seed_status"], data["started_at_source"]) == (
        "ulid",
        "matches",
        "given",
    )
    assert [(i["kind"], i["ordinal"], i["seed_match"], i["batch"]) for i in data["ids"]] == [
        ("step", k, True, 0) for k in range(5)
    ] + [("step", 5, True, 5)]
