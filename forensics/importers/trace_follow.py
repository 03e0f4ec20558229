"""Following trace log files like `tail -F`: new complete lines, whole replays, rotation.

`Tail` reads what was appended to one path since the last pass, line by line; a last line
without its newline (being written) waits for it. When the path names another file (log
rotation), the old file is read to its end first and the new one from its start; a file
that got shorter (truncated in place) is read again from its start; a path that does not
exist yet is waited for. `Held` keeps each replay's lines until its `replay_end` (or until
`HOLD_S` passed, for a process that died mid-replay), because a replay is stored whole and
identified by its content: a half replay stored early would stay beside the whole one.

The cursor (inode, byte offset and line number of the first line not yet stored) is kept in
the store's marks, scope `trace-tail`, so a watch that restarts reads on from there; lines
read again are recognised as replays the store already holds.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from forensics.importers.base import ImportOptions
from forensics.importers.trace import SOURCE_KIND, import_trace_lines
from forensics.importers.trace_parse import MARKER, read_line
from forensics.model import ImportSummary
from forensics.store import Store
from forensics.store.traces import set_import_counts

TAIL_MARKS = "trace-tail"
HOLD_S = 600.0
_CHUNK = 1 << 20

# (line number, raw line without its newline, byte offset where it starts)
Line = tuple[int, bytes, int]


@dataclass
class Tail:
    path: Path
    ino: int | None = None
    offset: int = 0  # bytes of the current file read as whole lines
    line: int = 0  # lines of it read
    fh: BinaryIO | None = None
    partial: bytes = b""

    def resume(self, marks: dict[str, str]) -> None:
        """Start where a saved cursor stopped, if it is still this path's file."""
        if marks:
            self.ino, self.offset, self.line = (int(marks[k]) for k in ("ino", "offset", "line"))

    def cursor(self, held_from: tuple[int, int] | None) -> dict[str, str]:
        """The mark to save: the first held line of this file, else the end of what was read."""
        offset, line = held_from or (self.offset, self.line)
        return {"ino": str(self.ino or 0), "offset": str(offset), "line": str(line)}

    def read(self) -> list[Line]:
        out: list[Line] = []
        for _ in range(3):  # at most: the old file's rest, then the new file
            if self.fh is None and not self._open():
                return out
            out += self._drain()
            try:
                now = os.stat(self.path)
            except FileNotFoundError:  # rotated away; its successor is not there yet
                return out
            assert self.fh is not None
            if now.st_ino != self.ino:
                self.close()
                self.ino, self.offset, self.line, self.partial = now.st_ino, 0, 0, b""
                continue
            if now.st_size < self.offset + len(self.partial):  # truncated in place
                self.fh.seek(0)
                self.offset, self.line, self.partial = 0, 0, b""
                continue
            return out
        return out

    def _open(self) -> bool:
        try:
            self.fh = open(self.path, "rb")  # noqa: SIM115 - held open across passes
        except FileNotFoundError:
            return False
        stat = os.fstat(self.fh.fileno())
        if stat.st_ino == self.ino and stat.st_size >= self.offset:
            self.fh.seek(self.offset)
        else:
            self.ino, self.offset, self.line = stat.st_ino, 0, 0
        self.partial = b""
        return True

    def _drain(self) -> list[Line]:
        assert self.fh is not None
        out: list[Line] = []
        while chunk := self.fh.read(_CHUNK):
            data = self.partial + chunk
            cut = data.rfind(b"\n") + 1
            self.partial = data[cut:]
            start = self.offset
            for raw in data[:cut].split(b"\n")[:-1]:
                self.line += 1
                out.append((self.line, raw, start))
                start += len(raw) + 1
            self.offset = start
        return out

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


@dataclass
class _Open:
    since: float
    lines: list[tuple[Path, Line]] = field(default_factory=list)


class Held:
    """Lines of replays not ended yet; `add` returns the lines ready to be stored."""

    def __init__(self, hold_s: float = HOLD_S) -> None:
        self.hold_s = hold_s
        self.open: dict[tuple[str, str, int], _Open] = {}

    def add(self, path: Path, line: Line) -> list[tuple[Path, Line]]:
        number, raw, _ = line
        if MARKER not in raw:
            return []
        parsed, _problem = read_line(raw.rstrip(b"\r"), str(path), number, path.name)
        if parsed is None:  # unreadable: stored now, as a quarantined line
            return [(path, line)]
        key = (parsed.run_id, parsed.meta.stream, parsed.inv)
        ready: list[tuple[Path, Line]] = []
        if parsed.kind == "replay_start":
            if key in self.open:  # a new start closes the replay left open
                ready += self.open.pop(key).lines
            self.open[key] = _Open(time.monotonic(), [(path, line)])
        elif key in self.open:
            self.open[key].lines.append((path, line))
            if parsed.kind == "replay_end":
                ready += self.open.pop(key).lines
        else:
            ready.append((path, line))  # a line of a replay whose start was never seen
        return ready

    def expired(self) -> list[tuple[Path, Line]]:
        """Replays held longer than `hold_s`: stored as they are (they may never end)."""
        now = time.monotonic()
        old = [k for k, o in self.open.items() if now - o.since > self.hold_s]
        return [item for key in old for item in self.open.pop(key).lines]

    def first_held(self, path: Path) -> tuple[int, int] | None:
        """(byte offset, line number before it) of the earliest held line of `path`."""
        starts = [(ln[2], ln[0] - 1) for o in self.open.values() for p, ln in o.lines if p == path]
        return min(starts) if starts else None


class Follow:
    """Trace files followed together: each pass stores the replays that became whole."""

    def __init__(self, paths: list[Path], hold_s: float = HOLD_S) -> None:
        self.tails = [Tail(p) for p in paths]
        self.held = Held(hold_s)
        self.resumed = False
        self.location = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1})"

    def poll(self, store: Store) -> ImportSummary | None:
        if not self.resumed:
            for tail in self.tails:
                tail.resume(store.marks(str(tail.path), TAIL_MARKS))
            self.resumed = True
        ready: list[tuple[Path, Line]] = []
        for tail in self.tails:
            for line in tail.read():
                ready += self.held.add(tail.path, line)
        ready += self.held.expired()
        if not ready:
            return None
        return self._store(store, ready)

    def _store(self, store: Store, ready: list[tuple[Path, Line]]) -> ImportSummary:
        sources: dict[Path, list[tuple[int, bytes]]] = {}
        for path, (number, raw, _) in ready:
            sources.setdefault(path, []).append((number, raw))
        files = [str(p) for p in sources]
        with store.begin_import(SOURCE_KIND, self.location, {"files": files}) as session:
            counts = import_trace_lines(
                [(str(p), p.name, lines) for p, lines in sources.items()], session, ImportOptions()
            )
            summary = session.finish()
            for tail in self.tails:
                held = self.held.first_held(tail.path)
                session.save_marks(str(tail.path), TAIL_MARKS, tail.cursor(held))
        duplicates = counts.records - counts.new_records
        set_import_counts(store.con, summary.import_id, counts.new_records, duplicates)
        return replace(summary, stored=counts.new_records, duplicates=duplicates)

    def close(self) -> None:
        for tail in self.tails:
            tail.close()
