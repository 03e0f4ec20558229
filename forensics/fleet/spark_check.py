"""`forensics check --engine spark`: the fleet sieve in Spark SQL, the detectors in executors.

1. The sieve's portable statements (`forensics/analysis/sql`) run as Spark SQL over the
   fleet layout: per-run facts, per-entity counts, commit-time buckets, suspects.
2. Each run's facts go through the facts-only tests in Python (`facts_verdicts`): whether a
   prefix or seed finding is possible, and the verdict of a run nothing was found in.
3. The events (and other per-run rows) of every run that may have a finding are grouped
   into chunks of runs, and each chunk is checked by `check` itself in an in-memory store
   inside an executor (`check_group`), so the findings are the one-machine findings.
4. Findings and verdicts are written as Parquet (`<out>/findings`, `<out>/run_verdicts`).

Nothing of run-count size is held by the driver: it sees counts and, for `--into`, the
findings and the flagged runs' rows it brings home.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa

from forensics.analysis.scan import Settings
from forensics.analysis.sieve import STATEMENTS, select
from forensics.errors import InputError
from forensics.fleet.executor import (
    AUX_TABLES,
    FACTS_RESULT_SCHEMA,
    RESULT_SCHEMA,
    check_group,
    facts_verdicts,
)
from forensics.fleet.session import cores

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

EVENTS_PER_CHUNK: Final = 250_000
"""Suspect runs are checked in chunks of about this many events (one in-memory store each)."""
# Spark writes timestamps in JSON with millisecond precision unless told otherwise.
_JSON_OPTIONS: Final = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"}
EVENTS_PER_SHUFFLE_PARTITION: Final = 4_000_000
"""A shuffle partition's share of the fleet: a shuffle carries one row per run or entity."""
# The columns of events the sieve's statements and the candidates read.
SIEVE_COLUMNS: Final = (
    "run_id", "event_id", "event_type", "correlation_id", "staged", "conflict", "created_at",
    "write_time", "content_hash", "spec_version", "event_data", "extra", "payload_decoded",
    "fence_last_event_id",
)  # fmt: skip
_SIEVE_ORDER: Final = (
    "facts_ev",
    "facts",
    "entity_stats",
    "buckets",
    "suspect_runs",
    "suspect_entities",
)


@dataclass(frozen=True)
class SparkCheck:
    """What a Spark check wrote and counted."""

    out: str
    runs: int
    verdicts: dict[str, int]
    findings: int
    anomalous_findings: int
    analysed_runs: int

    @property
    def anomalous(self) -> bool:
        return self.anomalous_findings > 0


def read_fleet(spark: SparkSession, source: str) -> dict[str, DataFrame]:
    """The fleet's tables under `source`, registered as temp views of their names."""
    frames = {}
    for table in ("events", *AUX_TABLES):
        path = f"{source.rstrip('/')}/{table}"
        try:
            frame = spark.read.parquet(path)
        except Exception as exc:
            if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
                raise InputError(
                    f"{path} does not exist: {source} is not a fleet (no {table} table)",
                    hint="write one with `forensics export --layout fleet DIR` or"
                    " `forensics convert --engine spark`",
                ) from exc
            raise
        frame.createOrReplaceTempView(table)
        frames[table] = frame
    return frames


def sieve(spark: SparkSession, settings: Settings) -> None:
    """The sieve's statements as temp views `_fx_facts`, `_fx_suspect_runs`, …"""
    width = str(max(1, int(settings.inversion_tolerance_ms)))
    literal = "'" + settings.key().replace("'", "''") + "'"
    for name in _SIEVE_ORDER:
        sql = select(name, "spark")
        sql = sql.replace("{where}", "").replace("{scope}", "").replace("{width}", width)
        sql = sql.replace("$settings", literal)
        view = spark.sql(sql)
        if name in ("facts", "entity_stats"):
            # each is read by two later statements: computed once, here, and the later
            # plans start from the stored rows (a checkpoint is never recomputed)
            view = view.localCheckpoint()
        view.createOrReplaceTempView(STATEMENTS[name])
        if name == "facts":
            spark.sql("SELECT run_id FROM _fx_facts").createOrReplaceTempView("_fx_scope")


