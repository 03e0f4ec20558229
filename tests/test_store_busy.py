"""A store another process holds: a command waits a bounded time, then names the holder in
forensics' own words; a holder that lets go in time is waited for."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forensics.cli import main
from forensics.demo import SAMPLES_DIR
from forensics.errors import UsageError
from forensics.store import Store
from forensics.store.opening import StoreReader, writing

HOLD = """
import sys, time
from forensics.store import Store
store = Store(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
store.close()
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def _cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return int(done.value.code or 0)


def test_a_busy_store_is_refused_after_the_wait_naming_the_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.duckdb"
    Store(db).close()
    holder = _hold(db, 30)
    try:
        started = time.monotonic()
        assert _cli(["--db", str(db), "--wait", "0.5", "runs"]) == 6
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert f"is busy: pid {holder.pid} (" in err
    assert "waited 0.5 s" in err and "--wait SECONDS" in err
    assert "readonly" not in err.lower()  # DuckDB's advice names options forensics lacks


def test_a_writer_waits_for_a_holder_that_lets_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "store.duckdb"
    Store(db).close()
    holder = _hold(db, 1.0)
    monkeypatch.setenv("FORENSICS_WAIT", "30")
    try:
        with Store(db) as store:  # waits for the holder, then writes
            store.query("SELECT 1")
    finally:
        holder.wait()


def test_a_bad_wait_setting_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORENSICS_WAIT", "soon")
    with pytest.raises(UsageError, match="FORENSICS_WAIT='soon' is not a number"):
        Store(tmp_path / "s.duckdb")


def test_an_import_that_fails_leaves_no_new_store_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "new.duckdb"
    assert _cli(["--db", str(db), "import", "json", str(tmp_path / "missing.json")]) == 4
    assert not db.exists()
    # an existing store is never removed, whatever fails
    Store(db).close()
    assert _cli(["--db", str(db), "import", "json", str(tmp_path / "missing.json")]) == 4
    assert db.exists()
    with writing(db) as store:
        assert store.query("SELECT count(*) FROM imports")[1] == [(0,)]


def test_a_reader_lets_go_of_the_store_once_idle(tmp_path: Path) -> None:
    """`forensics open`'s reader keeps the database open while busy, then lets writers in."""
    db = tmp_path / "store.duckdb"
    Store(db).close()
    reader = StoreReader(db, linger=4.0)  # longer than a writer process takes to start
    write = [sys.executable, "-m", "forensics", "--db", str(db), "--wait", "0", "import"]
    write += ["json", str(SAMPLES_DIR / "hosted-api-v1-events.json")]
    try:
        cur = reader.cursor()
        cur.execute("SELECT count(*) FROM events").fetchall()
        cur.close()
        assert reader.holding()
        busy = subprocess.run(write, capture_output=True, text=True, check=False, timeout=60)
        assert busy.returncode == 6 and f"pid {os.getpid()}" in busy.stderr
        deadline = time.monotonic() + 10
        while reader.holding() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not reader.holding()
        done = subprocess.run(write, capture_output=True, text=True, check=False, timeout=60)
        assert done.returncode == 0, done.stderr
        cur = reader.cursor()  # and reads what the writer added
        assert cur.execute("SELECT count(DISTINCT run_id) FROM events").fetchall() == [(1,)]
        cur.close()
    finally:
        reader.close()
