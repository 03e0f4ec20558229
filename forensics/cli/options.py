"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from forensics.errors import StoreError, UsageError
from forensics.timespec import MOMENT_FORMS, parse_moment

if TYPE_CHECKING:
    from forensics.store import Store

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")
WIDE_KEY = "forensics.wide"
"""Where `--wide` leaves its flag for the table renderer (`forensics.cli.render`)."""


def writable_store(db: Path, key: bytes | None = None) -> Store:
    """The store opened for writing, with what a killed import left finished first (its
    payloads decoded, repeats dropped, its status set to interrupted), said on stderr."""
    from forensics.store import Store

    store = Store(db)
    try:
        finish_interrupted_imports(store, key)
    except BaseException:
        store.close()
        raise
    return store


def open_writable(db: Path) -> Store:
    """The store, writable (results are stored), but never created by a check."""
    if not db.exists():
        raise StoreError(
            f"no store at {db}",
            hint="import something first (`forensics import json PATH`) or pass --db",
        )
    return writable_store(db)


@contextmanager
def writable(db: Path, key: bytes | None = None) -> Iterator[Store]:
    """`writing` (the store for an import, removed again if the command fails before
    recording any import), with what a killed import left finished first."""
    from forensics.store.opening import writing

    with writing(db) as store:
        finish_interrupted_imports(store, key)
        yield store


def finish_interrupted_imports(store: Store, key: bytes | None = None) -> None:
    """Finish the imports a killed process left in `store`, one note each on stderr."""
    if not store.interrupted_imports():
        return  # the usual case: no need to load the importers
    from forensics.importers.recover import finish_interrupted

    for note in finish_interrupted(store, key):
        click.echo(f"forensics: note: {note}", err=True)


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


if TYPE_CHECKING:  # click 8.2 and later type their parameter types
    _ParamBase = click.ParamType[datetime, Any]
else:
    _ParamBase = click.ParamType


class MomentType(_ParamBase):
    """A `--since`-style time: ISO-8601 (with or without Z), a date, or `24h`, `7d` back."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        what = f"--{param.name}" if param is not None and param.name else "time"
        try:
            return parse_moment(str(value), what)
        except UsageError as exc:
            self.fail(f"{exc.message}; give {MOMENT_FORMS}", param, ctx)


SINCE = MomentType()


def complete_runs(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of a RUN argument: the store's run ids containing what was typed."""
    from forensics.errors import ForensicsError
    from forensics.store import Store, default_db_path
    from forensics.store.runids import run_ids_containing

    db = ctx.find_root().params.get("db") or default_db_path()
    try:
        with Store(Path(db), read_only=True, wait=0) as store:
            ids = run_ids_containing(store, incomplete, limit=200)
    except ForensicsError:
        return []  # no store, or a busy one: completion says nothing rather than wait
    return [CompletionItem(run_id) for run_id in ids]


def _printing_option(flag: str, help_text: str) -> Callable[[F], F]:
    """An option choosing how a command prints (into `fmt`), with `--wide` beside it."""

    def decorate(func: F) -> F:
        option = click.option(
            flag, "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
            help=help_text,
        )  # fmt: skip
        return wide_option(option(func))

    return decorate


format_option = _printing_option(
    "--format", "table for people; json (an array of objects) or csv for scripts."
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


# `--output` for commands whose `--format` names the input's format (imports).
output_option = _printing_option("--output", "How to print the import summary: table, json or csv.")


def key_file_option(func: F) -> F:
    """`--key-file`: the run key for encrypted payloads, shared by every import command."""
    return click.option(
        "--key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="AES-256-GCM run key for encrypted (encr) payloads.",
    )(func)


def dynamodb_endpoint_options(func: F) -> F:
    """`--region`, `--profile`, `--endpoint-url`: where a DynamoDB table is (import, watch)."""
    for option in reversed(
        (
            click.option(
                "--region",
                default=None,
                help="AWS region (default: AWS_DEFAULT_REGION or the profile's).",
            ),
            click.option(
                "--profile", default=None, help="AWS profile (default: the credential chain)."
            ),
            click.option(
                "--endpoint-url", default=None, help="Another endpoint, e.g. DynamoDB Local."
            ),
        )
    ):
        func = option(func)
    return func


def dynamodb_mapping_options(func: F) -> F:
    """`--preset`, `--map`, `--max-attempts`: how a DynamoDB table's items are read."""
    for option in reversed(
        (
            click.option(
                "--preset",
                default=None,
                help="Attribute-mapping preset (see `forensics dynamodb-presets`).",
            ),
            click.option(
                "--map",
                "mapping",
                multiple=True,
                metavar="ROLE=ATTRIBUTE",
                help="Map a role to an attribute (repeatable).",
            ),
            click.option(
                "--max-attempts",
                type=click.IntRange(1, 100),
                default=10,
                show_default=True,
                help="Attempts per request (adaptive retries on throttling).",
            ),
        )
    ):
        func = option(func)
    return func


def finding_filters(func: F) -> F:
    """`--min-severity`, `--code`, `--exclude-code`: which findings a command shows."""
    from forensics.analysis.ranks import DEFAULT_MIN_SEVERITY
    from forensics.model import SEVERITIES

    func = click.option(
        "--exclude-code", "exclude", multiple=True, metavar="CODE",
        help="Leave out findings with this detector code (repeatable).",
    )(func)  # fmt: skip
    func = click.option(
        "--code", "codes", multiple=True, metavar="CODE",
        help="Only findings with this detector code (repeatable).",
    )(func)  # fmt: skip
    return click.option(
        "--min-severity", type=click.Choice(SEVERITIES), default=DEFAULT_MIN_SEVERITY,
        show_default=True, help="Show findings of this severity or worse (info shows all).",
    )(func)  # fmt: skip
