"""A run's story for the TUI, built from what `forensics check` stored (read-only).

The run screen asks for it once its findings are in: failed or anomalous runs open on the
story's root cause. Where to put a Markdown copy of it is decided here too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from forensics.errors import UsageError
from forensics.model import Finding, Story
from forensics.replay.story import build_story
from forensics.replay.story_text import story_markdown
from forensics.store.findings import run_results


def run_story(
    cur: duckdb.DuckDBPyConnection, run_id: str, findings: list[Finding], *, full: bool = True
) -> Story:
    """The story over the findings the screen already holds (and the stored verdict); its
    head only with `full=False` (see `build_story`)."""
    _stored, verdict = run_results(cur, run_id)
    return build_story(cur, run_id, findings, verdict, full=full)


def write_markdown(story: Story, folder: Path = Path()) -> Path:
    """`RUN.story.md` in `folder` (the current one by default)."""
    path = folder / f"{story.run_id}.story.md"
    path.write_text(story_markdown(story), encoding="utf-8")
    return path


def reference(run_id: str, position: int | None) -> str:
    """What `y` copies: `wrun_…#131` (the run alone without a position)."""
    return f"{run_id}#{position}" if position else run_id


def write_report(cur: duckdb.DuckDBPyConnection, run_id: str, path: Path) -> Path:
    """The run's HTML report (what `forensics report RUN` writes)."""
    try:
        from forensics.report import write_run_report
    except ImportError as exc:
        raise UsageError(
            f"reports need plotly ({exc.name} is missing)", hint="pip install 'forensics[report]'"
        ) from exc
    return write_run_report(cur, run_id, path)
