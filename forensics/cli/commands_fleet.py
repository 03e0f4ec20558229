"""`check --engine spark` and `convert --engine spark`: fleets on Apache Spark.

Spark and the fleet modules load only when these run, so other commands start as fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from forensics.analysis.scan import Settings
from forensics.cli import Context
from forensics.errors import EXIT_ANOMALIES, EXIT_OK, UsageError


def spark_options(func: Any) -> Any:
    """The options of the Spark engine, added to `check`."""
    options = [
        click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb",
                     show_default=True, help="spark: check a fleet layout (--from) on Spark."),
        click.option("--from", "source", metavar="DIR_OR_URI",
                     help="Spark: the fleet layout to check (local folder, s3://…, hdfs://…)."),
        click.option("--out", metavar="DIR_OR_URI",
                     help="Spark: where findings/ and run_verdicts/ go (default: in --from)."),
        click.option("--into", type=click.Path(dir_okay=False, path_type=Path),
                     help="Spark: bring the findings and the flagged runs' rows into this"
                     " store (created if missing), for explain, story and the TUI."),
        click.option("--master", help="Spark: local[N], spark://HOST:PORT, yarn, …"
                     " (default local[*])."),
        click.option("--remote", metavar="sc://HOST:PORT", help="Spark Connect server."),
        click.option("--conf", "conf", multiple=True, metavar="KEY=VALUE",
                     help="Spark: a setting passed to the session (repeatable)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def spark_requested(opts: dict[str, Any]) -> bool:
    """Whether the Spark engine was asked for; Spark options without it are an error."""
    if opts["engine"] == "spark":
        if not opts["source"]:
            raise UsageError(
                "--engine spark needs --from DIR_OR_URI (a fleet layout)",
                hint="write one with `forensics export --layout fleet DIR`",
            )
        return True
    given = [f"--{k}" for k in ("source", "out", "into", "master", "remote") if opts[k]]
    given += ["--conf"] if opts["conf"] else []
    if given:
        raise UsageError(f"{', '.join(given)} go with --engine spark".replace("--source", "--from"))
    return False


def check_on_spark(obj: Context, settings: Settings, fmt: str, opts: dict[str, Any]) -> int:
    from forensics.fleet.session import parse_conf, start
    from forensics.fleet.spark_check import run_check

    source = str(opts["source"])
    out = str(opts["out"] or source)
    spark, ours = start(opts["master"], opts["remote"], parse_conf(opts["conf"]))
    try:
        summary = run_check(spark, source, out, settings)
        pulled = _bring_home(spark, source, out, opts["into"], settings) if opts["into"] else None
    finally:
        if ours:
            spark.stop()
    doc = {
        "out": summary.out,
        "runs": summary.runs,
        "verdicts": summary.verdicts,
        "findings": summary.findings,
        "analysed_runs": summary.analysed_runs,
        "into": pulled,
    }
    if fmt == "json":
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(f"{summary.out.rstrip('/')}/findings")
        click.echo(f"{summary.out.rstrip('/')}/run_verdicts")
    counts = ", ".join(f"{n} {v}" for v, n in sorted(summary.verdicts.items()))
    click.echo(
        f"forensics: spark: {summary.runs} runs ({summary.analysed_runs} through the detectors):"
        f" {counts or 'none'}; {summary.findings} findings"
        + (f"; {pulled['runs']} flagged runs brought into {opts['into']}" if pulled else ""),
        err=True,
    )
    return EXIT_ANOMALIES if summary.anomalous else EXIT_OK


def _bring_home(
    spark: Any, source: str, out: str, into: Path, settings: Settings
) -> dict[str, Any]:
    from forensics.fleet.home import bring_home

    return bring_home(spark, source, out, into, settings)


FORMATS = ("dynamodb-json", "jsonl", "postgres-csv")


def register(cli: click.Group) -> None:
    from forensics.cli.options import key_file_option, output_option, parse_pairs

    @cli.command(name="convert")
    @click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
    @click.option("--engine", type=click.Choice(["spark"]), required=True,
                  help="spark: convert inside Spark (the only engine so far).")  # fmt: skip
    @click.option("--out", required=True, metavar="DIR_OR_URI",
                  help="The fleet folder to write (local folder, s3://…, hdfs://…).")  # fmt: skip
    @click.option("--format", "source_format", type=click.Choice(FORMATS),
                  help="Skip detection: the input's format.")  # fmt: skip
    @click.option("--buckets", type=int, help="Run-id buckets (default: about 1M events each,"
                  " estimated from the input's size).")  # fmt: skip
    @click.option("--overwrite", is_flag=True, help="Replace a fleet in --out.")
    @key_file_option
    @click.option("--map", "mapping", multiple=True, metavar="ROLE=ATTRIBUTE",
                  help="DynamoDB exports: map a role to an attribute (repeatable).")  # fmt: skip
    @click.option("--preset", default=None, help="DynamoDB exports: attribute-mapping preset.")
    @click.option(
        "--master", help="Spark: local[N], spark://HOST:PORT, yarn, … (default local[*])."
    )
    @click.option("--remote", metavar="sc://HOST:PORT", help="Spark Connect server.")
    @click.option("--conf", "conf", multiple=True, metavar="KEY=VALUE",
                  help="Spark: a setting passed to the session (repeatable).")  # fmt: skip
    @output_option
    def convert(
        sources: tuple[str, ...], engine: str, out: str, source_format: str | None,
        buckets: int | None, overwrite: bool, key_file: Path | None, mapping: tuple[str, ...],
        preset: str | None, master: str | None, remote: str | None, conf: tuple[str, ...],
        fmt: str,
    ) -> None:  # fmt: skip
        """Convert raw exports into the fleet layout inside Spark.

        SOURCE is a DynamoDB export to S3 in DYNAMODB_JSON (its folder, with data/*.json.gz),
        JSON Lines files of events (.gz too), or world-postgres tables exported as CSV with a
        header (workflow_events.csv, workflow_runs.csv, … .gz too), as a local path or a URI
        (s3://, hdfs://…).
        Records are decoded in the executors by the same code as `forensics import`; broken
        ones go to the fleet's quarantine table with their file, line and reason."""
        from forensics.cli.commands_import import read_key
        from forensics.errors import PartialImport
        from forensics.fleet.convert import run_convert
        from forensics.fleet.convert_exec import Job
        from forensics.fleet.session import parse_conf, start

        del engine  # one engine so far
        job = Job("", out, 0, preset=preset, overrides=parse_pairs(mapping, "--map"),
                  key=read_key(key_file))  # fmt: skip
        spark, ours = start(master, remote, parse_conf(conf), app="forensics-convert")
        try:
            done = run_convert(spark, list(sources), out, fmt=source_format, buckets=buckets,
                               overwrite=overwrite, job=job)  # fmt: skip
        finally:
            if ours:
                spark.stop()
        doc = {"out": done.out, "format": done.fmt, "files": done.files,
               "buckets": done.buckets, **done.counts}  # fmt: skip
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() if fmt == "json"
                   else done.out)  # fmt: skip
        for note in done.notes:
            click.echo(f"forensics: note: {note}", err=True)
        c = done.counts
        click.echo(f"forensics: convert: {done.files} files, {c['read']} records read,"
                   f" {c['stored']} events stored ({c['duplicates']} duplicates,"
                   f" {c['conflicts']} conflicts), {c['quarantined']} quarantined;"
                   f" {done.buckets} buckets", err=True)  # fmt: skip
        if c["quarantined"]:
            raise PartialImport(
                f"{c['quarantined']} record(s) could not be converted and went to the fleet's"
                " quarantine table; everything else was written",
                hint="read them: SELECT location, position, reason"
                f" FROM '{out}/quarantine/*.parquet'",
            )
