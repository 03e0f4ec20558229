"""Benchmark: the TUI (headless `run_test`) against the plain queries behind its screens.

On a store of 1,000 runs / 5M events with one 25,000-event run (the analysis benchmark's
store, `bench/out/check-store.duckdb`, copied; or, when it is absent, a smaller one built
here from `bench/synth.py`), this times, as medians of `--repeat` rounds:

* the runs list: app start to the first frame showing runs; then sorting by event count
  (which counts every run's events); baseline `list_runs` (`forensics runs`: the view);
* opening the 25,000-event run: `open_run` to the first frame showing its first page, and
  to everything settled; baselines the first page's SQL and `run_events` (every row);
* End in that run: the End action to the frame showing the last page; baseline the last
  page's SQL;
* memory: peak Python allocation (tracemalloc) while opening and scrolling, and how many
  rows the events table holds, against the rows of the run;
* the same figures with a connection opened per query (`StoreReader`, as `forensics open`
  runs, so writers are not locked out), against the store held open;
* a failed run's story: on the 25,000-event run with 200 traced replays of `bench/story.py`
  (its store, checked; built here when absent), Enter on the runs list to the frame showing
  the story's headline and root cause (target 1 s), as `forensics open` runs; baseline the
  library call behind it (`run_story` over the stored findings) in process.

    python bench/tui.py [--repeat 3] [--store PATH] [--story-only]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from synth import synth_run

from forensics.browse import list_runs, run_events
from forensics.importers.run import import_paths
from forensics.store import Store
from forensics.store.opening import StoreReader
from forensics.tui.app import ForensicsApp
from forensics.tui.findings import load_findings
from forensics.tui.screens.run import RunScreen
from forensics.tui.screens.runs import RunsScreen
from forensics.tui.storydata import run_story
from forensics.tui.widgets.paged_table import PAGE_ROWS, PagedTable
from forensics.tui.widgets.story_banner import StoryBanner

OUT = Path(__file__).resolve().parent / "out"
SHARED = OUT / "check-store.duckdb"
OWN = OUT / "tui-store.duckdb"
STORY = OUT / "story.duckdb"  # bench/story.py's run, checked
SIZE = (120, 40)
IDLE = 0.5  # seconds without a frame after which the app is taken to be idle
PAGE_SQL = (
    "SELECT log_position, event_id, event_type, correlation_id, created_at FROM run_log"
    " WHERE run_id = ? ORDER BY log_position LIMIT 200 OFFSET ?"
)


def store_path(given: Path | None) -> Path:
    """A store of our own to read: a copy of the analysis benchmark's, or one built here."""
    if given is not None:
        return given
    if SHARED.exists():
        copy = OUT / "tui-check-store.duckdb"
        if not copy.exists() or copy.stat().st_mtime < SHARED.stat().st_mtime:
            shutil.copyfile(SHARED, copy)  # the analysis benchmark may hold the original
        return copy
    if not OWN.exists():
        build_own(OWN, runs=200)
    return OWN


def build_own(db: Path, runs: int) -> None:
    """`runs` runs of 5,000 events and one of 25,000 (a smaller stand-in, said so below)."""
    import random

    OUT.mkdir(parents=True, exist_ok=True)
    source = OUT / "tui-events.jsonl"
    rng = random.Random(11)
    with source.open("wb") as fh:
        for index in range(runs):
            for event in synth_run(index, 5000, rng):
                fh.write(orjson.dumps(event) + b"\n")
        for event in synth_run(runs, 25_000, rng):
            fh.write(orjson.dumps(event) + b"\n")
    with Store(db) as store:
        import_paths(store, [source])
    source.unlink()


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Frames:
    """When the app composed each frame: its `_display` hook is called once per frame, with
    the lines already drawn (headless runs skip only the terminal write)."""

    def __init__(self, app: ForensicsApp) -> None:
        self.times: list[float] = []
        shown = app._display

        def display(*args: Any) -> None:
            self.times.append(time.perf_counter())
            shown(*args)

        app._display = display  # type: ignore[method-assign,assignment]

    async def drawn(self, ready: Callable[[], bool], since: float, limit: float = 60.0) -> float:
        """Seconds from `since` to the first frame composed once `ready()` holds.

        When no frame follows for a while, the app drew it before the poll saw it and went
        idle: the last frame before the poll is the one that showed it."""
        while not ready():
            await asyncio.sleep(0.001)
            if time.perf_counter() - since > limit:
                raise SystemExit("the TUI did not get there in time")
        at = time.perf_counter()
        while not any(t >= at for t in self.times):
            await asyncio.sleep(0.001)
            if time.perf_counter() - at > IDLE and any(since <= t < at for t in self.times):
                return max(t for t in self.times if since <= t < at) - since
        return min(t for t in self.times if t >= at) - since


