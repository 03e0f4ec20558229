"""`forensics watch dynamodb` against a real DynamoDB-compatible server with streams.

A table with a stream is scanned once, then followed record by record from the shard
positions saved in the store; the server is killed and restarted (its tables on disk) while
the watch runs, and the watch resumes from those positions without losing or doubling an
event. A table without a stream is read again each pass; throttled stream reads are
retried; a closed shard is read to its end and marked done.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ddb_items import create_table, plain_items, put
from ddb_proxy import Proxy, Rule
from ddb_servers import Server, Unavailable, free_port, start

from forensics.errors import SourceError
from forensics.importers.base import ImportOptions
from forensics.importers.dynamodb_live import LiveOptions, Target, connect
from forensics.importers.dynamodb_live import stream as ddb_stream
from forensics.store import Store
from forensics.watch.alerts import Alert
from forensics.watch.loop import Settings, Watch
from forensics.watch.sources import DynamoSource

ROOT = Path(__file__).resolve().parents[2]
Make = Callable[..., Any]


@pytest.fixture
def run_items() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One real run's items, and a second `step_completed` of one of its steps (newer id)."""
    items = plain_items()
    runs: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        runs.setdefault(item["runId"], []).append(item)
    log = next(r for r in runs.values() if any(i["eventType"] == "step_completed" for i in r))
    done = next(i for i in log if i["eventType"] == "step_completed")
    last = max(i["eventId"] for i in log)
    return log, {**done, "eventId": last[:-1] + "Z"}


def source(url: str, table: str, **live: Any) -> DynamoSource:
    conn = connect(Target(table, endpoint_url=url, max_attempts=2, connect_timeout=2))
    return DynamoSource(conn, ImportOptions(), LiveOptions(**live))


def counts(store: Store) -> tuple[int, int]:
    _, rows = store.query("SELECT count(*), count(DISTINCT (run_id, event_id)) FROM events")
    return int(rows[0][0]), int(rows[0][1])


@pytest.fixture
def disk_server(tmp_path: Path, aws_env: None) -> Iterator[Callable[[], Server]]:
    """`restart()` -> a DynamoDB Local whose tables live on disk, always on the same port."""
    port, folder = free_port(), tmp_path / "ddb"
    folder.mkdir()
    running: list[Server] = []

    def restart() -> Server:
        if running:
            running.pop().process.kill()
        try:
            running.append(start("dynamodb-local", folder, port=port, db_path=folder))
        except Unavailable as exc:
            pytest.skip(f"no DynamoDB Local: {exc}")
        return running[-1]

    yield restart
    for server in running:
        server.stop()


