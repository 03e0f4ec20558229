"""`forensics watch postgres`: new findings as JSON lines, a baseline, a server that goes away.

The late rows of `test_late_commits` are the corruption: a watch started on a clean log
announces nothing (its baseline), then announces exactly the findings those rows carry,
once. A watch whose server is killed says so, retries, and once the server is back
resumes from its cursor without losing or repeating anything. From the command line,
`--once` is a cron pass, and SIGTERM ends a running watch with exit code 0 and every
import finished.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from forensics.importers.postgres import PostgresOptions
from forensics.store import Store
from forensics.watch.alerts import Alert
from forensics.watch.loop import Settings, Watch
from forensics.watch.sources import PostgresSource
from tests.postgres.pg_eras import ULID_IDS, create_era, event_rows, insert
from tests.postgres.pg_server import Server, throwaway
from tests.postgres.test_late_commits import IDS_B, RUN_A, RUN_B, late_row
from tests.watch.test_webhook import Receiver

pytestmark = pytest.mark.postgres

EXPECTED = {
    (RUN_A, "duplicate-creation"),
    (RUN_A, "event-after-terminal"),
    (RUN_A, "multiple-terminals"),
    (RUN_A, "guard-blind-spot"),
    (RUN_A, "mint-commit-inversion"),
    (RUN_B, "mint-commit-inversion"),
    (RUN_B, "step-name-conflict"),
}
ROOT = Path(__file__).resolve().parents[2]


def clean_log() -> list[dict[str, Any]]:
    rows_a = event_rows("jsonb", run=RUN_A)
    disposed = {**rows_a[8], "id": ULID_IDS[8] + "D", "type": "hook_disposed", "payload": None}
    return [*rows_a, disposed, *event_rows("jsonb", run=RUN_B, ids=IDS_B)]


def late_rows() -> list[dict[str, Any]]:
    by_type = {row["type"]: row for row in event_rows("jsonb", run=RUN_A)}
    step_b = event_rows("jsonb", run=RUN_B, ids=IDS_B)[3]
    return [
        late_row(by_type["step_started"], ULID_IDS[4] + "A"),
        late_row(by_type["step_created"], ULID_IDS[4] + "B"),
        late_row(by_type["step_completed"], ULID_IDS[4] + "C"),
        late_row(by_type["hook_received"], ULID_IDS[8] + "E"),
        late_row(step_b, IDS_B[3] + "A", payload=step_b["payload"].replace("charge", "refund")),
    ]


class Running:
    """A watch in a thread, with what it emitted and said."""

    def __init__(self, store: Store, dsn: str, interval: float = 0.2) -> None:
        self.alerts: list[Alert] = []
        self.said: list[str] = []
        self.stop = threading.Event()
        source = PostgresSource(PostgresOptions(dsn=dsn, statement_timeout_ms=5000))
        self.source = source
        self.watch = Watch(
            store, source, self.alerts.append, self.said.append, Settings(interval), self.stop
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.watch.run()
        except BaseException as exc:  # the test reports it
            self.error = exc
        finally:
            self.source.close()

    def wait_for(self, what: Callable[[], bool], seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while not what():
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"waited {seconds} s; said: {self.said}"
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.error is None, self.error


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for watch in started:
        watch.stop.set()
        watch.thread.join(30)


def found(alerts: list[Alert]) -> set[tuple[str, str]]:
    return {(a.run_id, a.code) for a in alerts}


def test_a_watch_announces_the_findings_of_late_commits_once(
    empty_era_db: Callable[[str], str],
    pg_admin: Any,
    tmp_store: Store,
    running: list[Running],
) -> None:
    db = empty_era_db("jsonb")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", clean_log())
    watch = Running(tmp_store, pg_admin.dsn(db))
    running.append(watch)
    watch.wait_for(lambda: watch.watch.passes >= 2)
    assert watch.alerts == []
    assert watch.said[0].startswith("first pass on this store: checking every run")
    assert "0 finding(s) already in the store are not announced" in watch.said[1]
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", late_rows())
    watch.wait_for(lambda: found(watch.alerts) == EXPECTED)
    passes = watch.watch.passes
    watch.wait_for(lambda: watch.watch.passes >= passes + 3)
    watch.finish()
    assert len(watch.alerts) == len({a.finding_id for a in watch.alerts})  # each once
    first = watch.alerts[0].as_json()
    assert list(first) == [
        "at",
        "run_id",
        "code",
        "severity",
        "event_ids",
        "summary",
        "finding_id",
    ]
    assert all(a.summary and "\n" not in a.summary for a in watch.alerts)
    assert any("5 event(s) committed late" in line for line in watch.said)
    assert any("no writes since the last pass" in line for line in watch.said)


def test_a_watch_survives_its_server_going_away(tmp_store: Store, running: list[Running]) -> None:
    server, why = throwaway()
    if server is None:
        pytest.skip(f"no throwaway PostgreSQL cluster: {why}")
    try:
        _survive(server, tmp_store, running)
    finally:
        for watch in running:
            watch.stop.set()
            watch.thread.join(30)
        server.close()


def _survive(server: Server, store: Store, running: list[Running]) -> None:
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE world")
    dsn = server.dsn("world")
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_era(conn, "jsonb")
        insert(conn, "workflow_events", clean_log())
    watch = Running(store, dsn)
    running.append(watch)
    watch.wait_for(lambda: watch.watch.passes >= 2)
    server.stop()
    watch.wait_for(lambda: any("source failed" in line for line in watch.said))
    time.sleep(1.0)  # a few failed attempts
    server.start()
    with psycopg.connect(dsn, autocommit=True) as conn:
        insert(conn, "workflow_events", late_rows())
    watch.wait_for(lambda: found(watch.alerts) == EXPECTED, seconds=60)
    watch.finish()
    failed = [line for line in watch.said if "source failed" in line]
    assert "cannot connect to PostgreSQL" in failed[0] or "lost the connection" in failed[0]
    assert "retrying in" in failed[0]
    assert any(line.startswith("reconnected to ") for line in watch.said)
    _, rows = store.query("SELECT count(*), count(DISTINCT (run_id, event_id)) FROM events")
    assert rows == [(26, 26)]  # every event once
    _, rows = store.query("SELECT count(*) FROM imports WHERE status = 'running'")
    assert rows == [(0,)]


def forensics(*args: str) -> list[str]:
    return [sys.executable, "-m", "forensics", *args]


def test_once_from_the_command_line_prints_json_lines(
    empty_era_db: Callable[[str], str], pg_admin: Any, tmp_path: Path
) -> None:
    db = empty_era_db("jsonb")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", clean_log())
    store = str(tmp_path / "store.duckdb")
    command = forensics("--db", store, "watch", "postgres", "--dsn", pg_admin.dsn(db), "--once")
    first = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    assert (first.returncode, first.stdout) == (0, ""), first.stderr
    assert "pass 1: 21 event(s) stored, 2 run(s) re-checked" in first.stderr
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", late_rows())
    receiver = Receiver([503])  # the webhook's first POST fails and is retried
    try:
        second = subprocess.run(
            [*command, "--min-severity", "error", "--webhook", receiver.url],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        receiver.close()
    assert second.returncode == 0, second.stderr
    alerts = [json.loads(line) for line in second.stdout.splitlines()]
    assert alerts and all(a["severity"] == "error" for a in alerts)
    assert receiver.bodies == alerts
    assert {(a["run_id"], a["code"]) for a in alerts} < EXPECTED
    third = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (third.returncode, third.stdout) == (0, "")  # warnings were seen, not repeated


def test_sigterm_ends_a_watch_cleanly(
    empty_era_db: Callable[[str], str], pg_admin: Any, tmp_path: Path
) -> None:
    db = empty_era_db("jsonb")
    with pg_admin.connect(db) as conn:
        insert(conn, "workflow_events", clean_log())
    store = tmp_path / "store.duckdb"
    command = forensics("--db", str(store), "watch", "postgres", "--dsn", pg_admin.dsn(db))
    child = subprocess.Popen(
        [*command, "--interval", "200ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stderr is not None
        lines: list[str] = []
        while not any(" pass 2:" in line for line in lines):
            line = child.stderr.readline()
            assert line, f"the watch ended early: {lines}"
            lines.append(line)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert out == ""
    assert "SIGTERM: stopping after this pass" in err
    assert "stopped after" in err
    with Store(store) as done:
        _, rows = done.query("SELECT DISTINCT status FROM imports")
    assert rows == [("ok",)]
