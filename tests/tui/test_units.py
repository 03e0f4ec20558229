"""The TUI's pure parts: short names, lane bars, filters and row sources, without a screen."""

from __future__ import annotations

import json

import duckdb

from forensics.demo import SAMPLES_DIR
from forensics.store import Store
from forensics.tui import format as fmt
from forensics.tui.runsdata import RunsSource, event_counts, runs_snapshot, with_event_counts
from forensics.tui.sources import EventsSource, like, runs_where

RUN_IDS = {r["run_id"] for r in json.loads((SAMPLES_DIR / "manifest.json").read_text())["runs"]}


def test_short_names_and_ids() -> None:
    assert fmt.short_name("workflow//./workflows/demo//sequentialWorkflow") == "sequentialWorkflow"
    assert fmt.short_name(None) == ""
    assert fmt.short_names("step//a//drainQueue | step//a//syncInventory") == (
        "drainQueue | syncInventory"
    )
    assert fmt.short_id("step_01KSP9BZCDHNR22RCXDDE6MB2J", 6) == "step_…E6MB2J"
    assert fmt.short_id("evnt_12", 6) == "evnt_12"
    assert fmt.count(0) == "·"
    assert fmt.verdict(None) == "unchecked"


def test_lane_bar_places_events_by_log_position() -> None:
    assert fmt.lane_bar("1:run_created 10:run_completed", 10, 10) == "c────────✓"
    assert fmt.lane_bar("3:step_created 5:step_started 6:step_completed", 10, 10) == ("  c─s✓    ")
    # two events on one cell: the resolution wins over the start
    assert fmt.lane_bar("1:step_created 2:step_started 3:step_failed", 100, 5) == "✗    "
    assert fmt.lane_bar("", 10, 10) == ""


def test_like_escapes_wildcards() -> None:
    assert like("50%_off") == "%50\\%\\_off%"


def test_runs_filter_words(demo_store: Store) -> None:
    cur = demo_store.cursor()
    try:
        snapshot = runs_snapshot(cur)

        def ids(text: str) -> list[str]:
            where, params = runs_where(text)
            source = RunsSource(snapshot, where, params, "run_id")
            return [str(r[0]) for r in source.fetch(cur, 0, 100)]

        assert ids("status:running") == ["wrun_01M7YP121JCEJ8H18WADNSZSWS"]
        assert ids("wf:approval failed") == ["wrun_01KSMVX82Y9SG369YFNN13M2M7"]
        assert ids("nothing-like-this") == []
        assert len(ids("")) == snapshot.num_rows == len(RUN_IDS)
    finally:
        cur.close()


def test_events_source_pages_and_filters(demo_store: Store) -> None:
    run = "wrun_01KSP9BZB4487TXAG8KM4D1H1C"
    cur: duckdb.DuckDBPyConnection = demo_store.cursor()
    try:
        source = EventsSource(run)
        assert source.count(cur) == 14
        assert [r[0] for r in source.fetch(cur, 10, 10)] == [11, 12, 13, 14]
        hooks = EventsSource(run, "hook_")
        assert [(r[0], r[2]) for r in hooks.fetch(cur, 0, 50)] == [
            (3, "hook_created"),
            (8, "hook_received"),
        ]
        assert EventsSource(run, "%").count(cur) == 0
    finally:
        cur.close()


def test_runs_event_counts_are_the_log_lengths(demo_store: Store) -> None:
    _, view = demo_store.query("SELECT run_id, event_count FROM runs ORDER BY run_id")
    cur = demo_store.cursor()
    try:
        snapshot = runs_snapshot(cur)
        paged = RunsSource(snapshot, order="run_id").fetch(cur, 0, 100)
        at = list(snapshot.column_names).index("events")
        assert [(r[0], r[at]) for r in paged] == view
        counted = with_event_counts(cur, snapshot).sort_by("run_id")
        pairs = zip(counted["run_id"].to_pylist(), counted["events"].to_pylist(), strict=True)
        assert list(pairs) == view
        assert event_counts(cur, [view[0][0]]) == {view[0][0]: view[0][1]}
    finally:
        cur.close()
