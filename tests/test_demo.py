"""`forensics demo` builds a store from the bundled samples, every run of the manifest in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.cli import main
from forensics.demo import SAMPLES_DIR, sample_paths
from forensics.importers.mapping import infer_preset
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
    assert all(r["run_id"] in out for r in MANIFEST["runs"])


def test_preset_is_inferred_from_attribute_names() -> None:
    assert infer_preset({"runId", "eventId", "eventType", "eventData"}) == "aws-world-1371"
    names = {"runId", "eventId", "eventType", "eventData", "writtenAt", "lastKnownEventId"}
    assert infer_preset(names) == "incident-dump"