def test_a_stream_is_followed_and_survives_a_server_restart(
    disk_server: Callable[[], Server], tmp_path: Path, run_items: Any
) -> None:
    import boto3

    log, second_completion = run_items
    server = disk_server()
    admin = boto3.client("dynamodb", endpoint_url=server.url)
    table = create_table(admin, "events_streamed", "aws-world-1371", log, stream="NEW_IMAGE")
    alerts: list[Alert] = []
    said: list[str] = []
    with Store(tmp_path / "store.duckdb") as store:
        followed = source(server.url, table)
        watch = Watch(store, followed, alerts.append, said.append, Settings(interval=0.2))
        watch.settings = Settings(once=True)
        watch.run()
        assert counts(store) == (len(log), len(log))
        assert any("following the table's stream" in line for line in said)
        assert any("scanned whole once" in line for line in said)
        assert alerts == []
        saved = store.marks(followed.location, ddb_stream.scope(followed.mode[7:]))
        assert saved[ddb_stream.SCANNED] == "yes"
        assert all(m.startswith("after ") for s, m in saved.items() if s.startswith("shard"))

        put(admin, table, second_completion)
        watch.run()
        assert "multiple-terminals" in {a.code for a in alerts}
        before = len(alerts)
        assert counts(store) == (len(log) + 1, len(log) + 1)
        assert any("pass 2: 1 event(s) stored, 1 run(s) re-checked" in s for s in said)

        # the server dies while the watch runs; writes land after it comes back
        watch.settings = Settings(interval=0.2)
        thread = threading.Thread(target=watch.run)
        thread.start()
        server.process.kill()
        server.process.wait()
        _wait_for(lambda: any("source failed" in line for line in said), 30)
        server = disk_server()
        another = {**second_completion, "eventId": second_completion["eventId"][:-1] + "Y"}
        put(admin, table, another)
        _wait_for(lambda: len(alerts) > before, 60)
        watch.stop.set()
        thread.join(30)
        assert not thread.is_alive()
        assert any("reconnected to" in line and "saved cursor" in line for line in said)
        assert counts(store) == (len(log) + 2, len(log) + 2)  # nothing lost, nothing twice
        _, rows = store.query("SELECT count(*) FROM imports WHERE status NOT IN ('ok')")
        assert rows == [(0,)]


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_table_without_a_stream_is_read_again_each_pass(
    server: Server, admin: Any, tmp_path: Path, run_items: Any
) -> None:
    log, second_completion = run_items
    table = create_table(admin, "events_plain_watch", "aws-world-1371", log)
    alerts: list[Alert] = []
    said: list[str] = []
    with Store(tmp_path / "store.duckdb") as store:
        watch = Watch(
            store, source(server.url, table), alerts.append, said.append, Settings(once=True)
        )
        watch.run()
        assert any("no stream enabled; each pass reads a whole Scan" in s for s in said)
        put(admin, table, second_completion)
        watch.run()
        assert "multiple-terminals" in {a.code for a in alerts}
        assert counts(store) == (len(log) + 1, len(log) + 1)
        run_id = log[0]["runId"]
        by_run = Watch(
            store,
            source(server.url, table, runs=(run_id,)),
            alerts.append,
            said.append,
            Settings(once=True),
        )
        by_run.run()
        assert any("a COUNT Query per run (1 run(s))" in s for s in said)
        assert counts(store) == (len(log) + 1, len(log) + 1)


def test_throttled_stream_reads_are_retried_from_the_saved_positions(
    server: Server, admin: Any, tmp_path: Path, run_items: Any
) -> None:
    log, second_completion = run_items
    table = create_table(admin, "events_throttled", "aws-world-1371", log, stream="NEW_IMAGE")
    proxy = Proxy(server.url).start()
    alerts: list[Alert] = []
    said: list[str] = []
    try:
        with Store(tmp_path / "store.duckdb") as store:
            watch = Watch(
                store, source(proxy.url, table), alerts.append, said.append, Settings(once=True)
            )
            watch.run()
            put(admin, table, second_completion)
            proxy.rules.append(Rule("ThrottlingException", "GetRecords", times=4))
            watch.settings = Settings(interval=0.1)
            thread = threading.Thread(target=watch.run)
            thread.start()
            _wait_for(lambda: bool(alerts), 60)
            watch.stop.set()
            thread.join(30)
            assert proxy.injected == 4
            assert any("kept throttling GetRecords" in line for line in said)
            assert "multiple-terminals" in {a.code for a in alerts}
            assert counts(store) == (len(log) + 1, len(log) + 1)
            assert set(proxy.operations) <= {
                "DescribeTable",
                "Scan",
                "DescribeStream",
                "GetShardIterator",
                "GetRecords",
            }
    finally:
        proxy.stop()


def test_a_closed_shard_is_read_to_its_end_and_then_left_alone(
    server: Server, admin: Any, run_items: Any
) -> None:
    log, _ = run_items
    table = create_table(admin, "events_closing", "aws-world-1371", log[:2], stream="NEW_IMAGE")
    arn = admin.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    conn = connect(Target(table, endpoint_url=server.url))
    first = ddb_stream.ShardRead()
    ddb_stream.read_shards(conn, arn, {}, first)
    [shard] = list(first.marks)
    assert len(first.images) == 2 and first.marks[shard].startswith("after ")
    put(admin, table, log[2])
    admin.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    rest = ddb_stream.ShardRead()
    ddb_stream.read_shards(conn, arn, dict(first.marks), rest)
    assert len(rest.images) == 1 and rest.marks == {shard: ddb_stream.DONE}
    after = ddb_stream.ShardRead()
    ddb_stream.read_shards(conn, arn, rest.marks, after)
    assert after.images == [] and set(after.calls) == {"describe_stream"}


