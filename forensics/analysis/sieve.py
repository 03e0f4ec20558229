"""The SQL of the fleet sieve (see `scan`): per-run facts, per-entity counts, order buckets.

A test here may flag a healthy run or entity (the detectors then read its real event ids and
clear it); it must not miss an anomalous one, within two stated limits. Aggregate states are
numbers wherever the state is per entity: string states over a million groups cost several
times more. Order inside an entity is judged by commit time, ties counting as suspect; events
whose commit order disagrees with their id order by more than the inversion tolerance put
their whole run among the suspects through `_fx_buckets`. Below that tolerance the count
tests (a step's starts, retries and terminals; a wait's terminals) need no order, and the
hook test allows for it; the limits: an entity whose first event sorts before its creation
but committed after it, within the tolerance, and an ordinal regression in a run with no
duplicate creation, shared body or hole among its ordinals, are not seen fleet-wide.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Final

from forensics.analysis.dialect import render
from forensics.analysis.vocab import (
    CORRUPTION_CODES,
    CORRUPTION_PREFIXES,
    CREATION,
    RESOLUTION,
    RUN_OPENING,
    RUN_TERMINAL,
    TERMINAL,
    sql_list,
)

# Fragments in the portable dialect (`forensics.analysis.dialect`); the upper-case names
# without `_P` are their DuckDB forms, which the per-run detectors use.
ENTITY_EVENT_P: Final = (
    "(fx_starts_with(event_type, 'step_') OR fx_starts_with(event_type, 'hook_')"
    " OR fx_starts_with(event_type, 'wait_'))"
)
# Seeded ULID correlation ids (`step_01…`, 31 characters) are grouped by the end of their
# body, so one body under two prefixes lands in one group (12 characters: short strings are
# stored inline, which makes this key cheap; two bodies sharing their last 12 characters are
# merely one more suspect). Counters (`step_00…1`) stay whole: each kind counts on its own.
GKEY_P: Final = (
    f"CASE WHEN correlation_id IS NULL OR NOT {ENTITY_EVENT_P} THEN NULL"
    " WHEN length(correlation_id) = 31 AND substr(correlation_id, 6, 2) <> '00'"
    " THEN right(correlation_id, 12) ELSE correlation_id END"
)
ULID_CID: Final = (
    "(length(correlation_id) = 31 AND substr(correlation_id, 5, 1) = '_'"
    " AND substr(correlation_id, 6, 2) <> '00')"
)
SLOT_ID: Final = "substr(event_id, length(event_id) - 25, 2) = '00'"
MESSAGE_P: Final = (
    "coalesce(fx_json_text(payload_decoded, '$.message'), fx_json_string(payload_decoded))"
)
CORRUPT_P: Final = (
    "(event_type IN ('run_failed', 'workflow_failed') AND ("
    f"fx_json_text(event_data, '$.errorCode') IN {sql_list(CORRUPTION_CODES)} OR "
    + " OR ".join(f"fx_starts_with({MESSAGE_P}, '{p}')" for p in CORRUPTION_PREFIXES)
    + "))"
)
ENTITY_EVENT: Final = render(ENTITY_EVENT_P, "duckdb")
GKEY: Final = render(GKEY_P, "duckdb")
MESSAGE_SQL: Final = render(MESSAGE_P, "duckdb")
CORRUPT_SQL: Final = render(CORRUPT_P, "duckdb")
CONTENT_X: Final = render("fx_content_x(content_hash)", "duckdb")

# `packed` holds byte-sized counts (creations, hook conflicts, terminals, starts, retries,
# events without a commit time): an entity with 255 events or more is a suspect anyway, so a
# byte never overflows unnoticed. `kinds` has one bit per kind prefix seen under the key.
_PACK: Final = (
    "(CASE event_type WHEN 'step_created' THEN 1 WHEN 'hook_created' THEN 1"
    " WHEN 'wait_created' THEN 1 WHEN 'hook_conflict' THEN 256"
    " WHEN 'step_started' THEN 16777216 WHEN 'step_retrying' THEN 4294967296"
    " WHEN 'step_completed' THEN 65536 WHEN 'step_failed' THEN 65536"
    " WHEN 'wait_completed' THEN 65536 WHEN 'hook_disposed' THEN 65536 ELSE 0 END"
    " + CASE WHEN k IS NULL THEN 1099511627776 ELSE 0 END)::BIGINT"
)
PACKED_FIELDS: Final = (
    "n_create",
    "n_hook_conflict",
    "n_term",
    "n_started",
    "n_retrying",
    "n_unkeyed",
)


def unpack(packed: int) -> dict[str, int]:
    """The byte-sized counts of `_fx_ent.packed`, by name."""
    return {name: (packed >> (8 * i)) & 255 for i, name in enumerate(PACKED_FIELDS)}


def _base32(column: str) -> str:
    """Portable SQL for the value of a 16-character Crockford body (a 128-bit integer)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    terms = [
        f"fx_int128((instr('{alphabet}', substr({column}, {i + 1}, 1)) - 1)) * {32 ** (15 - i)}"
        for i in range(16)
    ]
    return "(" + " + ".join(terms) + ")"