async def runs_figures(
    app: ForensicsApp, frames: Frames, pilot: Any, started: float
) -> dict[str, float]:
    """The runs list drawn after start, and sorted by event count."""

    def listed() -> bool:
        screen = app.screen
        return isinstance(screen, RunsScreen) and (
            screen.query_one(PagedTable).row_at(0) is not None
        )

    shown = await frames.drawn(listed, started)
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    await pilot.pause()
    started = time.perf_counter()
    screen._sort_by("events")
    sorted_ = await frames.drawn(lambda: screen.counted and listed(), started)
    await pilot.pause()
    return {"runs list": shown, "sorted by events": sorted_}


async def run_figures(app: ForensicsApp, frames: Frames, pilot: Any, big: str) -> dict[str, float]:
    """The big run: its first page drawn, all settled, End drawn, rows held."""

    def events_table() -> PagedTable | None:
        found = app.screen.query("#events-table")
        return found.first(PagedTable) if found else None

    def first_page() -> bool:
        table = events_table()
        return table is not None and table.total is not None and table.row_at(0) is not None

    figures: dict[str, float] = {}
    started = time.perf_counter()
    app.open_run(big)
    figures["open run"] = await frames.drawn(first_page, started)
    await pilot.pause()  # the detail pane, header and findings follow the first page
    figures["open run settled"] = time.perf_counter() - started
    table = events_table()
    assert table is not None and table.total is not None
    last = table.total - 1
    started = time.perf_counter()
    table.action_jump(-1)  # what End does
    figures["end"] = await frames.drawn(lambda: table.row_at(last) is not None, started)
    await pilot.pause()
    figures["rows held"] = float(sum(len(rows) for rows in table._state.pages.values()))
    figures["rows"] = float(table.total)
    return figures


