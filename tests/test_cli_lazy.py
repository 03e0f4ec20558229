"""The lazy command table names exactly the commands the modules register."""

from __future__ import annotations

import subprocess
import sys

import click

from forensics import cli as cli_module


def test_tables_match_registered_commands() -> None:
    cli_module.load_all()
    top = cli_module.cli
    assert sorted(top.commands) == sorted(cli_module._COMMANDS)
    group = top.commands["import"]
    assert isinstance(group, click.Group)
    assert sorted(group.commands) == sorted(cli_module._IMPORTERS)


def test_a_command_loads_only_its_own_module() -> None:
    code = (
        "import sys\n"
        "from forensics.cli import cli\n"
        "cli.main(['queries', '--help'], standalone_mode=False)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('forensics.cli.commands_'))\n"
        "print(','.join(loaded))\n"
        "print('textual' in sys.modules, 'plotly' in sys.modules, 'boto3' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-2] == "forensics.cli.commands_store"
    assert out[-1] == "False False False"


def test_story_starts_without_the_table_renderer_arrow_or_the_detectors() -> None:
    """`story` prints its own text: rich, pyarrow (trace writers) and numpy stay unloaded,
    and the detectors load only when a run's findings are stale."""
    code = (
        "import sys\n"
        "from forensics.cli import cli\n"
        "cli.main(['story', '--help'], standalone_mode=False)\n"
        "heavy = ('rich', 'pyarrow', 'numpy', 'forensics.analysis.catalogue')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-1] == ""
