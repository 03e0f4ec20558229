"""`forensics report` on the command line: paths written, errors and their exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.cli import main
from tests.report.conftest import DRAIN_SYNC


def run(db: Path, *args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), "report", *args])
    code = done.value.code
    return int(code) if code is not None else 0


def test_run_report_prints_the_path(
    demo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "incident.html"
    assert run(demo_copy, DRAIN_SYNC[-10:], "-o", str(out)) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{out}\n"
    assert captured.err.startswith(f"forensics: wrote {out} (")
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    # the run was analysed on the way: its findings are in the page
    assert "<dd>anomalous</dd>" in html and 'id="finding-1"' in html


def test_fleet_report_since(demo_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet.html"
    assert run(demo_copy, "--fleet", "--since", "2026-11-01", "-o", str(out)) == 0
    assert "<dd>14 runs of 9 workflows, 272 events</dd>" in out.read_text()


def test_one_figure_as_html(demo_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "fences.html"
    assert run(demo_copy, DRAIN_SYNC, "--figure", "fences", "-o", str(out)) == 0
    assert 'id="fig-figure"' in out.read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "forensics: usage: which run?"),
        ((DRAIN_SYNC, "--fleet"), 2, "forensics: usage: give a RUN or --fleet, not both"),
        ((DRAIN_SYNC, "--since", "2026-01-01"), 2, "forensics: usage: --since applies to --fleet"),
        ((DRAIN_SYNC, "--figure", "pie"), 2, "forensics: usage: no figure 'pie'"),
        (("wrun_nope",), 4, "forensics: input: no run 'wrun_nope' in the store"),
        ((DRAIN_SYNC, "--diff", "r1", "zz"), 2, "forensics: usage: 'zz' is not a replay id"),
        (
            (DRAIN_SYNC, "--figure", "timeline", "-o", "x.gif"),
            2,
            "forensics: usage: cannot tell the image format from 'x.gif'",
        ),
    ],
)
def test_errors_say_what_to_try(
    demo_copy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    fixed = tuple(str(tmp_path / a) if a.endswith(".gif") else a for a in args)
    assert run(demo_copy, *fixed) == code
    err = capsys.readouterr().err
    assert err.startswith(message.replace("'x.gif'", "'x.gif'"))
    assert "\n  try: " in err


def test_a_since_that_is_no_time_names_the_forms(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(demo_copy, "--fleet", "--since", "May") == 2
    err = capsys.readouterr().err
    assert "--since 'May' is not a time; give an ISO-8601 time" in err and "24h, 7d" in err
