"""`forensics watch trace`: files followed like `tail -F`, replays stored once whole.

A replay whose end has not arrived is held, a line still being written waits for its
newline, a rotated file is read to its end before its successor, a truncated one again from
the start, and a watch that restarts reads on from the first line it had not stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from forensics.importers.trace_follow import Follow
from forensics.store import Store
from tests.replay.test_replay_trace_import import end, start, step

ROOT = Path(__file__).resolve().parents[2]


def append(path: Path, *lines: str, newline: bool = True) -> None:
    with path.open("a") as fh:
        fh.write("\n".join(lines) + ("\n" if newline else ""))


def stored(store: Store) -> list[tuple[Any, ...]]:
    _, rows = store.query(
        "SELECT stream, inv, outcome, has_start, source_position FROM trace_replays"
        " ORDER BY replay_key"
    )
    return rows


def test_replays_are_stored_whole_once_their_end_arrives(tmp_store: Store, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    follow = Follow([log])
    assert follow.poll(tmp_store) is None  # not there yet: waited for
    append(log, start(1, 8), step(1, 1, "step_01", "step//./w//a"))
    append(log, end(1, "suspended")[:20], newline=False)  # being written
    assert follow.poll(tmp_store) is None  # the replay is held, the half line waits
    append(log, end(1, "suspended")[20:])
    summary = follow.poll(tmp_store)
    assert summary is not None and (summary.read, summary.stored) == (3, 3)
    assert stored(tmp_store) == [("app.log", 1, "suspended", True, "line 1")]
    assert follow.poll(tmp_store) is None


def test_rotation_truncation_and_a_restart(tmp_store: Store, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, start(1, 8))
    follow = Follow([log])
    assert follow.poll(tmp_store) is None
    os.replace(log, tmp_path / "app.log.1")  # rotated; the writer still has the old file
    append(tmp_path / "app.log.1", end(1, "completed"))
    append(log, start(2, 9), end(2, "suspended"))
    summary = follow.poll(tmp_store)
    assert summary is not None and summary.stored == 4
    assert [(r[1], r[2], r[4]) for r in stored(tmp_store)] == [
        (1, "completed", "line 1"),
        (2, "suspended", "line 1"),
    ]
    log.write_text("")  # truncated in place (copytruncate), seen before it grows again
    assert follow.poll(tmp_store) is None
    append(log, start(3, 9), end(3, "completed"), start(4, 9))
    assert follow.poll(tmp_store) is not None
    assert [r[1] for r in stored(tmp_store)] == [1, 2, 3]
    follow.close()

    again = Follow([log])  # a restart: on from replay 4's start, which was held
    append(log, end(4, "failed"))
    summary = again.poll(tmp_store)
    assert summary is not None and (summary.read, summary.stored) == (2, 2)
    assert [(r[1], r[3], r[4]) for r in stored(tmp_store)][-1] == (4, True, "line 3")
    again.close()


def test_watch_trace_from_the_command_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, start(1, 8), end(1, "suspended"))
    store = str(tmp_path / "store.duckdb")
    command = [sys.executable, "-m", "forensics", "--db", store, "watch", "trace", str(log)]
    done = subprocess.run(
        [*command, "--once"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pass 1: 2 event(s) stored" in done.stderr
