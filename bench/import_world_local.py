"""Benchmark: import a large world-local data directory (default 100,000 event files).

The directory is generated from the real capture (`tests/data/realdata/local/`, its tarball):
its 43 runs are replicated with fresh ULID run and event ids (time shifted per replica, so ids
stay valid and ordered), correlation ids moved to the new time prefix, and every payload kept
in its real `devl` encoding, with the capture's run label swapped for a per-replica one (so
payloads differ between replicas as they would between real runs). Then the directory is
imported into a fresh store twice, each in a child process: once through the library (`Store`
+ `WorldLocalImporter`, timed inside the child) and once through the CLI (`forensics --db …
import json DIR`, timed from outside, interpreter start included). For each it prints events/s,
the child's CPU time and peak RSS (from `os.wait4`), and the load average: on a busy machine
the wall time says little, the CPU time more.

    python bench/import_world_local.py [-n 100000] [--dir DIR] [--keep] [--no-entities]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REALDATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "realdata"
ENTITY_PREFIXES = ("step_", "hook_", "wait_")
REPLICA_SHIFT_MS = 120_000  # each replica runs two minutes after the previous one
LABEL = re.compile(rb"mwq6[0-9a-z]{4}")  # the capture's run label inside payloads


def decode_time(body: str) -> int:
    """Milliseconds in the first 10 characters of a ULID body."""
    value = 0
    for ch in body[:10]:
        value = value * 32 + ALPHABET.index(ch)
    return value


def encode(value: int, length: int) -> str:
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(length)))


def new_ulid(ms: int, rng: random.Random) -> str:
    return encode((ms << 80) | rng.getrandbits(80), 26)


def shift_iso(text: str, shift_ms: int) -> str:
    """An ISO-8601 `…Z` time moved by `shift_ms` (millisecond precision, as JS writes it)."""
    from datetime import UTC, datetime, timedelta

    moment = datetime.fromisoformat(text) + timedelta(milliseconds=shift_ms)
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def load_real(tar_path: Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Real objects per run: {"events": [...], "runs": [...], "steps": [...]}."""
    per_run: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if (
                not member.isfile()
                or len(parts) != 3
                or parts[1] not in ("events", "runs", "steps")
            ):
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            obj = orjson.loads(handle.read())
            per_run[obj["runId"]][parts[1]].append(obj)
    return per_run


class Replicator:
    """Copies one real run under new ids, shifted in time by a whole number of replicas."""

    def __init__(self, replica: int, rng: random.Random) -> None:
        self.shift = replica * REPLICA_SHIFT_MS
        self.label = f"rep{replica:05d}".encode()
        self.rng = rng
        self.ids: dict[str, str] = {}

    def run_id(self, old: str) -> str:
        return self._fresh(old, "wrun_")

    def event_id(self, old: str) -> str:
        return self._fresh(old, "evnt_")

    def _fresh(self, old: str, prefix: str) -> str:
        if old not in self.ids:
            self.ids[old] = prefix + new_ulid(decode_time(old[-26:]) + self.shift, self.rng)
        return self.ids[old]

    def cid(self, old: str) -> str:
        """Same 16-character body (so the draw ordinals survive), shifted time prefix."""
        if not old.startswith(ENTITY_PREFIXES) or len(old) != 31:
            return old
        body = old[5:]
        return old[:5] + encode(decode_time(body) + self.shift, 10) + body[10:]

    def payload(self, value: Any) -> Any:
        """A `Uint8Array` payload with the scenario label swapped for this replica's."""
        if not (isinstance(value, dict) and value.get("__type") == "Uint8Array"):
            return value
        raw = LABEL.sub(self.label, base64.b64decode(value["data"]))
        return {"__type": "Uint8Array", "data": base64.b64encode(raw).decode()}

    def obj(self, obj: dict[str, Any], new_run: str) -> dict[str, Any]:
        out = {k: self.payload(v) for k, v in obj.items()}
        if isinstance(out.get("eventData"), dict):
            out["eventData"] = {k: self.payload(v) for k, v in out["eventData"].items()}
        out["runId"] = new_run
        for name in ("createdAt", "startedAt", "completedAt", "updatedAt"):
            if isinstance(out.get(name), str):
                out[name] = shift_iso(out[name], self.shift)
        if "eventId" in out:
            out["eventId"] = self.event_id(out["eventId"])
        for name in ("correlationId", "stepId"):
            if isinstance(out.get(name), str):
                out[name] = self.cid(out[name])
        return out


