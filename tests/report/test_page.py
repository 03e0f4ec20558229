"""The HTML builder: self-contained, escaped, anchored; and the run/fleet pages built on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from forensics.errors import InputError
from forensics.report import write_fleet_report, write_run_report
from forensics.report.page import Card, Link, Page, Section, Table, render_page, write_page
from tests.report.conftest import DRAIN_SYNC

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_page_escapes_log_text_and_inlines_plotly_once() -> None:
    page = Page(
        title="Run <wrun_x>",
        facts=(("workflow", "<script>alert(1)</script>"), ("events", 25_000)),
        sections=(
            Section(
                "timeline",
                "Timeline",
                "a & b",
                figures=(go.Figure(go.Scatter(x=[1], y=[1])),),
                tables=(Table(("a", "b"), (("<b>", 1.5), (Link("see", "#timeline"), None))),),
                cards=(
                    Card("f1", "error", "#d62728", "code <x>", ("Let <a>…",), (Link("t", "#t"),)),
                ),
            ),
        ),
        generated_at="2026-11-21 12:00:00Z",
    )
    html = render_page(page)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<td>&lt;b&gt;</td>" in html
    assert '<td class="num">1.50</td>' in html and "<dd>25,000</dd>" in html
    assert html.count("Plotly.newPlot") == 1  # one figure
    assert 'id="fig-timeline"' in html and 'href="#timeline"' in html
    # our own markup names no network address (the browser test checks plotly.js itself)
    assert html.count(get_plotlyjs()) == 1
    assert not re.search(r'(src|href)="(https?:)?//', html.replace(get_plotlyjs(), ""))


def test_unwritable_target_says_what_to_try(tmp_path: Path) -> None:
    page = Page("x", (), (), "now")
    with pytest.raises(InputError, match="cannot write the report") as err:
        write_page(page, tmp_path / "missing" / "x.html")
    assert err.value.hint == "check that the folder exists and is writable, or pass another -o"


def test_run_report_has_every_section(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = write_run_report(con, DRAIN_SYNC, tmp_path / "run.html", diff=("r4", "r5"), now=NOW)
    html = out.read_text()
    ids = re.findall(r'<section id="([^"]+)"', html)
    assert ids == ["story", "findings", "timeline", "commit-order", "replays", "fences", "diff"]
    # not checked yet: the story says so in a line, without a swimlane
    assert re.findall(r'<div id="(fig-[^"]+)"', html) == [f"fig-{i}" for i in ids[2:]]
    assert "<dt>generated</dt><dd>2026-11-21 12:00:00Z</dd>" in html
    assert "<dd>failed</dd>" in html
    assert out.stat().st_size < 8_000_000


def test_unknown_run_is_an_input_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no run 'wrun_nope' in the store"):
        write_run_report(con, "wrun_nope", tmp_path / "x.html")


def test_fleet_report_sections(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = write_fleet_report(con, tmp_path / "fleet.html", store_name="demo.duckdb", now=NOW)
    html = out.read_text()
    assert re.findall(r'<section id="([^"]+)"', html) == [
        "to-read",
        "findings-over-time",
        "runs-by-status",
        "event-counts",
        "workflow-anomalies",
        "slowest-steps",
    ]
    assert "No run has been analysed yet: run `forensics check`" in html.replace("&#x27;", "'")
    assert "<dd>20 runs of 12 workflows, 539 events</dd>" in html