async def one_round(
    store: Store | StoreReader, big: str, *, memory: bool = False
) -> dict[str, float]:
    """One pass through the figures; `memory` traces allocations (which slows Python)."""
    app = ForensicsApp(store)
    frames = Frames(app)
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        figures = await runs_figures(app, frames, pilot, started)
        if memory:
            tracemalloc.start()
        figures |= await run_figures(app, frames, pilot, big)
        if memory:
            figures["peak MiB"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    return figures


def baselines(store: Store, big: str, size: int, repeat: int) -> dict[str, float]:
    """The plain calls the figures are compared with, timed the same way."""
    last = (size - 1) // PAGE_ROWS * PAGE_ROWS
    return {
        "list": timed(lambda: list_runs(store), repeat),
        "all": timed(lambda: run_events(store, big), repeat),
        "first": timed(lambda: store.query(PAGE_SQL, [big, 0]), repeat),
        "last": timed(lambda: store.query(PAGE_SQL, [big, last]), repeat),
    }


def report(fig: dict[str, float], base: dict[str, float]) -> None:
    print(
        f"runs list shown (app start to first page): {fig['runs list']:.2f} s (target 1 s);"
        f" baseline list_runs {base['list']:.2f} s = {fig['runs list'] / base['list']:.2f}x;"
        f" sorting by event count (counts every run): {fig['sorted by events']:.2f} s"
    )
    print(
        f"open run, first page drawn: {fig['open run']:.3f} s (target 0.5 s); everything"
        f" settled (detail pane, header, findings): {fig['open run settled']:.3f} s; baseline"
        f" first-page SQL {base['first']:.3f} s = {fig['open run'] / base['first']:.1f}x,"
        f" run_events (all rows) {base['all']:.3f} s = {fig['open run'] / base['all']:.2f}x"
    )
    print(
        f"End, last page: {fig['end']:.3f} s (target 0.3 s); baseline last-page SQL"
        f" {base['last']:.3f} s = {fig['end'] / base['last']:.1f}x"
    )
    print(
        f"memory: peak {fig['peak MiB']:.1f} MiB allocated while opening and scrolling;"
        f" {fig['rows held']:,.0f} of {fig['rows']:,.0f} rows held"
    )


def story_store() -> Path:
    """`bench/story.py`'s store (its run checked), built the same way when absent."""
    if not STORY.exists():
        from replays import RUN
        from story import build

        from forensics.analysis.engine import check

        build(STORY)
        with Store(STORY) as store:
            check(store, run_ids=[RUN])
    return STORY


async def story_round(db: Path) -> dict[str, float]:
    """Enter on the runs list (its one run) to the first page, then to the story drawn.

    The banner is shown in one step (its update, then the cursor onto the root cause) and
    the app may draw it before a poll sees it: the moment it was shown is taken from the
    banner itself, and the figure is the first frame composed at or after it."""
    app = ForensicsApp(StoreReader(db))
    frames = Frames(app)
    shown_at: list[float] = []
    show = StoryBanner.show_story

    def showing(banner: StoryBanner, story: Any) -> None:
        show(banner, story)
        if banner.has_class("shown"):
            shown_at.append(time.perf_counter())

    StoryBanner.show_story = showing  # type: ignore[method-assign,assignment]
    try:
        async with app.run_test(size=SIZE) as pilot:

            def listed() -> bool:
                screen = app.screen
                return isinstance(screen, RunsScreen) and (
                    screen.query_one(PagedTable).row_at(0) is not None
                )

            def first_page() -> bool:
                screen = app.screen
                if not isinstance(screen, RunScreen):
                    return False
                found = screen.query("#events-table")
                return bool(found) and found.first(PagedTable).row_at(0) is not None

            await frames.drawn(listed, time.perf_counter())
            await pilot.pause()
            started = time.perf_counter()
            await pilot.press("enter")
            figures = {"first page": await frames.drawn(first_page, started)}
            while not shown_at or not any(t >= shown_at[0] for t in frames.times):
                await asyncio.sleep(0.001)
                if time.perf_counter() - started > 60:
                    raise SystemExit("the TUI did not show the story in time")
            figures["story"] = min(t for t in frames.times if t >= shown_at[0]) - started
            screen = app.screen
            assert isinstance(screen, RunScreen)
            while screen.story is None:  # the rest of the story (for `m`) follows the banner
                await asyncio.sleep(0.001)
            figures["whole story"] = time.perf_counter() - started
            await pilot.pause()
    finally:
        StoryBanner.show_story = show  # type: ignore[method-assign]
    return figures


def story_figures(repeat: int) -> None:
    db = story_store()
    with Store(db, read_only=True) as store:
        run_id = str(store.query("SELECT run_id FROM runs LIMIT 1")[1][0][0])
        size = int(store.query("SELECT count(*) FROM run_log WHERE run_id = ?", [run_id])[1][0][0])

        def library() -> None:
            cur = store.cursor()
            findings, _note = load_findings(store, cur, run_id)
            run_story(cur, run_id, findings)
            cur.close()

        base = timed(library, repeat)
    rounds = [asyncio.run(story_round(db)) for _ in range(repeat)]
    fig = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(
        f"story of {run_id} ({size:,} events, traced replays) after Enter on the runs list:"
        f" {fig['story']:.3f} s (target 1 s); first page {fig['first page']:.3f} s; the whole"
        f" story (for m) {fig['whole story']:.3f} s; baseline"
        f" run_story in process {base:.3f} s = {fig['story'] / base:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds per figure (median)")
    parser.add_argument("--store", type=Path, help="a store to use instead")
    parser.add_argument("--story-only", action="store_true", help="only the story figure")
    args = parser.parse_args()
    story_figures(args.repeat)
    if args.story_only:
        return
    db = store_path(args.store)
    with Store(db, read_only=True) as store:
        (runs, events), *_ = store.query("SELECT count(DISTINCT run_id), count(*) FROM events")[1]
        biggest = "SELECT run_id FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        big = str(store.query(biggest)[1][0][0])
        size = int(store.query("SELECT count(*) FROM run_log WHERE run_id = ?", [big])[1][0][0])
        print(f"store {db.name}: {runs:,} runs, {events:,} events; big run {big}: {size:,}")
        base = baselines(store, big, size, args.repeat)
        rounds = [asyncio.run(one_round(store, big)) for _ in range(args.repeat)]
        traced = asyncio.run(one_round(store, big, memory=True))
    fig = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    fig["peak MiB"] = traced["peak MiB"]
    report(fig, base)
    per_query = [asyncio.run(one_round(StoreReader(db), big)) for _ in range(args.repeat)]
    opened = {k: statistics.median(r[k] for r in per_query) for k in per_query[0]}
    print(
        "a connection per query (as `forensics open`) vs the store held open: "
        + "; ".join(
            f"{name} {opened[key]:.3f} s vs {fig[key]:.3f} s = {opened[key] / fig[key]:.2f}x"
            for key, name in (
                ("runs list", "runs list"),
                ("open run", "open run"),
                ("open run settled", "settled"),
                ("end", "End"),
            )
        )
    )


if __name__ == "__main__":
    main()