def _candidates(spark: SparkSession, facts: DataFrame) -> DataFrame:
    """Runs whose events the detectors must read: the sieve's suspects, runs whose facts
    leave a prefix or seed finding possible, and runs whose entity rows, traces or fences
    other detectors compare with their events."""
    facts.filter("needs_events").select("run_id").createOrReplaceTempView("_fx_facts_hits")
    return spark.sql(
        "SELECT run_id FROM _fx_suspect_runs"
        " UNION SELECT run_id FROM _fx_suspect_groups"
        " UNION SELECT run_id FROM _fx_facts_hits"
        " UNION SELECT run_id FROM entities"
        " UNION SELECT run_id FROM trace_replays"
        " UNION SELECT run_id FROM events WHERE fence_last_event_id IS NOT NULL"
    )


def _aux_rows(frames: dict[str, DataFrame], runs: DataFrame) -> DataFrame:
    """The other per-run tables of `runs` as (run_id, table, row JSON)."""
    from pyspark.sql import functions as F

    parts = []
    for table in AUX_TABLES:
        frame = frames[table]
        cols = [c for c in frame.columns if c != "bucket"]
        if "run_id" not in cols:
            keyed = frames["trace_replays"].select("replay_key", "run_id")
            frame = frame.join(keyed, "replay_key")
        parts.append(
            frame.join(runs, "run_id", "left_semi").select(
                "run_id",
                F.lit(table).alias("table"),
                F.to_json(F.struct(*[F.col(c) for c in cols]), _JSON_OPTIONS).alias("row"),
            )
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def run_check(
    spark: SparkSession, source: str, out: str, settings: Settings | None = None
) -> SparkCheck:
    """Check every run of the fleet at `source`; write findings and verdicts under `out`."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    settings = settings or Settings()
    lap = _Lap()
    frames = read_fleet(spark, source)
    _tune(spark, source)
    lap("read the fleet's schemas")
    # The sieve's statements and the candidates read the events several times: once from
    # Parquet into a cache of the columns they use, then from the cache.
    sieved = frames["events"].select(*SIEVE_COLUMNS).persist(StorageLevel.MEMORY_AND_DISK)
    sieved.createOrReplaceTempView("events")
    n_events = sieved.count()
    lap(f"cached the sieve's columns of {n_events} events")
    sieve(spark, settings)
    facts = spark.table("_fx_facts").mapInArrow(facts_verdicts, _ddl(FACTS_RESULT_SCHEMA))
    facts = facts.localCheckpoint()
    runs = _candidates(spark, facts).localCheckpoint()
    n_runs, n_candidates = facts.count(), runs.count()
    lap(f"sieve: {n_candidates} of {n_runs} runs to the detectors")
    sieved.unpersist()
    # chunks of about EVENTS_PER_CHUNK events, from the fleet's mean run size
    wanted = n_events * n_candidates / max(1, n_runs) / EVENTS_PER_CHUNK
    chunks = max(cores(spark) * 2, math.ceil(wanted))
    chunk = F.pmod(F.xxhash64("run_id"), F.lit(chunks)).alias("chunk")
    events = frames["events"].join(runs, "run_id", "left_semi")
    grouped = events.select("*", chunk).groupBy("chunk")
    aux = _aux_rows(frames, runs).select("*", chunk).groupBy("chunk")
    results = grouped.cogroup(aux).applyInArrow(
        partial(_check_chunk, settings=settings), _ddl(RESULT_SCHEMA)
    )
    # findings and verdicts both come from the detectors' rows: run them once
    results = results.localCheckpoint()
    now = F.current_timestamp()
    findings = results.filter("kind = 'finding'").select(
        *[c for c in RESULT_SCHEMA.names if c not in ("kind", "verdict", "reason")],
        now.alias("found_at"),
    )
    others = facts.join(runs, "run_id", "left_anti").select("run_id", "verdict", "reason")
    verdicts = (
        results.filter("kind = 'verdict'")
        .select("run_id", "verdict", "reason")
        .unionByName(others)
        .select("*", now.alias("checked_at"))
    )
    target = out.rstrip("/")
    findings.write.mode("overwrite").parquet(f"{target}/findings")
    lap("detectors, findings written")
    verdicts.write.mode("overwrite").parquet(f"{target}/run_verdicts")
    summary = _summary(spark, target, n_candidates)
    lap("verdicts written")
    spark.catalog.clearCache()
    return summary


class _Lap:
    """Logs the time each step of a check took (`logging` at INFO, logger of this module)."""

    def __init__(self) -> None:
        self.at = time.perf_counter()

    def __call__(self, what: str) -> None:
        now = time.perf_counter()
        log.info("spark check: %s: %.1f s", what, now - self.at)
        self.at = now


def _tune(spark: SparkSession, source: str) -> None:
    """Shuffle partitions from the fleet's size (about 4M events each, at least two per
    core), unless the session was given a number; adaptive execution coalesces the rest.
    Input splits at least four per core, unless the session says otherwise."""
    n_cores = cores(spark)
    if spark.conf.get("spark.sql.files.minPartitionNum", None) is None:
        # input splits of a fleet smaller than cores × 128 MB: four per core, so a late
        # split does not leave the other cores idle
        spark.conf.set("spark.sql.files.minPartitionNum", str(4 * n_cores))
    if spark.conf.get("spark.sql.shuffle.partitions") != "200":  # set by the user
        return
    events = _manifest_events(source)
    if events is None:
        return
    wanted = max(2 * n_cores, math.ceil(events / EVENTS_PER_SHUFFLE_PARTITION))
    spark.conf.set("spark.sql.shuffle.partitions", str(min(wanted, 8192)))
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "true")


def _manifest_events(source: str) -> int | None:
    """The events count the fleet's manifest states (None without a readable manifest)."""
    from forensics.fleet.convert_exec import filesystem, join
    from forensics.fleet.layout import MANIFEST, read_manifest

    try:
        system, path = filesystem(join(source, MANIFEST))
        with system.open_input_stream(path) as fh:
            text = fh.read().decode("utf-8")
    except (OSError, ValueError):
        return None
    try:
        return int(read_manifest(text, path).tables.get("events", 0))
    except (InputError, KeyError, TypeError, ValueError):
        return None