def generate(target: Path, n: int, tar_path: Path, entities: bool, seed: int = 7) -> int:
    """Write `n` event files (and the runs/steps that go with them); return the event count."""
    real = load_real(tar_path)
    rng = random.Random(seed)
    for sub in ("events", "runs", "steps"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    (target / "version.txt").write_text("@workflow/world-local@4.4.1")
    opts = orjson.OPT_INDENT_2
    written = 0
    replica = 0
    while written < n:
        for old_run, objs in sorted(real.items()):
            rep = Replicator(replica, rng)
            run = rep.run_id(old_run)
            for event in objs["events"]:
                if written >= n:
                    break
                e = rep.obj(event, run)
                (target / "events" / f"{run}-{e['eventId']}.json").write_bytes(
                    orjson.dumps(e, option=opts)
                )
                written += 1
            if entities:
                for r in objs["runs"]:
                    (target / "runs" / f"{run}.json").write_bytes(
                        orjson.dumps(rep.obj(r, run), option=opts)
                    )
                for s in objs["steps"]:
                    st = rep.obj(s, run)
                    (target / "steps" / f"{run}-{st['stepId']}.json").write_bytes(
                        orjson.dumps(st, option=opts)
                    )
            if written >= n:
                break
        replica += 1
    return written


_LIBRARY_CHILD = """
import json, sys, time
from pathlib import Path
from forensics.importers.base import ImportOptions
from forensics.importers.world_local import WorldLocalImporter
from forensics.store import Store
data, db = Path(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
with Store(db) as store:
    with store.begin_import("world-local", str(data)) as session:
        WorldLocalImporter().import_path(data, session, ImportOptions())
        summary = session.finish()
elapsed = time.perf_counter() - start
print(json.dumps({"read": summary.read, "stored": summary.stored, "runs": summary.runs,
                  "entities": summary.entities, "quarantined": summary.quarantined,
                  "seconds": elapsed}))
"""


class Child:
    """What a finished child process printed and used."""

    def __init__(self, argv: list[str]) -> None:
        start = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(argv, stdout=out)
            _pid, status, usage = os.wait4(proc.pid, 0)
            self.wall = time.perf_counter() - start
            out.seek(0)
            self.stdout = out.read().decode()
        self.code = os.waitstatus_to_exitcode(status)
        self.cpu = usage.ru_utime + usage.ru_stime  # all threads, user + system
        self.rss_mib = usage.ru_maxrss / 1024  # Linux reports KiB


def report(label: str, events: int, seconds: float, child: Child) -> None:
    print(
        f"{label:8s} {events:>8,d} events in {seconds:6.2f} s = {events / seconds:>7,.0f} events/s"
        f" (CPU {child.cpu:5.2f} s = {events / child.cpu:>7,.0f} events per CPU-second),"
        f" peak RSS {child.rss_mib:6.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="use (or create) this data directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-entities", action="store_true", help="write event files only")
    parser.add_argument("--realdata", type=Path, default=REALDATA)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="forensics-bench-"))
    data = args.dir or work / ".workflow-data"
    try:
        if not (data / "events").is_dir():
            start = time.perf_counter()
            tar_path = args.realdata / "local" / "workflow-data.tar.gz"
            count = generate(data, args.events, tar_path, not args.no_entities)
            print(
                f"generated {count:,d} event files in {time.perf_counter() - start:.1f} s: {data}"
            )
        files = sum(1 for _ in os.scandir(data / "events"))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {files:,d} event files")

        library = Child(
            [sys.executable, "-c", _LIBRARY_CHILD, str(data), str(work / "library.duckdb")]
        )
        if library.code != 0:
            sys.exit(f"library import failed with exit status {library.code}")
        result = json.loads(library.stdout.strip().splitlines()[-1])
        print(f"library: {result}; load average {os.getloadavg()[0]:.1f}")
        report("library", result["read"], result["seconds"], library)

        if importlib.util.find_spec("forensics.cli") is None:
            print("cli: skipped (forensics.cli is not installed yet)")
        else:
            db = str(work / "cli.duckdb")
            argv = [sys.executable, "-m", "forensics", "--db", db, "import", "json", str(data)]
            cli = Child(argv)
            print(f"cli: exit status {cli.code}; load average {os.getloadavg()[0]:.1f}")
            report("cli", result["read"], cli.wall, cli)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
