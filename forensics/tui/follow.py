"""Following live sources from the TUI (`forensics open --watch`): the watch loop on a worker.

The `Follower` runs one pass of each source's `Watch` in turn (the same passes as `forensics
watch`: import what is new, re-check the touched runs, announce new findings), every
`interval` seconds, on the app's writable store, from one worker thread. What happens is
handed to a `Listener` (the app, through `call_from_thread`): a pass done (with the runs it
touched and the lag), a new finding, a source lost or back. A source that fails is retried
after a pause that doubles up to a minute, from its saved cursor, while the others go on.
A stop request is honoured between passes, so nothing is left half stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from forensics.errors import SourceError
from forensics.watch.loop import MAX_PAUSE_S, Pass, Settings, Watch

if TYPE_CHECKING:
    from forensics.store import Store
    from forensics.watch.alerts import Alert
    from forensics.watch.sources import Source


class Listener(Protocol):
    def passed(self, location: str, done: Pass) -> None: ...

    def alert(self, alert: Alert) -> None: ...

    def failed(self, location: str, message: str, retry_in: float) -> None: ...

    def back(self, location: str, away: float) -> None: ...


@dataclass
class SourceState:
    """One followed source as the header shows it."""

    location: str
    last_poll: datetime | None = None
    lag: float | None = None
    failing: str = ""
    failures: int = 0
    retry_at: float = 0.0
    away_since: float = 0.0


@dataclass
class Follower:
    store: Store
    sources: Sequence[Source]
    interval: float = 2.0
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    running: threading.Event = field(default_factory=threading.Event)
    states: list[SourceState] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.states = [SourceState(s.location) for s in self.sources]

    def run(self, listener: Listener) -> None:
        """Pass after pass over every source until `stop` is set (on the calling thread)."""
        self.running.set()
        try:
            # `close` sets `stop` before it looks at `running`: a loop that starts after a
            # close has returned sees `stop` here and never touches the store
            if self.stop.is_set():
                return
            watches = [
                Watch(self.store, source, listener.alert, _quiet, Settings(once=True), self.stop)
                for source in self.sources
            ]
            while not self.stop.is_set():
                started = time.monotonic()
                for watch, state in zip(watches, self.states, strict=True):
                    if self.stop.is_set():
                        break
                    if time.monotonic() >= state.retry_at:
                        self._pass(watch, state, listener)
                self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        finally:
            self.finished.set()

    def _pass(self, watch: Watch, state: SourceState, listener: Listener) -> None:
        try:
            watch.run()
        except SourceError as exc:
            if not state.failures:
                state.away_since = time.monotonic()
            state.failures += 1
            pause = min(MAX_PAUSE_S, self.interval * 2 ** (state.failures - 1))
            state.retry_at = time.monotonic() + pause
            state.failing = exc.message
            listener.failed(state.location, exc.message, pause)
            return
        if state.failures:
            listener.back(state.location, time.monotonic() - state.away_since)
            state.failures, state.failing = 0, ""
        state.last_poll = datetime.now(UTC)
        done = watch.last or Pass()
        if done.lag is not None:
            state.lag = done.lag
        listener.passed(state.location, done)

    def header(self) -> str:
        """`watching 2 sources · last poll 12:00:01 · lag 1.2 s` (and what is failing)."""
        polls = [s.last_poll for s in self.states if s.last_poll]
        lags = [s.lag for s in self.states if s.lag is not None]
        what = self.states[0].location if len(self.states) == 1 else f"{len(self.states)} sources"
        parts = [f"watching {what}"]
        parts.append(f"last poll {max(polls):%H:%M:%S}" if polls else "first poll…")
        if lags:
            parts.append(f"lag {max(lags):.1f} s")
        failing = [s for s in self.states if s.failing]
        if failing:
            parts.append(f"{len(failing)} source(s) unreachable, retrying")
        return " · ".join(parts)

    def close(self, wait: float = 60.0) -> bool:
        """Ask the loop to stop after the pass under way; whether it ended within `wait`."""
        self.stop.set()
        return not self.running.is_set() or self.finished.wait(wait)


def _quiet(_: str) -> None:
    """The watch's progress lines: the header and the notifications say it in the TUI."""
