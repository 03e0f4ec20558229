"""`forensics demo` builds a store from the bundled samples, every run of the manifest in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.cli import main
from forensics.demo import SAMPLES_DIR, sample_paths
from forensics.importers.mapping import infer_preset
from forensics.shortids import short_id
from forensics.store import Store

MANIFEST = json.loads((SAMPLES_DIR / "manifest.json").read_text())


def test_sample_paths_are_what_the_manifest_names() -> None:
    names = {r["file"] for r in MANIFEST["runs"]} | {
        r["traces"] for r in MANIFEST["runs"] if r.get("traces")
    }
    assert sorted(p.name for p in sample_paths()) == sorted(names)
    assert {p.name for p in sample_paths(traces=False)} == {r["file"] for r in MANIFEST["runs"]}


def test_demo_imports_every_sample_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.duckdb"
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), "demo"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    with Store(db, read_only=True) as store:
        runs = dict(store.query("SELECT run_id, event_count FROM runs")[1])
        assert store.query("SELECT count(*) FROM quarantine")[1] == [(0,)]
        # the incident dump's write times and fences reach their columns (preset inferred)
        fenced = store.query("SELECT count(*) FROM events WHERE fence_last_event_id IS NOT NULL")
        assert fenced[1][0][0] > 0
    assert runs == {r["run_id"]: r["event_count"] for r in MANIFEST["runs"]}
    assert all(short_id(r["run_id"]) in out for r in MANIFEST["runs"])


def test_preset_is_inferred_from_attribute_names() -> None:
    assert infer_preset({"runId", "eventId", "eventType", "eventData"}) == "aws-world-1371"
    names = {"runId", "eventId", "eventType", "eventData", "writtenAt", "lastKnownEventId"}
    assert infer_preset(names) == "incident-dump"


def _demo(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return int(done.value.code or 0)


def test_demo_leaves_the_store_forensics_db_names_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "incident.duckdb"
    mine.write_bytes(b"not a demo store")
    monkeypatch.setenv("FORENSICS_DB", str(mine))
    assert _demo(["demo", "--no-tui"]) == 0
    assert mine.read_bytes() == b"not a demo store"
    assert (tmp_path / "forensics-demo.duckdb").is_file()
    err = capsys.readouterr().err
    assert "demo store written to forensics-demo.duckdb" in err
    assert "FORENSICS_DB" in err and "left alone" in err


def test_demo_refuses_to_replace_a_store_that_is_not_a_demo_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "incident.duckdb"
    with Store(mine) as store:
        store.begin_import("jsonl", "/var/incident/dump.jsonl").finish()
    before = mine.read_bytes()
    assert _demo(["--db", str(mine), "demo", "--no-tui"]) == 2
    assert "is not a demo store" in capsys.readouterr().err
    assert mine.read_bytes() == before
    # a demo store is rebuilt in place
    demo = tmp_path / "demo.duckdb"
    assert _demo(["--db", str(demo), "demo", "--no-tui"]) == 0
    assert _demo(["--db", str(demo), "demo", "--no-tui"]) == 0


def test_copy_samples_writes_the_sample_files_and_never_over_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "samples"
    assert _demo(["demo", "--copy-samples", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in sample_paths())
    assert _demo(["demo", "--copy-samples", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
