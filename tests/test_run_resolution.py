"""Every command that takes a run resolves the same argument to the same run, through the one
resolver (`forensics.store.runids.resolve_run`): a full id or any unique part of one, case
aside; several matches are a usage error listing them; none names the closest ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import forensics.tui
from forensics.analysis.engine import check
from forensics.cli import main
from forensics.demo import build_demo_store
from forensics.errors import UsageError
from forensics.store import Store
from forensics.store.runids import closest_ids, resolve_run

RUN = "wrun_01KSNVVXH82P5GM40D6F9152JF"  # traced: replays inv269, inv400
PART = "vvxh82p5"  # the middle of it, in lower case
AMBIGUOUS = "01KS"  # three runs of the samples start so
COMMANDS: dict[str, list[str]] = {
    "events": ["events", "{run}", "--format", "json"],
    "check": ["check", "{run}", "--format", "json"],
    "explain": ["explain", "{run}"],
    "ids": ["ids", "{run}"],
    "replays": ["replays", "{run}"],
    "diff": ["diff", "{run}", "inv269", "inv400"],
    "fences": ["fences", "{run}"],
    "report": ["report", "{run}", "-o", "{out}"],
    "open": ["open", "{run}"],
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("resolve") / "demo.duckdb"
    store, _ = build_demo_store(path)
    with store:
        check(store)
    return path


def _run(
    db: Path, name: str, run: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    out = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.html"
    argv = ["--db", str(db), *(a.format(run=run, out=out) for a in COMMANDS[name])]
    with pytest.raises(SystemExit) as done:
        main(argv)
    captured = capsys.readouterr()
    stdout = out.read_text() if name == "report" and out.exists() else captured.out
    return int(done.value.code or 0), stdout, captured.err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_resolves_the_same_run(
    name: str,
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str | None] = []

    def fake_tui(reader: Any, run_id: str | None = None) -> None:
        opened.append(run_id)

    monkeypatch.setattr(forensics.tui, "run_tui", fake_tui)
    full = _run(db, name, RUN, tmp_path, capsys)
    part = _run(db, name, PART, tmp_path, capsys)
    assert full[0] == part[0] and full[0] in (0, 1), full[2]
    if name == "report":
        assert RUN in part[1]
    elif name == "open":
        assert opened == [RUN, RUN]
    else:
        assert part[1] == full[1]
    if name == "check":
        assert {r["run_id"] for r in json.loads(part[1])["runs"]} == {RUN}
    ambiguous = _run(db, name, AMBIGUOUS.lower(), tmp_path, capsys)
    assert ambiguous[0] == 2
    assert "'01ks' matches 3 runs: wrun_01KSMVX82Y9SG369YFNN13M2M7," in ambiguous[2]
    missing = _run(db, name, "01KSNVVXH82P5GM40D6F9152JX", tmp_path, capsys)
    assert missing[0] == 4
    assert f"did you mean {RUN}" in missing[2]


def test_resolution_rules(db: Path) -> None:
    with Store(db, read_only=True) as store:
        assert resolve_run(store, RUN) == RUN
        assert resolve_run(store, RUN.lower()) == RUN
        assert resolve_run(store, "9152jf") == RUN  # the end a table shows
        with pytest.raises(UsageError, match="an empty run id"):
            resolve_run(store, " ")


def test_an_ambiguous_part_lists_ten_of_many(db: Path) -> None:
    with Store(db, read_only=True) as store:
        total = store.query("SELECT count(*) FROM runs")[1][0][0]
        with pytest.raises(UsageError) as err:
            resolve_run(store, "WRUN_01")
    shown = err.value.message.split(": ", 1)[1].split(" (")[0].split(", ")
    assert total > 10
    assert len(shown) == 10 and err.value.message.endswith(f"(first 10 of {total})")


def test_closest_ids_need_a_stretch_in_common() -> None:
    ids = ["wrun_01AAAA", "wrun_01BBBB", "wrun_01AABB"]
    assert closest_ids(ids, "wrun_01AAAB")[:2] == ["wrun_01AAAA", "wrun_01AABB"]
    assert closest_ids(ids, "qq") == []
