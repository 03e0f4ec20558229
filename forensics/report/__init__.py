"""Reports: self-contained plotly HTML pages about one run or the whole store.

Every figure is built in two steps: an `*_info(con, …)` function returns plain data (what
tests assert on) and an `*_figure(info)` function only draws it; `page.py` is the one HTML
builder. This package is imported only by the CLI and the TUI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from forensics.errors import UsageError
from forensics.report._query import Con
from forensics.report.export import write_figure
from forensics.report.fleet_report import FLEET_FIGURES, write_fleet_report
from forensics.report.run_report import (
    RUN_FIGURES,
    FindingFilter,
    require_run,
    write_run_report,
)

__all__ = [
    "FindingFilter",
    "figure_names",
    "write_fleet_figure",
    "write_fleet_report",
    "write_run_figure",
    "write_run_report",
]


def figure_names(*, fleet: bool = False) -> tuple[str, ...]:
    """The names `--figure` accepts for a run report, or for the fleet report."""
    return tuple(FLEET_FIGURES if fleet else RUN_FIGURES)


def write_run_figure(con: Con, run_id: str, name: str, path: Path) -> Path:
    """One figure of the run report as .png, .svg or a one-figure .html page."""
    if name not in RUN_FIGURES:
        raise UsageError(f"no run figure {name!r}", hint="choose one of: " + ", ".join(RUN_FIGURES))
    require_run(con, run_id)
    fig = RUN_FIGURES[name](con, run_id)
    return write_figure(fig, Path(path), title=f"{name}: run {run_id}", generated_at=_now())


def write_fleet_figure(con: Con, name: str, path: Path, *, since: datetime | None = None) -> Path:
    """One figure of the fleet report as .png, .svg or a one-figure .html page."""
    if name not in FLEET_FIGURES:
        names = ", ".join(FLEET_FIGURES)
        raise UsageError(f"no fleet figure {name!r}", hint=f"choose one of: {names}")
    fig = FLEET_FIGURES[name](con, since)
    return write_figure(fig, Path(path), title=f"{name}: fleet", generated_at=_now())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