def test_watch_dynamodb_from_the_command_line(
    server: Server, admin: Any, tmp_path: Path, run_items: Any
) -> None:
    log, second_completion = run_items
    table = create_table(admin, "events_cli_watch", "aws-world-1371", log, stream="NEW_IMAGE")
    command = [
        sys.executable,
        "-m",
        "forensics",
        "--db",
        str(tmp_path / "store.duckdb"),
        "watch",
        "dynamodb",
        "--table",
        table,
        "--endpoint-url",
        server.url,
        "--once",
    ]
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert (first.returncode, first.stdout) == (0, ""), first.stderr
    put(admin, table, second_completion)
    second = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert second.returncode == 0, second.stderr
    alerts = [json.loads(line) for line in second.stdout.splitlines()]
    [alert] = [a for a in alerts if a["code"] == "multiple-terminals"]
    assert alert["run_id"] == log[0]["runId"]
    assert second_completion["eventId"] in alert["event_ids"]


def test_a_table_that_goes_away_is_waited_for_and_read_again(
    server: Server, admin: Any, tmp_path: Path, run_items: Any
) -> None:
    log, _ = run_items
    table = create_table(admin, "events_vanishing", "aws-world-1371", log[:3], stream="NEW_IMAGE")
    said: list[str] = []
    with Store(tmp_path / "store.duckdb") as store:
        followed = source(server.url, table)
        watch = Watch(store, followed, lambda a: None, said.append, Settings(once=True))
        watch.run()
        admin.delete_table(TableName=table)
        with pytest.raises(SourceError, match=r"not found .* \(it was there before\)"):
            followed.poll(store)  # a watch retries this with backoff
        create_table(admin, table, "aws-world-1371", log, stream="NEW_IMAGE")
        watch.run()  # a new stream: the table is scanned whole again
        assert counts(store) == (len(log), len(log))
        assert sum("no saved positions" in line for line in said) == 2


def test_sigterm_ends_a_dynamodb_watch_with_exit_0_and_its_imports_finished(
    server: Server, admin: Any, tmp_path: Path, run_items: Any
) -> None:
    log, _ = run_items
    table = create_table(admin, "events_sigterm", "aws-world-1371", log, stream="NEW_IMAGE")
    store = tmp_path / "store.duckdb"
    argv = [sys.executable, "-m", "forensics", "--db", str(store), "watch", "dynamodb"]
    child = subprocess.Popen(
        [*argv, "--table", table, "--endpoint-url", server.url, "--interval", "200ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stderr is not None
        lines: list[str] = []
        while sum(" pass " in line for line in lines) < 3:
            line = child.stderr.readline()
            assert line, f"the watch ended early: {lines}"
            lines.append(line)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert (child.returncode, out) == (0, ""), err
    assert "SIGTERM: stopping after this pass" in err and "stopped after" in err
    with Store(store) as done:
        assert done.query("SELECT DISTINCT status FROM imports")[1] == [("ok",)]
        assert counts(done) == (len(log), len(log))


def test_a_long_backlog_is_read_over_several_passes(
    server: Server, admin: Any, run_items: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, _ = run_items
    table = create_table(admin, "events_backlog", "aws-world-1371", log[:5], stream="NEW_IMAGE")
    arn = admin.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    conn = connect(Target(table, endpoint_url=server.url))
    monkeypatch.setattr(ddb_stream, "PAGE_LIMIT", 2)
    monkeypatch.setattr(ddb_stream, "PASS_RECORDS", 2)
    saved: dict[str, str] = {}
    got = []
    for _ in range(4):
        read = ddb_stream.ShardRead()
        ddb_stream.read_shards(conn, arn, saved, read)
        got.append(len(read.images))
        saved.update(read.marks)
    assert got == [2, 2, 1, 0]