_FRAGMENTS: Final = {
    "RUN_OPENING": sql_list(RUN_OPENING),
    "RUN_TERMINAL": sql_list(RUN_TERMINAL),
    "RESOLUTION": sql_list(RESOLUTION),
    "CREATION": sql_list(CREATION),
    "NOT_STAGED": "NOT staged",
    "CORRUPT": CORRUPT_P,
    "ULID_CID": ULID_CID,
    "SLOT_ID": SLOT_ID,
    "GKEY": GKEY_P,
    "PACK": _PACK,
    "IS_CREATION": f"(event_type IN {sql_list(CREATION)})::BIGINT",
    "NOT_TERMINAL": f"(event_type NOT IN {sql_list(TERMINAL)})::BIGINT",
    "BODY_HI": _base32("body_hi"),
    "BODY_LO": _base32("body_lo"),
}
# Each statement's file and the table (DuckDB) or view (Spark) it makes. `key` (what kept
# statistics depend on) serves DuckDB's store only.
STATEMENTS: Final = {
    "facts_ev": "_fx_facts_ev",
    "key": "_fx_key",
    "facts": "_fx_facts",
    "entity_stats": "_fx_ent",
    "buckets": "_fx_buckets",
    "suspect_runs": "_fx_suspect_runs",
    "suspect_entities": "_fx_suspect_groups",
}


def select(name: str, engine: str) -> str:
    """The query of `sql/<name>.sql` for `engine`: comments dropped, `{UPPER}` fragments
    filled in and macros expanded (lower-case `{names}` are filled in by the caller)."""
    text = (files("forensics.analysis") / "sql" / f"{name}.sql").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("--")]
    body = re.sub(r"\{([A-Z_0-9]+)\}", lambda m: _FRAGMENTS[m.group(1)], "\n".join(lines))
    return render(body, engine)


def _duckdb(name: str) -> str:
    return f"CREATE OR REPLACE TEMP TABLE {STATEMENTS[name]} AS\n" + select(name, "duckdb")


# What the events of a run say, one row per run; `{where}` picks the runs.
FACTS_EV_SQL: Final = _duckdb("facts_ev")
# What the sieve's statistics of a run depend on (kept statistics hold while it does).
KEY_SQL: Final = _duckdb("key")
# Run-level facts: `_fx_facts_ev` joined with run records, entity rows and traces.
FACTS_SQL: Final = _duckdb("facts")
# Order and count tests per (run, entity); `{width}` is the inversion tolerance in ms.
ENTITY_STATS_SQL: Final = _duckdb("entity_stats")
# Commit-time buckets as wide as the inversion tolerance.
BUCKETS_SQL: Final = _duckdb("buckets")
# Suspect runs and suspect (run, entity) groups.
SUSPECT_RUNS_SQL: Final = _duckdb("suspect_runs")
SUSPECT_ENTITIES_SQL: Final = _duckdb("suspect_entities")
