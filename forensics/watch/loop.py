"""The watch loop: pass after pass, import, re-check the touched runs, announce new findings.

A pass that fails because of the source (unreachable, dropped connection, timeout,
throttling) is retried after a pause that doubles up to `MAX_PAUSE_S`, from the cursor the
last finished import saved; the first pass that works again says how long the source was
away. A stop request (`stop` set by a signal handler) is honoured between passes, so an
import is never cut short by it. Alerts are emitted before they are recorded as announced
(see `store.alerts`): a watch killed in between announces them again, never loses them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from forensics.analysis.engine import check
from forensics.errors import SourceError
from forensics.model import ImportSummary
from forensics.store import Store
from forensics.store.alerts import (
    has_baseline,
    mark_announced,
    take_baseline,
    unannounced,
    watch_source,
)
from forensics.watch.alerts import Alert, alert_of, at_least
from forensics.watch.memory import give_back

if TYPE_CHECKING:
    from forensics.watch.sources import Source

MAX_PAUSE_S = 60.0
# import notes worth a line on stderr while watching: late commits and the cursor's doubts
_TOLD = ("watch: ", "committed late", "not exact", "more events than", "fewer events", "deleted")


@dataclass(frozen=True)
class Settings:
    interval: float = 2.0  # seconds from the start of one pass to the start of the next
    once: bool = False
    min_severity: str = "info"
    announce_existing: bool = False  # the first pass announces what the store already had


@dataclass
class Pass:
    """What one pass did, for the progress line."""

    stored: int = 0
    runs: int = 0
    alerts: int = 0
    seconds: float = 0.0
    lag: float | None = None  # from the newest stored event's creation to the pass's end
    touched: tuple[str, ...] = ()  # the runs it re-checked


class Watch:
    def __init__(
        self,
        store: Store,
        source: Source,
        emit: Callable[[Alert], None],
        say: Callable[[str], None],
        settings: Settings | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.emit = emit
        self.say = say
        self.settings = settings or Settings()
        self.stop = stop or threading.Event()
        self.state = watch_source(f"{source.kind}:{source.location}")
        self.passes = 0
        self.alerts = 0
        self.last: Pass | None = None  # what the last finished pass did

    def run(self) -> None:
        """Pass after pass until stopped (or once); a source error with `once` is raised."""
        failures, away = 0, 0.0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                summaries = self.source.poll(self.store)
            except SourceError as exc:
                if self.settings.once:
                    raise
                failures += 1
                pause = min(MAX_PAUSE_S, self.settings.interval * 2 ** (failures - 1))
                away += time.monotonic() - started + pause
                self.say(
                    f"source failed: {exc.message}; retrying in {pause:.0f} s (attempt"
                    f" {failures}); what was imported is kept, the retry resumes from there"
                )
                self.stop.wait(pause)
                continue
            if failures:
                self.say(
                    f"reconnected to {self.source.location} after {away:.0f} s and {failures}"
                    " failed attempt(s); resumed from the saved cursor"
                )
                failures, away = 0, 0.0
            done = self._after(summaries, started)
            self.last = done
            self._progress(done, summaries)
            if summaries:
                give_back(self.store)
            if self.settings.once:
                return
            self.stop.wait(max(0.0, self.settings.interval - (time.monotonic() - started)))

    def _after(self, summaries: Sequence[ImportSummary], started: float) -> Pass:
        first = self.passes == 0 and not has_baseline(self.store, self.state)
        self.passes += 1
        done = Pass(stored=sum(s.stored for s in summaries))
        touched = touched_runs(self.store, summaries)
        done.runs, done.touched = len(touched), tuple(touched)
        if first:
            self.say(
                "first pass on this store: checking every run (as `forensics check` does) to"
                " know which findings exist already; on a large store this takes a while"
            )
            check(self.store)  # every run: what is there already is the baseline
        elif touched:
            check(self.store, run_ids=touched)
        if first and not self.settings.announce_existing:
            n = take_baseline(self.store, self.state, datetime.now(UTC))
            self.say(
                f"watching {self.source.location}: {n} finding(s) already in the store are"
                " not announced (`forensics check` lists them); new ones will be"
            )
        else:
            done.alerts = self._announce()
        done.lag = newest_lag(self.store, summaries)
        done.seconds = time.monotonic() - started
        return done

    def _announce(self) -> int:
        pending = unannounced(self.store, self.state)
        now = datetime.now(UTC)
        shown = 0
        for row in pending:
            if at_least(str(row["severity"]), self.settings.min_severity):
                self.emit(alert_of(row, now))
                shown += 1
        # below --min-severity counts as seen: a later restart does not bring them up
        mark_announced(self.store, self.state, [str(r["finding_id"]) for r in pending], now)
        self.alerts += shown
        return shown

    def _progress(self, done: Pass, summaries: Sequence[ImportSummary]) -> None:
        at = datetime.now(UTC).strftime("%H:%M:%S")
        if not summaries:
            what = "no writes since the last pass"
        else:
            what = f"{done.stored} event(s) stored, {done.runs} run(s) re-checked"
        lag = f", lag {done.lag:.1f} s" if done.lag is not None else ""
        self.say(
            f"{at} pass {self.passes}: {what}, {done.alerts} new finding(s){lag}"
            f" ({done.seconds:.2f} s)"
        )
        for s in summaries:
            for note in s.notes:
                if any(mark in note for mark in _TOLD):
                    self.say(f"  {note.removeprefix('watch: ')}")


def touched_runs(store: Store, summaries: Sequence[ImportSummary]) -> list[str]:
    """Runs to which these imports added events, run rows or entity rows."""
    ids = [s.import_id for s in summaries if s.stored or s.conflicts or s.runs or s.entities]
    if not ids:
        return []
    _, rows = store.query(
        "SELECT run_id FROM events WHERE import_id IN (SELECT unnest($1::INTEGER[]))"
        " UNION SELECT run_id FROM run_records WHERE import_id IN (SELECT unnest($1::INTEGER[]))"
        " UNION SELECT run_id FROM entities WHERE import_id IN (SELECT unnest($1::INTEGER[]))"
        " UNION SELECT run_id FROM trace_replays"
        " WHERE import_id IN (SELECT unnest($1::INTEGER[])) ORDER BY 1",
        [ids],
    )
    return [str(r[0]) for r in rows]


def newest_lag(store: Store, summaries: Sequence[ImportSummary]) -> float | None:
    """Seconds from the creation of the newest event these imports stored until now."""
    ids = [s.import_id for s in summaries if s.stored]
    if not ids:
        return None
    _, rows = store.query(
        "SELECT max(created_at) FROM events WHERE import_id IN (SELECT unnest($1::INTEGER[]))",
        [ids],
    )
    newest = rows[0][0] if rows else None
    if not isinstance(newest, datetime):
        return None
    return max(0.0, (datetime.now(UTC) - newest.astimezone(UTC)).total_seconds())
