"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from forensics.cli.render import FORMATS, WIDE_KEY

F = TypeVar("F", bound=Callable[..., Any])


def _set_wide(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta[WIDE_KEY] = True


def wide_option(func: F) -> F:
    """`--wide`: whole ids and every column in tables (JSON and CSV always have them)."""
    return click.option(
        "--wide",
        is_flag=True,
        expose_value=False,
        callback=_set_wide,
        help="Tables: whole ids, not their unique end (JSON and CSV always have whole ids).",
    )(func)


def format_option(func: F) -> F:
    return wide_option(
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="table",
            show_default=True,
            help="table for people; json (an array of objects) or csv for scripts.",
        )(func)
    )


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    """`k=v` strings to a dict; a malformed pair is a usage error naming it."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint=what)
        out[key.strip()] = value
    return out


def output_option(func: F) -> F:
    """`--output` for commands whose `--format` names the input's format (imports)."""
    return wide_option(
        click.option(
            "--output",
            "fmt",
            type=click.Choice(FORMATS),
            default="table",
            show_default=True,
            help="How to print the import summary: table, json or csv.",
        )(func)
    )


def key_file_option(func: F) -> F:
    """`--key-file`: the run key for encrypted payloads, shared by every import command."""
    return click.option(
        "--key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="AES-256-GCM run key for encrypted (encr) payloads.",
    )(func)
