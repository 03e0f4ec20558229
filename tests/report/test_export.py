"""One figure as PNG or SVG through kaleido and a Chromium; and the error without one."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from forensics.errors import UsageError
from forensics.report import figure_names, write_fleet_figure, write_run_figure
from tests.report.chromium import find_chromium
from tests.report.conftest import DRAIN_SYNC


def test_figure_names() -> None:
    assert figure_names() == ("timeline", "commit-order", "replays", "fences")
    assert figure_names(fleet=True) == (
        "findings-over-time",
        "runs-by-status",
        "event-counts",
        "workflow-anomalies",
        "slowest-steps",
    )


@pytest.mark.chromium
def test_png_and_svg(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH: install Debian's `chromium` package to run this test")
    png = write_run_figure(con, DRAIN_SYNC, "timeline", tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = write_fleet_figure(con, "event-counts", tmp_path / "e.svg")
    text = svg.read_text()
    assert text.startswith("<svg") and "upstream cap: 25,000 events" in text


def test_no_browser_explains_how_to_get_one(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-browser"))
    with pytest.raises(UsageError, match="found no Chromium") as err:
        write_run_figure(con, DRAIN_SYNC, "timeline", tmp_path / "t.png")
    assert err.value.hint is not None and "apt-get install chromium" in err.value.hint
    assert not (tmp_path / "t.png").exists()
