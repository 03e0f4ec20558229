"""README checks itself against the code: commands, formats, queries, exit codes, tables."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click

from forensics.cli import cli
from forensics.errors import EXIT_CODES
from forensics.importers.run import ordered_importers
from forensics.queries import load_queries
from forensics.store import Store

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix}{name} "))
    return names


def test_every_command_is_in_the_readme() -> None:
    missing = [c for c in _commands(cli) if f"forensics {c}" not in README]
    assert missing == []


def test_every_import_format_is_in_the_readme() -> None:
    assert [i.name for i in ordered_importers() if f"`{i.name}`" not in README] == []


def test_every_canned_query_is_in_the_readme() -> None:
    assert [q for q in load_queries() if f"`{q}`" not in README] == []


def test_exit_code_table_matches_the_code() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", README, flags=re.M))
    assert sorted(int(k) for k in rows) == sorted(EXIT_CODES)


def test_every_store_table_is_documented(tmp_store: Store) -> None:
    names = [
        r[0]
        for r in tmp_store.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            " AND table_name NOT LIKE 'forensics_%'"
        )[1]
    ]
    assert [n for n in names if f"`{n}`" not in README] == []


FINDS_ANOMALIES = ("forensics check", "forensics explain")


def _sh_block(heading: str) -> list[str]:
    """The command lines of the first ```sh block after `heading`."""
    section = README[README.index(heading) :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh"))]
    return [line for line in block.splitlines() if line.strip()]


def test_the_tour_and_the_replay_commands_run_as_written(tmp_path: Path) -> None:
    """Every line of the quick tour, then the replay commands, in an empty folder, in one
    shell (so `export` holds): each exits 0 (`check` and `explain` 1: anomalies found)."""
    lines = _sh_block("## A quick tour") + _sh_block("## Replays")
    script = ["set -u"]
    for n, line in enumerate(lines):
        script += [line, f'echo "tour-rc {n} $?" >> rcs']
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORENSICS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    rcs = {
        int(n): int(rc)
        for _, n, rc in (r.split() for r in (tmp_path / "rcs").read_text().splitlines())
    }
    failed = [
        (lines[n], rc)
        for n, rc in rcs.items()
        if rc != 0 and not (rc == 1 and lines[n].startswith(FINDS_ANOMALIES))
    ]
    assert failed == [], done.stderr[-3000:]
    assert len(rcs) == len(lines)
    assert "internal error" not in done.stderr
    assert (tmp_path / "forensics-demo.duckdb").is_file() and (tmp_path / "mine.duckdb").is_file()
    assert not (tmp_path / "forensics.duckdb").exists()  # nothing read or wrote the default
    assert "event_created" not in done.stdout and '"run_created"' in done.stdout  # jq's output


def test_the_eras_table_is_the_one_the_analysis_uses() -> None:
    from forensics.analysis.eras import ERA_RULES

    rows = [f"| {era} | {behaviour} | {since} |" for era, behaviour, since in ERA_RULES]
    assert [r for r in rows if r not in README] == []
