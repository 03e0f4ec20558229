"""`forensics open`: the store and the run are checked before any screen is drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.cli import main
from forensics.errors import EXIT_INPUT, EXIT_STORE


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    code = done.value.code
    return int(code) if isinstance(code, int) else 0, capsys.readouterr().err


def test_open_without_a_store_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(["--db", str(tmp_path / "none.duckdb"), "open"], capsys)
    assert code == EXIT_STORE
    assert err.splitlines() == [
        f"forensics: store: no store at {tmp_path / 'none.duckdb'}",
        "  try: import something first (`forensics import json PATH`) or pass --db",
    ]


def test_open_an_unknown_run_fails_before_the_ui(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(["--db", str(demo_db), "open", "wrun_nosuchrun"], capsys)
    assert code == EXIT_INPUT
    assert err.splitlines()[0] == "forensics: input: no run 'wrun_nosuchrun' in the store"


def test_demo_no_tui_only_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.duckdb"
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), "demo", "--no-tui"])
    assert done.value.code == 0
    assert "wrun_…4D1H1C" in capsys.readouterr().out  # ids shortened to their unique end
