"""`import trace`, `replays`, `diff` and `fences` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.cli import main
from forensics.errors import EXIT_INPUT, EXIT_USAGE
from forensics.samples.build import SAMPLES_DIR
from forensics.samples.build_incident import EVENTS_FILE, TRACES_FILE

RUN = "wrun_01KSNVVXH82P5GM40D6F9152JF"


def forensics(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_import_trace_after_the_event_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "cli.duckdb")
    assert forensics(capsys, "--db", db, "import", "json", str(SAMPLES_DIR / EVENTS_FILE))[0] == 0
    code, out, err = forensics(
        capsys, "--db", db, "import", "trace", str(SAMPLES_DIR / TRACES_FILE), "--output", "json"
    )
    assert code == 0, err
    [summary] = json.loads(out)
    assert (summary["source"], summary["read"], summary["stored"], summary["status"]) == (
        "trace", 862, 862, "ok",
    )  # fmt: skip
    assert "54 replay(s) of 1 run(s), 11,226 loaded-event items" in err
    code, out, _ = forensics(capsys, "--db", db, "replays", RUN[-8:], "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 65
    traced = [r for r in rows if r["source"] == "trace"]
    assert [r["replay"] for r in traced[:2]] == ["inv269", "inv327"]
    assert {r["group"] for r in traced[2:]} == {traced[2]["group"]} != {traced[0]["group"]}
    assert traced[0]["wrote"] == ["#207 step_created PMX (drain)"]
    assert traced[0]["at"] == "2026-05-27T23:37:17.764000Z"


def test_diff_reads_like_the_incident_review(
    capsys: pytest.CaptureFixture[str], traced_store_path: Path
) -> None:
    code, out, _ = forensics(
        capsys, "--db", str(traced_store_path), "diff", RUN, "inv269", "inv400"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"diff {RUN}: A = inv269, B = inv400"
    assert (
        "first divergence at position 205: A step_completed PMW (copyShard) · B wait_completed PMP"
        in lines
    )
    assert lines[lines.index("only in B (3):") + 1 :][:3] == [
        "  +   205  wait_completed PMP",
        "  +   207  step_created PMX (drain)",
        "  +   208  step_created PMX (drain)",
    ]
    assert "  PMX (ordinal 12)  A: drain  B: sync" in lines
    meaning = lines[lines.index("what it means:") + 1 :]
    assert meaning[0] == (
        "  • inv400's snapshot contains wait_completed PMP, committed 58 ms before inv269 wrote"
        " step_created PMX (drain); it sorts below inv269's last loaded event, so inv269 read a"
        " log with a hole in it"
    )


def test_fences_json_holds_the_chain_and_the_what_if(
    capsys: pytest.CaptureFixture[str], traced_store_path: Path
) -> None:
    code, out, _ = forensics(
        capsys, "--db", str(traced_store_path), "fences", RUN, "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert (data["commit_order"], len(data["chain"])) == ("write time", 208)
    flagged = [(r["n"], r["event"], r["writer"], r["verdict"]) for r in data["chain"]
               if r["verdict"] != "ok"]  # fmt: skip
    assert flagged == [
        (207, "#207 step_created PMX (drain)", "inv269", "stale-snapshot-write"),
        (208, "#208 step_created PMX (drain)", "inv327", "stale-snapshot-write"),
    ]
    assert [(d["design"], d["verdict"].split(";")[0]) for d in data["what_if"]] == [
        ("tail fence (lastKnownEventId)", "would have prevented the corruption"),
        ("stateUpdatedAt", "would NOT have prevented it: accepts #207 step_created PMX (drain),"
                           " #208 step_created PMX (drain)"),
        ("stateEventCount", "would NOT have prevented it: accepts #207 step_created PMX (drain),"
                            " #208 step_created PMX (drain)"),
        ("in-band count (expectedSeqInBand)", "would have prevented the corruption"),
    ]  # fmt: skip
    code, out, _ = forensics(
        capsys, "--db", str(traced_store_path), "fences", RUN, "--format", "csv"
    )
    assert out.splitlines()[0] == "n,event,class,writer,fence,chained_from,verdict,detail"
    assert len(out.splitlines()) == 1 + 15


def test_what_does_not_exist_says_what_does(
    capsys: pytest.CaptureFixture[str], traced_store_path: Path, tmp_path: Path
) -> None:
    db = str(traced_store_path)
    code, _, err = forensics(capsys, "--db", db, "diff", RUN, "inv269", "inv9999")
    assert code == EXIT_USAGE
    assert err.startswith("forensics: usage: 'inv9999' is not a replay id, digest prefix, `log`")
    assert "try: list them with `forensics replays" in err
    code, _, err = forensics(capsys, "--db", db, "replays", "wrun_nothing_like_it")
    assert code == EXIT_INPUT and "no run 'wrun_nothing_like_it' in the store" in err
    (tmp_path / "plain.log").write_text("nothing traced here\n")
    code, _, err = forensics(
        capsys, "--db", str(tmp_path / "x.duckdb"), "import", "trace", str(tmp_path / "plain.log")
    )
    assert code == EXIT_INPUT and "no WF_TRACE lines found" in err


def test_export_carries_the_trace_tables_whole_and_for_one_run(
    capsys: pytest.CaptureFixture[str], traced_store_path: Path, tmp_path: Path
) -> None:
    import duckdb

    def counts(folder: Path) -> dict[str, int]:
        con = duckdb.connect()
        tables = ("trace_replays", "trace_subscriptions", "trace_snapshots", "trace_items")
        return {
            t: con.execute(f"SELECT count(*) FROM '{folder}/{t}.parquet'").fetchall()[0][0]
            for t in tables
        }

    whole, one = tmp_path / "whole", tmp_path / "one"
    assert forensics(capsys, "--db", str(traced_store_path), "export", str(whole))[0] == 0
    code, out, _ = forensics(
        capsys, "--db", str(traced_store_path), "export", str(one), "--run", RUN
    )
    assert code == 0 and f"{one}/trace_mismatches.parquet" in out.splitlines()
    everything, of_run = counts(whole), counts(one)
    assert 0 < of_run["trace_replays"] < everything["trace_replays"]  # other runs left out
    assert 0 < of_run["trace_subscriptions"] < everything["trace_subscriptions"]
    assert of_run["trace_items"] > 0 and of_run["trace_snapshots"] > 0
