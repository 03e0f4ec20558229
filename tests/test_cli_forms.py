"""One reading per kind of value: times for every --since, "did you mean" for commands,
workflow names and run ids, and run-id completion from the store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from forensics.cli import main
from forensics.demo import SAMPLES_DIR, build_demo_store
from forensics.errors import UsageError
from forensics.shortids import short_id, unique_end
from forensics.store import Store
from forensics.timespec import parse_duration, parse_moment

MANIFEST = json.loads((SAMPLES_DIR / "manifest.json").read_text())
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-05-28T19:42:19Z", datetime(2026, 5, 28, 19, 42, 19, tzinfo=UTC)),
        ("2026-05-28T19:42:19", datetime(2026, 5, 28, 19, 42, 19, tzinfo=UTC)),
        ("2026-05-28 19:42:19.123", datetime(2026, 5, 28, 19, 42, 19, 123000, tzinfo=UTC)),
        ("2026-05-28", datetime(2026, 5, 28, tzinfo=UTC)),
        ("2026-05-28T21:42:19+02:00", datetime(2026, 5, 28, 19, 42, 19, tzinfo=UTC)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(weeks=2)),
    ],
)
def test_every_time_form_is_read(text: str, moment: datetime) -> None:
    assert parse_moment(text, now=NOW) == moment


def test_what_is_not_a_time_says_which_forms_are() -> None:
    with pytest.raises(UsageError, match="'yesterday' is not a time"):
        parse_moment("yesterday", "--since")
    with pytest.raises(UsageError, match="not a duration"):
        parse_duration("soon")
    assert parse_duration("90") == timedelta(seconds=90)  # a bare number is seconds


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("forms") / "demo.duckdb"
    build_demo_store(path)[0].close()
    return str(path)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


@pytest.mark.parametrize("since", ["2026-05-28T19:42:19Z", "2026-05-28", "24h", "7d"])
def test_check_since_takes_what_the_tool_prints_and_durations(
    capsys: pytest.CaptureFixture[str], db: str, since: str
) -> None:
    code, _, err = _cli(capsys, "--db", db, "check", "--since", since, "--format", "json")
    assert code in (0, 1), err


def test_a_bad_since_is_a_usage_error_naming_the_forms(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, _, err = _cli(capsys, "--db", db, "check", "--since", "last week")
    assert code == 2 and "'last week' is not a time" in err and "24h, 7d" in err


def test_a_mistyped_command_names_the_one_meant(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "rnus")
    assert code == 2 and "No such command 'rnus'. Did you mean runs?" in err
    code, _, err = _cli(capsys, "runs", "--formt", "json")
    assert code == 2 and "Did you mean '--format'?" in err


def test_runs_with_an_unknown_workflow_says_so_and_names_the_closest(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, _, err = _cli(capsys, "--db", db, "runs", "--workflow", "sequentalWorkflow")
    assert code == 0
    assert "no workflow name contains 'sequentalWorkflow'; did you mean" in err
    assert "workflow//./workflows/demo//sequentialWorkflow" in err


def test_shell_completion_offers_the_store_s_run_ids(db: str) -> None:
    env = dict(os.environ)
    env.update(
        _FORENSICS_COMPLETE="bash_complete",
        COMP_WORDS=f"forensics --db {db} events 763n",
        COMP_CWORD="4",
    )
    done = subprocess.run(
        [sys.executable, "-c", "from forensics.cli import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.stdout.split() == [
        "plain,wrun_01M7YNNASS8KVC54EGYKZ763NW",
        "plain,wrun_01M7YNNASS8KVC54EGYKZ763NX",
    ]


def test_runs_at_80_columns_shows_every_run_id_s_unique_end(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = _cli(capsys, "--db", db, "runs")
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # the terminal's bold headers
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    with Store(db, read_only=True) as store:
        ids = [str(r[0]) for r in store.query("SELECT run_id FROM runs")[1]]
    assert len(ids) == len({r["run_id"] for r in MANIFEST["runs"]})
    assert [i for i in ids if short_id(i, unique_end(ids)) not in out] == []
    monkeypatch.undo()  # piped: --wide prints whole ids
    code, out, _ = _cli(capsys, "--db", db, "runs", "--wide")
    assert code == 0 and all(i in out for i in ids)
