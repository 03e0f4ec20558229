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

ENTITY_EVENT: Final = (
    "(starts_with(event_type, 'step_') OR starts_with(event_type, 'hook_')"
    " OR starts_with(event_type, 'wait_'))"
)
# Seeded ULID correlation ids (`step_01…`, 31 characters) are grouped by the end of their
# body, so one body under two prefixes lands in one group (12 characters: short strings are
# stored inline, which makes this key cheap; two bodies sharing their last 12 characters are
# merely one more suspect). Counters (`step_00…1`) stay whole: each kind counts on its own.
GKEY: Final = (
    f"CASE WHEN correlation_id IS NULL OR NOT {ENTITY_EVENT} THEN NULL"
    " WHEN length(correlation_id) = 31 AND substr(correlation_id, 6, 2) <> '00'"
    " THEN right(correlation_id, 12) ELSE correlation_id END"
)
ULID_CID: Final = (
    "(length(correlation_id) = 31 AND substr(correlation_id, 5, 1) = '_'"
    " AND substr(correlation_id, 6, 2) <> '00')"
)
SLOT_ID: Final = "substr(event_id, length(event_id) - 25, 2) = '00'"
MESSAGE_SQL: Final = (
    "coalesce(json_extract_string(payload_decoded, '$.message'),"
    " CASE WHEN json_type(payload_decoded) = 'VARCHAR' THEN payload_decoded ->> '$' END)"
)
CORRUPT_SQL: Final = (
    "(event_type IN ('run_failed', 'workflow_failed') AND ("
    f"json_extract_string(event_data, '$.errorCode') IN {sql_list(CORRUPTION_CODES)} OR "
    + " OR ".join(f"starts_with({MESSAGE_SQL}, '{p}')" for p in CORRUPTION_PREFIXES)
    + "))"
)
_NOT_STAGED: Final = "NOT staged"
# The XOR of a run's content hashes, as its two 64-bit halves: DuckDB's `bit_xor` over the
# 128-bit hash itself is two orders of magnitude slower once there are thousands of runs.
CONTENT_X: Final = (
    "bit_xor((content_hash >> 64)::UBIGINT) || ':'"
    " || bit_xor((content_hash & 18446744073709551615::UHUGEINT)::UBIGINT)"
)

_VOCAB: Final = {
    "RUN_OPENING": sql_list(RUN_OPENING),
    "RUN_TERMINAL": sql_list(RUN_TERMINAL),
    "RESOLUTION": sql_list(RESOLUTION),
    "CREATION": sql_list(CREATION),
}


def _load(name: str, fragments: dict[str, str]) -> str:
    """The statement in `sql/<name>.sql` without its leading comment, `{UPPER}` names filled
    in (lower-case `{names}` are filled by the caller at run time)."""
    text = (files("forensics.analysis") / "sql" / f"{name}.sql").read_text(encoding="utf-8")
    lines = text.splitlines()
    while lines and lines[0].startswith("--"):
        lines.pop(0)
    body = "\n".join(lines)
    return re.sub(r"\{([A-Z_]+)\}", lambda m: {**_VOCAB, **fragments}[m.group(1)], body)


_COMMON: Final = {
    "CONTENT_X": CONTENT_X,
    "NOT_STAGED": _NOT_STAGED,
    "CORRUPT_SQL": CORRUPT_SQL,
    "ULID_CID": ULID_CID,
    "SLOT_ID": SLOT_ID,
}
# What the events of a run say, one row per run (`_fx_facts_ev`); `{where}` picks the runs.
FACTS_EV_SQL: Final = _load("facts_ev", _COMMON)
# What the sieve's statistics of a run depend on (see the file).
KEY_SQL: Final = _load("key", _COMMON)
# Run-level facts: `_fx_facts_ev` joined with run records, entity rows and traces.
FACTS_SQL: Final = _load("facts", {})

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
_IS_CREATION: Final = f"(event_type IN {sql_list(CREATION)})::BIGINT"
_NOT_TERMINAL: Final = f"(event_type NOT IN {sql_list(TERMINAL)})::BIGINT"

# Order tests in two numbers, per (run, entity): see the file.
ENTITY_STATS_SQL: Final = _load(
    "entity_stats",
    {"PACK": _PACK, "IS_CREATION": _IS_CREATION, "NOT_TERMINAL": _NOT_TERMINAL, "GKEY": GKEY},
)


def unpack(packed: int) -> dict[str, int]:
    """The byte-sized counts of `_fx_ent.packed`, by name."""
    return {name: (packed >> (8 * i)) & 255 for i, name in enumerate(PACKED_FIELDS)}


# Commit-time buckets as wide as the inversion tolerance: see the file.
BUCKETS_SQL: Final = _load("buckets", {"SLOT_ID": SLOT_ID})


def _base32(column: str) -> str:
    """SQL for the value of a 16-character Crockford body (as HUGEINT)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    terms = [
        f"(instr('{alphabet}', substr({column}, {i + 1}, 1)) - 1)::HUGEINT * {32 ** (15 - i)}"
        for i in range(16)
    ]
    return "(" + " + ".join(terms) + ")"


# Suspect runs and suspect (run, entity) groups: see the files.
SUSPECT_RUNS_SQL: Final = _load(
    "suspect_runs", {"BODY_HI": _base32("body_hi"), "BODY_LO": _base32("body_lo")}
)
SUSPECT_ENTITIES_SQL: Final = _load("suspect_entities", {})
