"""Opening the DuckDB file when another process may hold it, and undoing a file made for nothing.

DuckDB lets one process write a file, or several read it, never both. A command that finds the
store held waits up to `FORENSICS_WAIT` seconds (default 10; the CLI's `--wait`) for the holder
to let go, and then says who holds it (pid and command line) and what to do, in forensics'
own words rather than DuckDB's (whose text suggests options forensics does not have).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from forensics.errors import StoreError, UsageError

if TYPE_CHECKING:
    from forensics.store import Store

DEFAULT_WAIT_S = 10.0
_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def wait_seconds() -> float:
    """How long to wait for a busy store: `FORENSICS_WAIT` (seconds), else 10."""
    text = os.environ.get("FORENSICS_WAIT")
    if not text:
        return DEFAULT_WAIT_S
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            f"FORENSICS_WAIT={text!r} is not a number of seconds", hint="e.g. FORENSICS_WAIT=30"
        ) from None
    return max(value, 0.0)


def holder(message: str) -> str | None:
    """`pid 4242 (forensics open)` from DuckDB's lock error, when it names a process."""
    found = _HOLDER.search(message)
    if found is None:
        return None
    pid = found["pid"]
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    except OSError:
        args = [found["exe"]]
    return f"pid {pid} ({_command(args)})"


def _command(args: list[str]) -> str:
    """The command line, shortened to `forensics …` when it is one of ours."""
    for i, arg in enumerate(args):
        if Path(arg).name == "forensics" or arg.endswith("forensics.cli") or arg == "forensics":
            return " ".join(["forensics", *args[i + 1 :]])[:120]
    return " ".join(args)[:120] or "unknown command"


def is_lock_error(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower() and isinstance(exc, duckdb.IOException)


def connect(
    path: Path,
    *,
    read_only: bool,
    wait: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """A connection to `path`, waiting up to `wait` seconds while another process holds it."""
    budget = wait_seconds() if wait is None else wait
    deadline = time.monotonic() + budget
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise StoreError(
                    f"cannot open {path}: {str(exc).splitlines()[0]}",
                    hint="is it a DuckDB store written by forensics? pass --db to choose another",
                ) from exc
            if time.monotonic() >= deadline:
                raise busy_error(path, exc, budget, read_only) from exc
        sleep(pause)
        pause = min(pause * 2, 0.5)


def busy_error(path: Path, exc: duckdb.Error, waited: float, read_only: bool) -> StoreError:
    who = holder(str(exc)) or "another process"
    holds = "is writing it" if read_only else "has it open"
    doing = "read" if read_only else "write"
    return StoreError(
        f"{path} is busy: {who} {holds}, so this command cannot {doing} it (waited {waited:g} s)",
        hint="wait for that command to finish and run this again, or give it longer with"
        " --wait SECONDS (env FORENSICS_WAIT); an open `forensics open` never holds it for long",
    )


@contextmanager
def writing(path: Path) -> Iterator[Store]:
    """The store for an import: a file this call creates is removed again when the command
    fails before recording any import in it, so a mistyped path leaves no empty store behind."""
    from forensics.store import Store

    fresh = not path.exists()
    store = Store(path)
    try:
        yield store
    except BaseException:
        unused = fresh and _no_imports(store)
        store.close()
        if unused:
            for suffix in ("", ".wal"):
                with suppress(OSError):
                    Path(f"{path}{suffix}").unlink()
        raise
    store.close()


def _no_imports(store: Store) -> bool:
    try:
        row = store.con.execute("SELECT count(*) FROM imports").fetchall()[0]
    except duckdb.Error:
        return False
    return int(row[0]) == 0


class StoreReader:
    """Read access that holds the file only while the reader is busy (the TUI's way in).

    Each `cursor()` is a read-only connection of its own. While queries come, one more
    connection keeps DuckDB's copy of the database (and its cache) alive between them; after
    `linger` seconds without a new cursor it is closed, and once the last cursor is closed
    too DuckDB lets go of the file, so an import or a check waiting for it (`--wait`) gets
    in. A cursor asked for while a writer holds the store waits for it like any command.
    """

    LINGER_S = 1.5

    def __init__(self, path: Path, *, wait: float | None = None, linger: float = LINGER_S) -> None:
        from forensics.store import Store

        self.path = path
        self.wait = wait
        self.linger = linger
        self._lock = threading.Lock()
        self._keeper: duckdb.DuckDBPyConnection | None = None
        self._last_use = 0.0
        with Store(path, read_only=True, wait=wait):
            pass  # a missing or unreadable store fails here, before any screen opens
        self.seen = self.fingerprint()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        from forensics.store import configure

        with self._lock:
            if self._keeper is None:
                self._keeper = connect(self.path, read_only=True, wait=self.wait)
                threading.Thread(target=self._release_when_idle, daemon=True).start()
            self._last_use = time.monotonic()
        # a connection of its own (not a cursor of the keeper's, which closing the keeper
        # would close too); DuckDB shares the open database between them
        con = connect(self.path, read_only=True, wait=self.wait)
        configure(con, read_only=True, path=Path(self.path))
        return con

    def _release_when_idle(self) -> None:
        while True:
            time.sleep(self.linger / 3)
            with self._lock:
                if time.monotonic() - self._last_use >= self.linger and self._keeper:
                    self._keeper.close()
                    self._keeper = None
                    return

    def holding(self) -> bool:
        """Whether the reader keeps the database open right now (between queries)."""
        with self._lock:
            return self._keeper is not None

    def close(self) -> None:
        with self._lock:
            if self._keeper is not None:
                self._keeper.close()
                self._keeper = None

    def fingerprint(self) -> tuple[int, int, int]:
        """Size and modification time of the file and its WAL: they move when a writer commits."""
        stamps = []
        for suffix in ("", ".wal"):
            try:
                stat = Path(f"{self.path}{suffix}").stat()
            except OSError:
                stamps.append((0, 0))
                continue
            stamps.append((stat.st_mtime_ns, stat.st_size))
        return (stamps[0][0], stamps[0][1], hash(stamps[1]))

    def changed(self) -> bool:
        """Whether a writer changed the store since the last `mark_seen`."""
        return self.fingerprint() != self.seen

    def mark_seen(self) -> None:
        self.seen = self.fingerprint()
