"""Benchmark: `forensics import dynamodb` against a plain boto3 Scan that only counts items.

Starts a local DynamoDB-compatible server (DynamoDB Local by default, or dynalite; or uses
`--endpoint-url`), fills a PR #1371-layout events table with synthetic but realistic items
(CBOR `eventData` with tag-64 `devl` payloads, as cbor-x writes them), then times, in the same
run and each in its own process: the baseline (a single-threaded boto3 paginator over Scan
that counts items), the importer with 1 segment and with `--segments N`, and prints the ratios
and each process's peak RSS.

    python bench/import_dynamodb.py [--items 200000] [--segments 4] [--server dynalite]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import cbor2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import synth_events

ROOT = Path(__file__).resolve().parents[1]
TABLE = "bench_events"
# Each child reports its own peak RSS (VmHWM, in kB) on stderr's last line: the kernel's
# ru_maxrss of a child also counts the parent's pages at fork, which would hide the figure.
_PEAK = """
def _peak():
    import sys
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print(line.split()[1], file=sys.stderr)
"""
BASELINE = (
    _PEAK
    + """
import sys, boto3
client = boto3.client("dynamodb", endpoint_url=sys.argv[1])
count = 0
for page in client.get_paginator("scan").paginate(TableName=sys.argv[2]):
    count += len(page["Items"])
print(count)
_peak()
"""
)
IMPORTER = (
    _PEAK
    + """
import runpy, sys
sys.argv = ["forensics", *sys.argv[1:]]
try:
    runpy.run_module("forensics", run_name="__main__")
finally:
    _peak()
"""
)
# The server's ceiling: N threads scanning segments with the importer's own client (raw
# page parsing), counting items and nothing else.
CEILING = (
    _PEAK
    + """
import sys
from forensics.importers.dynamodb_live import Target, connect
from forensics.importers.dynamodb_live.pages import read_pages
from forensics.importers.dynamodb_live.plan import Reads, scan_requests
segments = int(sys.argv[3])
conn = connect(Target(sys.argv[2], endpoint_url=sys.argv[1]), segments)
requests = scan_requests(Reads(sys.argv[2], segments))
print(sum(len(page.items) for page in read_pages(conn, requests, segments)))
_peak()
"""
)


def _servers() -> Any:
    """The test suite's server helper (install + start on a free loopback port)."""
    path = ROOT / "tests" / "dynamodb" / "ddb_servers.py"
    spec = importlib.util.spec_from_file_location("dynamodb_servers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def items(count: int) -> Iterator[dict[str, Any]]:
    """Typed items of the #1371 layout from the synthetic runs (30 events per run)."""
    for made, event in enumerate(synth_events(count // 30 + 1, 30), start=1):
        data = {
            k: cbor2.CBORTag(64, base64.b64decode(v["data"])) if isinstance(v, dict) else v
            for k, v in (event.get("eventData") or {}).items()
        }
        item: dict[str, Any] = {
            "runId": {"S": event["runId"]},
            "eventId": {"S": event["eventId"]},
            "eventType": {"S": event["eventType"]},
            "specVersion": {"N": "3"},
            "createdAt": {"S": event["createdAt"]},
        }
        if event.get("correlationId"):
            item["correlationId"] = {"S": event["correlationId"]}
        if data:
            item["eventData"] = {"B": cbor2.dumps(data)}
        yield item
        if made == count:
            return


def events_table(name: str) -> dict[str, Any]:
    """`create_table`'s arguments for an events table keyed by (runId, eventId), on demand."""
    key = (("runId", "HASH"), ("eventId", "RANGE"))
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": a, "KeyType": t} for a, t in key],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a, _ in key],
    }


def load(url: str, count: int) -> float:
    """Create the table and write `count` items with 4 writer threads; return seconds."""
    client = boto3.client("dynamodb", endpoint_url=url)
    client.create_table(**events_table(TABLE))
    client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2})
    every = list(items(count))
    started = time.perf_counter()

    def write(chunk: list[dict[str, Any]]) -> None:
        for i in range(0, len(chunk), 25):
            batch = [{"PutRequest": {"Item": it}} for it in chunk[i : i + 25]]
            while batch:
                done = client.batch_write_item(RequestItems={TABLE: batch})
                batch = done.get("UnprocessedItems", {}).get(TABLE, [])

    threads = [threading.Thread(target=write, args=(every[k::4],)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run `command`; return wall seconds, peak RSS in MiB and its stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        _, stderr = process.communicate()
        wall = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"{command[:4]} failed ({process.returncode}): {stderr[-2000:]!r}")
        out.seek(0)
        peak_kb = int(stderr.decode().strip().splitlines()[-1])
        return wall, peak_kb / 1024, out.read().decode()


def importer(url: str, segments: int, workdir: Path) -> list[str]:
    db = workdir / f"seg{segments}.duckdb"
    db.unlink(missing_ok=True)
    return [sys.executable, "-c", IMPORTER, "--db", str(db), "import", "dynamodb",
            "--table", TABLE, "--endpoint-url", url, "--segments", str(segments),
            "--output", "csv"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--server", choices=("dynamodb-local", "dynalite"), default=None)
    parser.add_argument("--endpoint-url", default=None, help="use this running server")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDBENCH")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = None
        url = args.endpoint_url
        if url is None:
            servers = _servers()
            server = servers.start(args.server or servers.default_kind(), workdir)
            url = server.url
        try:
            run(url, args, workdir, server.kind if server else url)
        finally:
            if server is not None:
                server.stop()


def run(url: str, args: argparse.Namespace, workdir: Path, kind: str) -> None:
    print(f"server: {kind}; loading {args.items:,} items ...", flush=True)
    print(f"load: {load(url, args.items):.1f} s", flush=True)
    base_wall, base_rss, counted = timed([sys.executable, "-c", BASELINE, url, TABLE])
    assert int(counted) == args.items, counted
    rows = [("boto3 Scan, count only (baseline)", base_wall, base_rss, "")]
    ceiling = [sys.executable, "-c", CEILING, url, TABLE, str(args.segments)]
    wall, rss, counted = timed(ceiling)
    assert int(counted) == args.items, counted
    rows.append((f"server ceiling: {args.segments} segments, count only", wall, rss, ""))
    for segments in (1, args.segments):
        wall, rss, out = timed(importer(url, segments, workdir))
        stored = out.splitlines()[1].split(",")[4]
        assert int(stored) == args.items, out
        rows.append((f"forensics import dynamodb, {segments} segment(s)", wall, rss, stored))
    print(f"{'':46} {'wall s':>8} {'x base':>7} {'base/x':>7} {'peak RSS MiB':>13}")
    for name, wall, rss, _ in rows:
        print(f"{name:46} {wall:8.1f} {wall / base_wall:7.2f} {base_wall / wall:7.2f} {rss:13.0f}")


if __name__ == "__main__":
    main()
