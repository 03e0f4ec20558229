"""`forensics story RUN`: the whole incident on one page (text, Markdown or JSON)."""

from __future__ import annotations

import sys

import click
import orjson

from forensics.analysis.engine import explain_run
from forensics.cli import Context
from forensics.cli.options import complete_runs, open_writable
from forensics.errors import EXIT_ANOMALIES, EXIT_OK
from forensics.replay.memo import shared_analysis
from forensics.replay.story import story_of
from forensics.replay.story_text import story_json, story_markdown, story_text
from forensics.store.runids import resolve_run


@click.command("story")
@click.argument("run", shell_complete=complete_runs)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True,
              help="text for a terminal, markdown for a ticket, json for scripts.")  # fmt: skip
@click.pass_obj
def story_cmd(obj: Context, run: str, fmt: str) -> int:
    """The incident of RUN on one page: headline, root cause, who raced whom, the critical
    window, blast radius, what would have prevented it, and everything else by code.

    Findings are brought up to date first (as `forensics check RUN` does). Exit code 1 when
    the run has a warning or an error.
    """
    with open_writable(obj.db) as store:
        run_id = resolve_run(store, run)
        with shared_analysis():  # the check's replays and chain tell the story too
            result = explain_run(store, run_id)
            story = story_of(store.con, run_id, result.findings, result.runs)
    if fmt == "json":
        data = orjson.dumps(story_json(story), option=orjson.OPT_INDENT_2).decode()
        sys.stdout.write(data + "\n")
    elif fmt == "markdown":
        sys.stdout.write(story_markdown(story))
    else:
        click.echo(story_text(story))
    return EXIT_ANOMALIES if result.anomalous else EXIT_OK


def register(cli: click.Group) -> None:
    cli.add_command(story_cmd)