def _check_chunk(events: pa.Table, aux: pa.Table, *, settings: Settings) -> pa.Table:
    return check_group(events, aux, settings)


def _summary(spark: SparkSession, target: str, analysed: int) -> SparkCheck:
    counts = {
        str(r["verdict"]): int(r["n"])
        for r in spark.read.parquet(f"{target}/run_verdicts")
        .groupBy("verdict")
        .count()
        .withColumnRenamed("count", "n")
        .collect()
    }
    found = spark.read.parquet(f"{target}/findings")
    row = found.selectExpr(
        "count(*) AS n", "count_if(severity IN ('error', 'warning')) AS bad"
    ).collect()[0]
    return SparkCheck(
        target, sum(counts.values()), counts, int(row["n"]), int(row["bad"]), analysed
    )


def _ddl(schema: pa.Schema) -> str:
    """A Spark DDL schema string of a flat Arrow schema of strings, booleans and lists."""
    kinds = {pa.string(): "STRING", pa.bool_(): "BOOLEAN", pa.list_(pa.string()): "ARRAY<STRING>"}
    return ", ".join(f"`{f.name}` {kinds[f.type]}" for f in schema)


def spark_rows(frame: DataFrame) -> list[dict[str, Any]]:
    """A small DataFrame's rows as dicts."""
    return [r.asDict(recursive=True) for r in frame.collect()]
