"""The fuzz corpus (`generate.py`) through `forensics import json`, in this process.

For each input: no internal error (exit 70), no traceback, done within 30 s, peak RSS
within 1 GiB, every good event stored exactly once and every bad record quarantined with
its location. One store holds every case (each has a run of its own, so no case's events
are another's duplicates); each case is checked through its own import id.
"""

from __future__ import annotations

import contextlib
import io
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from forensics.cli import main
from forensics.errors import EXIT_INTERNAL
from forensics.importers import jsonl
from forensics.store import Store
from tests.fuzz.generate import Case, all_cases, write_case

CASES = all_cases()
TIMEOUT_S = 30
MAX_RSS_KIB = 1024 * 1024


class Hang(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
        except SystemExit as done:
            code = done.code
            return (code if isinstance(code, int) else 0), err.getvalue()
    return 0, err.getvalue()


def group_of(case: Case) -> str:
    return "bulk" if case.bulk else case.fmt


GROUPS = sorted({group_of(c) for c in CASES})


def test_the_corpus_is_large_and_covers_every_format() -> None:
    assert len(CASES) >= 300
    assert set(GROUPS) >= {
        "jsonl",
        "world-local",
        "api-v1",
        "api-v4",
        "dynamodb-json",
        "inspect",
        "bulk",
    }
    names = {c.name for c in CASES}
    for prefix in ("ddb-export-", "ddb-scan-", "inspect-", "cbor-", "v4-"):
        assert sum(n.startswith(prefix) for n in names) >= 25, prefix


@pytest.mark.parametrize("group", GROUPS)
def test_malformed_inputs(group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One `forensics import json` of every input of a format (each path its own import)."""
    cases = [c for c in CASES if group_of(c) == group]
    targets = {str(write_case(c, tmp_path / c.name)): c for c in cases}
    if group == "bulk":
        monkeypatch.setattr(jsonl, "BULK_MIN_BYTES", 0)
        monkeypatch.setattr(jsonl, "_SAMPLE_LINES", 1)
    db = tmp_path / "fuzz.duckdb"
    args = ["--db", str(db), "import", "json", *targets, "--format", cases[0].fmt]
    with deadline(TIMEOUT_S * len(cases)):
        code, err = run(args)
    assert code != EXIT_INTERNAL, err
    assert "Traceback" not in err, err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss <= MAX_RSS_KIB
    with Store(db, read_only=True) as store:
        imports = store.query(
            "SELECT import_id, location, epoch(finished_at - started_at) FROM imports"
        )[1]
        stored = store.query(
            "SELECT import_id, run_id, event_id, count(*) FROM events GROUP BY ALL"
        )[1]
        quarantined = store.query("SELECT import_id, location, position, reason FROM quarantine")[1]
    assert len(imports) == len(cases)
    failures = [
        problem for row in imports if (problem := _judge(targets[row[1]], row, stored, quarantined))
    ]
    assert not failures, "\n".join(failures)


def _judge(
    case: Case,
    row: tuple[object, ...],
    stored: list[tuple[object, ...]],
    quarantined: list[tuple[object, ...]],
) -> str | None:
    """What is wrong with one case's import (None when nothing is)."""
    import_id, _, seconds = row
    mine = [(r, e, n) for i, r, e, n in stored if i == import_id]
    bad = [(loc, pos, why) for i, loc, pos, why in quarantined if i == import_id]
    if float(seconds or 0) > TIMEOUT_S:  # type: ignore[arg-type]
        return f"{case.name}: took {seconds} s"
    if {(r, e) for r, e, _ in mine} != case.good or any(n != 1 for *_, n in mine):
        return f"{case.name}: stored {sorted(mine)}, expected {sorted(case.good)}; quarantine {bad}"
    if len(bad) != case.bad:
        return f"{case.name}: {len(bad)} quarantined, expected {case.bad}: {bad}"
    for location, position, reason in bad:
        if not (location and reason and (position or str(location).endswith(".json"))):
            return f"{case.name}: quarantined without a location: {(location, position, reason)}"
    return None
