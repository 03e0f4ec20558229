"""The reports open in a real headless Chromium with the network cut off: every figure is
drawn, nothing is logged as an error, no request leaves the page, and the axis buttons work."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from forensics.report import write_fleet_report, write_run_report
from tests.report.chromium import Chromium, find_chromium
from tests.report.conftest import DRAIN_SYNC

pytestmark = pytest.mark.chromium

RENDERED = """(() => {
  const divs = Array.from(document.querySelectorAll('div.plotly-graph-div'));
  const drawn = divs.filter(d => d._fullLayout && d.querySelector('svg.main-svg g.subplot')
    && d.querySelectorAll('g.trace').length === d.data.length);
  return [divs.length, drawn.length];
})()"""
CLICK_ALL_BUTTONS = """(() => Array.from(document.querySelectorAll('g.updatemenu-button'))
  .map(b => { b.dispatchEvent(new MouseEvent('click', {bubbles: true})); return b.textContent; })
)()"""
AXIS_TYPES = """Array.from(document.querySelectorAll('div.plotly-graph-div'))
  .map(d => [d.id, d._fullLayout.xaxis.type, d._fullLayout.yaxis.type])"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium on PATH: install Debian's `chromium` package to run this test")
    return path


def open_report(exe: str, page: Path) -> Chromium:
    browser = Chromium(exe)
    browser.open_page()
    browser.navigate(page)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        total, drawn = browser.evaluate(RENDERED)
        if total and total == drawn:
            break
        time.sleep(0.2)
    return browser


def test_run_report_renders_offline(
    chromium: str, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    page = write_run_report(con, DRAIN_SYNC, tmp_path / "run.html", diff=("r4", "r5"))
    with open_report(chromium, page) as browser:
        assert browser.evaluate(RENDERED) == [5, 5]
        assert browser.evaluate(AXIS_TYPES) == [
            ["fig-timeline", "date", "category"],
            ["fig-commit-order", "linear", "date"],
            ["fig-replays", "date", "linear"],
            ["fig-fences", "linear", "linear"],
            ["fig-diff", "linear", "linear"],
        ]
        clicked = browser.evaluate(CLICK_ALL_BUTTONS)
        assert clicked == [
            "x = createdAt",
            "x = log position",
            "y = write time",
            "y = commit order",
            "x = time",
            "x = replay order",
        ]
        time.sleep(0.5)
        # the last button of each figure won: positions and orders instead of times
        assert browser.evaluate(AXIS_TYPES)[:3] == [
            ["fig-timeline", "linear", "category"],
            ["fig-commit-order", "linear", "linear"],
            ["fig-replays", "linear", "linear"],
        ]
        assert browser.console_errors() == []
        assert browser.network_requests() == []


def test_fleet_report_renders_offline(
    chromium: str, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    page = write_fleet_report(con, tmp_path / "fleet.html")
    with open_report(chromium, page) as browser:
        assert browser.evaluate(RENDERED) == [5, 5]
        assert browser.console_errors() == []
        assert browser.network_requests() == []


def test_the_harness_sees_a_network_request(chromium: str, tmp_path: Path) -> None:
    """The two checks above can fail: a page that fetches is caught and the fetch fails."""
    page = tmp_path / "fetching.html"
    page.write_text('<html><body><img src="http://203.0.113.9/x.png"></body></html>')
    with Chromium(chromium) as browser:
        browser.open_page()
        browser.navigate(page)
        assert browser.network_requests() == ["http://203.0.113.9/x.png"]
        assert browser.console_errors() != []


def test_the_story_and_its_swimlane_render_first(
    chromium: str, demo_copy: Path, tmp_path: Path
) -> None:
    """A checked run's report opens on its story; the swimlane starts on the critical window."""
    from forensics.analysis.engine import check
    from forensics.store import Store

    with Store(demo_copy) as store:
        check(store, run_ids=[DRAIN_SYNC])
        page = write_run_report(store.con, DRAIN_SYNC, tmp_path / "story.html")
    with open_report(chromium, page) as browser:
        assert browser.evaluate(RENDERED) == [5, 5]  # the swimlane and the four figures
        first = browser.evaluate("document.querySelector('main section').id")
        assert first == "story"
        lanes = browser.evaluate(
            "document.getElementById('fig-story')._fullLayout.yaxis._categories"
        )
        assert "r3" in lanes and "outside" in lanes
        top = browser.evaluate(
            "document.getElementById('fig-story').getBoundingClientRect().top + window.scrollY"
        )
        assert top < 2500  # the first figure is near the top, not 8,600 px down
        assert browser.console_errors() == []
        assert browser.network_requests() == []
