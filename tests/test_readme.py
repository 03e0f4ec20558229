"""README checks itself against the code: commands, formats, queries, exit codes, tables."""

from __future__ import annotations

import re
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
