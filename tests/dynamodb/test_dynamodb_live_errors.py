"""Read-only calls, throttling, and one clear line per failure, with no secret anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ddb_items import ACCESS_KEY, REGION, SECRET_KEY, plain_items
from ddb_proxy import Proxy, Rule
from ddb_servers import Server, free_port

from forensics.cli import main
from forensics.errors import (
    EXIT_INPUT,
    EXIT_SOURCE,
    ForensicsError,
    InputError,
    SourceError,
    UsageError,
)
from forensics.importers.base import ImportOptions
from forensics.importers.dynamodb_live import (
    READ_OPERATIONS,
    LiveOptions,
    Target,
    connect,
    import_dynamodb,
)
from forensics.store import Store

Make = Callable[..., Any]


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return plain_items()[:120]


def forensics(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def failure(target: Target, store: Store, live: LiveOptions | None = None) -> ForensicsError:
    with pytest.raises(ForensicsError) as info:
        import_dynamodb(store, connect(target), ImportOptions(), live or LiveOptions())
    return info.value


def test_only_describe_query_and_scan_reach_the_server(
    items: list[dict[str, Any]], make_table: Make, proxy: Proxy, tmp_store: Store
) -> None:
    events, runs = make_table("aws-world-1371", items), make_table("runs", [])
    run_id = items[0]["runId"]
    for live in (
        LiveOptions(segments=3, runs_table=runs),
        LiveOptions(runs=(run_id,), runs_table=runs),
    ):
        conn = connect(Target(events, endpoint_url=proxy.url), 3)
        import_dynamodb(tmp_store, conn, ImportOptions(), live)
    assert set(proxy.operations) == {"DescribeTable", "Query", "Scan"}
    assert set(proxy.operations) <= set(READ_OPERATIONS)


def test_throttled_scans_are_retried_by_adaptive_mode(
    items: list[dict[str, Any]], make_table: Make, proxy: Proxy, tmp_store: Store
) -> None:
    table = make_table("aws-world-1371", items)
    proxy.rules.append(Rule("ProvisionedThroughputExceededException", "Scan", times=2))
    conn = connect(Target(table, endpoint_url=proxy.url, max_attempts=4))
    summary = import_dynamodb(tmp_store, conn, ImportOptions(), LiveOptions(page_size=50))
    assert (summary.stored, proxy.injected) == (120, 2)
    assert proxy.operations == ["DescribeTable"] + ["Scan"] * 5  # 2 refused, then 3 pages


def test_throttling_that_never_ends_is_one_line(
    items: list[dict[str, Any]], make_table: Make, proxy: Proxy, tmp_store: Store
) -> None:
    table = make_table("aws-world-1371", items)
    proxy.rules.append(Rule("ProvisionedThroughputExceededException", "Scan"))
    error = failure(Target(table, endpoint_url=proxy.url, max_attempts=2), tmp_store)
    assert isinstance(error, SourceError)
    assert error.message == f"DynamoDB kept throttling scan on {table!r} after 2 attempts"
    assert error.hint == "retry later, use fewer --segments, or raise --max-attempts"


def test_access_denied(make_table: Make, proxy: Proxy, tmp_store: Store) -> None:
    table = make_table("aws-world-1371", [])
    proxy.rules.append(Rule("AccessDeniedException", "Scan", message="not authorized"))
    error = failure(Target(table, endpoint_url=proxy.url), tmp_store)
    assert isinstance(error, SourceError)
    assert error.message == (
        f"access denied to scan on table {table!r} (endpoint {proxy.url} (region {REGION})): "
        "not authorized"
    )
    assert error.hint is not None and "dynamodb:DescribeTable" in error.hint


def test_missing_table(server: Server, tmp_store: Store) -> None:
    error = failure(Target("no_such_table", endpoint_url=server.url), tmp_store)
    assert isinstance(error, InputError)
    assert error.message == (
        f"table 'no_such_table' not found in endpoint {server.url} (region {REGION})"
    )


def test_wrong_region(server: Server, make_table: Make, tmp_store: Store) -> None:
    if server.kind != "dynamodb-local":
        pytest.skip("dynalite keeps one set of tables for every region")
    table = make_table("aws-world-1371", [])
    error = failure(Target(table, region="ap-south-1", endpoint_url=server.url), tmp_store)
    assert isinstance(error, InputError)
    assert "region ap-south-1" in error.message
    assert error.hint is not None and "--region" in error.hint


def test_wrong_endpoint(tmp_store: Store) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    error = failure(Target("events", endpoint_url=url, max_attempts=1), tmp_store)
    assert isinstance(error, SourceError)
    assert error.message == f"cannot reach DynamoDB at endpoint {url} (region {REGION})"


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, server: Server) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(SourceError) as info:
        connect(Target("events", endpoint_url=server.url))
    assert info.value.message == "no AWS credentials found"
    assert "--profile" in str(info.value.hint)


def test_a_local_endpoint_needs_no_region(monkeypatch: pytest.MonkeyPatch, server: Server) -> None:
    """README's DynamoDB Local example: --endpoint-url without --region signs for us-east-1."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    connection = connect(Target("events", endpoint_url=server.url))
    assert connection.region == "us-east-1"
    assert connection.client.list_tables()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_no_region_and_unknown_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(UsageError, match="no AWS region given"):
        connect(Target("events"))
    with pytest.raises(UsageError, match="AWS profile 'incident-ro' is not configured"):
        connect(Target("events", profile="incident-ro"))


