"""Fixtures of the live DynamoDB importer tests: a real server on loopback, tables, a proxy.

The server (DynamoDB Local, else dynalite; see `servers.py`) starts once per session on a
free port. Every test runs with fixed, fake credentials in the environment and with the
instance-metadata lookup switched off, so no request ever leaves the machine.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ddb_items import ACCESS_KEY, REGION, SECRET_KEY, create_table
from ddb_proxy import Proxy
from ddb_servers import Server, Unavailable, default_kind, start

from forensics.importers.dynamodb_live import Connection, Target, connect

_names = itertools.count(1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        running = start(default_kind(), tmp_path_factory.mktemp("dynamodb-server"))
    except Unavailable as exc:
        pytest.skip(f"no DynamoDB-compatible server: {exc}")
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake static credentials; no profile files, no instance metadata, no real AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


@pytest.fixture
def admin(server: Server, aws_env: None) -> Any:
    """A plain boto3 client for setting tables up (the importer never writes)."""
    return boto3.client("dynamodb", endpoint_url=server.url, region_name=REGION)


@pytest.fixture
def make_table(admin: Any) -> Callable[..., str]:
    """`make_table(preset, items)` -> the name of a new table holding `items`."""

    def make(preset: str, items: list[dict[str, Any]]) -> str:
        return create_table(admin, f"events_{next(_names)}", preset, items)

    return make


@pytest.fixture
def connection(server: Server) -> Callable[..., Connection]:
    """`connection(table, **target_fields)` -> a live importer connection to the server."""

    def make(table: str, **fields: Any) -> Connection:
        fields.setdefault("endpoint_url", server.url)
        return connect(Target(table, **fields), segments=8)

    return make


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    running = Proxy(server.url).start()
    yield running
    running.stop()