def test_cli_import_and_no_secret_in_output_logs_or_store(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    items: list[dict[str, Any]],
    make_table: Make,
    server: Server,
    tmp_path: Path,
) -> None:
    caplog.set_level("INFO")  # botocore's own DEBUG log shows signed headers; never enabled
    table = make_table("aws-world-1371", items)
    db = str(tmp_path / "cli.duckdb")
    base = ["--db", db, "import", "dynamodb", "--table", table, "--endpoint-url", server.url]
    code, out, err = forensics(capsys, *base, "--segments", "2", "--output", "json")
    assert code == 0, err
    [summary] = json.loads(out)
    assert (summary["source"], summary["stored"], summary["status"]) == ("dynamodb", 120, "ok")
    code, out2, err2 = forensics(capsys, *base[:4], "--table", "missing_table",
                                 "--endpoint-url", server.url)  # fmt: skip
    assert code == EXIT_INPUT
    assert err2.splitlines()[0] == (
        f"forensics: input: table 'missing_table' not found in endpoint {server.url} "
        f"(region {REGION})"
    )
    code, _, err3 = forensics(capsys, *base[:4], "--table", table, "--endpoint-url",
                              f"http://127.0.0.1:{free_port()}", "--max-attempts", "1")  # fmt: skip
    assert code == EXIT_SOURCE
    assert len(err3.splitlines()) == 2  # the error and what to try
    seen = out + err + out2 + err2 + err3 + caplog.text + Path(db).read_bytes().decode("latin-1")
    assert SECRET_KEY not in seen
    assert ACCESS_KEY not in seen


def test_presets_command_lists_roles_and_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = forensics(capsys, "dynamodb-presets", "aws-world-167", "--format", "json")
    assert code == 0
    rows = {r["role"]: r for r in json.loads(out) if r["preset"] == "aws-world-167"}
    assert rows["event_id"]["key"] == "HASH"
    assert rows["run_id"] == {
        "preset": "aws-world-167",
        "role": "run_id",
        "attribute": "runId",
        "key": "GSI runId-createdAt-index",
        "meaning": "run id (wrun_…)",
    }
    assert rows["fence"]["attribute"] is None
    code, out, err = forensics(capsys, "dynamodb-presets", "nope")
    assert code == 2
    assert "unknown DynamoDB preset 'nope'" in err
