"""Turning importer output into rows of the store: the one place events are written.

Importers hand over `EventRecord` batches (or, for bulk files, a SQL relation with the same
staging columns); this module derives what every source shares in SQL (id scheme, slot, the
ULID time of the id, content hashes), skips what the store already holds (exactly-once per
run id, event id and content) and marks conflicting copies. Doing the derivation once, in SQL,
keeps the bulk path and the record path identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from forensics.model import EntityRow, QuarantineRecord, RunRow


def run(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> None:
    """Execute a statement and drain its result, so the connection is free for the next."""
    if params is None:
        con.execute(sql).fetchall()
    else:
        con.execute(sql, params).fetchall()


# What makes two copies of an event "the same content" (provenance and write-side metadata
# such as write time or fence are not part of it). Recomputed, never stored, for conflicts.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid_ms_sql(body: str) -> str:
    terms = [
        f"(instr('{_ALPHABET}', substr({body}, {i + 1}, 1)) - 1) * {32 ** (9 - i)}"
        for i in range(10)
    ]
    # Region-tagged ids set the top bit of the 48-bit time: the modulo clears it.
    return f"(({' + '.join(terms)}) % {2**47})"


_ID_BODY = "right(event_id, 26)"
SCHEME_SQL = """CASE
    WHEN regexp_full_match(event_id, '([a-z]+_)?[0-9]{26}') THEN 'slot'
    WHEN regexp_full_match(event_id, '([a-z]+_)?[0-7][0-9A-HJKMNP-TV-Z]{25}') THEN 'ulid'
    ELSE 'unknown' END"""
SLOT_SQL = f"""CASE WHEN regexp_full_match(event_id, '([a-z]+_)?[0-9]{{26}}')
    THEN CAST({_ID_BODY} AS BIGINT) END"""
ID_TIME_SQL = f"""CASE WHEN ({SCHEME_SQL}) = 'ulid'
    THEN make_timestamp(CAST({_ulid_ms_sql(_ID_BODY)} AS BIGINT) * 1000)::TIMESTAMPTZ END"""


def ms_sql(expr: str) -> str:
    """Milliseconds since the epoch of a time, truncated as the SDK's JSON writes it.

    DuckDB's `epoch_ms` rounds to the nearest millisecond: a microsecond copy from
    PostgreSQL would then disagree with the millisecond copy of the same event in a JSON
    export whenever its sub-millisecond part is half a millisecond or more."""
    return f"(epoch_us({expr}) // 1000)"


def envelope_sql(alias: str, event_data: str) -> str:
    """The text whose hash says "same event" (given `event_data` as normalised JSON)."""
    return f"""concat_ws(chr(31), {alias}.event_type, coalesce({alias}.correlation_id, ''),
    coalesce(CAST({ms_sql(f"{alias}.created_at")} AS VARCHAR), ''),
    coalesce(CAST({ms_sql(f"{alias}.occurred_at")} AS VARCHAR), ''),
    coalesce(CAST({alias}.spec_version AS VARCHAR), ''), coalesce({alias}.resume_id, ''),
    coalesce(CAST({event_data} AS VARCHAR), ''),
    CAST(coalesce({alias}.staged, false) AS VARCHAR))"""


def content_hash_sql(alias: str, event_data: str) -> str:
    """`events.content_hash` of a row: its envelope, its payload and what the writer knew.

    A copy that adds what the writer knew (write time, fence) is kept beside a plain copy:
    it is more information, not a conflict, so it is part of the content but not of the
    envelope."""
    payload = f"""CASE WHEN {alias}.payload_raw IS NOT NULL THEN md5({alias}.payload_raw)
    ELSE coalesce(CAST(json({alias}.payload_decoded) AS VARCHAR), '') END"""
    write_side = f"""concat_ws(chr(31),
    coalesce(CAST(epoch_us({alias}.write_time) AS VARCHAR), ''),
    coalesce({alias}.fence_last_event_id, ''),
    coalesce(CAST(epoch_us({alias}.fence_state_updated_at) AS VARCHAR), ''))"""
    return f"""md5_number({envelope_sql(alias, event_data)} || chr(31) || {payload}
    || chr(31) || {write_side})"""


def canonical_json_sql(expr: str) -> str:
    """`expr` (JSON) as text whose top-level keys are in sorted order.

    Two writers of one event may order its keys differently (world-local's file and the
    CLI's copy of it do): that is the same eventData, not a conflict."""
    return f"""CASE WHEN json_type({expr}) = 'OBJECT' THEN '{{' || array_to_string(
    list_transform(list_sort(json_keys({expr})), lambda k: to_json(k)::VARCHAR || ':'
        || json_extract({expr}, '$."' || k || '"')::VARCHAR), ',') || '}}'
    ELSE CAST({expr} AS VARCHAR) END"""


def conflict_keys_sql(relation: str) -> str:
    """The (run, event id) keys among `relation`'s rows whose copies disagree: in their
    envelope, or in payload bytes where copies carry them (a copy without bytes, such as a
    CLI export's decoded value, does not disagree by that alone)."""
    return f"""SELECT e.run_id, e.event_id
    FROM {relation} e
    GROUP BY e.run_id, e.event_id, e.staged
    HAVING count(DISTINCT md5_number({envelope_sql("e", canonical_json_sql("e.event_data"))})) > 1
        OR count(DISTINCT CASE WHEN e.payload_raw IS NOT NULL
                               THEN md5(e.payload_raw) END) > 1"""


def derive_sql(import_id: int, source_kind: str, relation: str) -> str:
    """A SELECT that turns staging columns of `relation` into `events` rows (insert BY NAME).

    The id columns (scheme, slot, ULID time) are derived here too, once per row: the
    scheme first, then slot and time from it (DuckDB would match the patterns again for
    each column that spells them out).
    """
    return f"""
    SELECT
        {int(import_id)} AS import_id,
        '{source_kind}' AS source_kind,
        s.source_location, s.source_position, s.source_tag, s.run_id, s.event_id,
        s.scheme AS id_scheme,
        CASE WHEN s.scheme = 'slot' THEN CAST(s.id_body AS BIGINT) END AS slot,
        CASE WHEN s.scheme = 'ulid' THEN make_timestamp(CAST({_ulid_ms_sql("s.id_body")}
            AS BIGINT) * 1000)::TIMESTAMPTZ END AS id_time,
        s.event_type, s.correlation_id, s.created_at, s.occurred_at, s.write_time,
        s.spec_version, s.resume_id, s.fence_last_event_id, s.fence_state_updated_at,
        s.ed AS event_data, s.payload_field, s.payload_raw,
        json(s.payload_decoded) AS payload_decoded, coalesce(s.payload_format, 'absent')
            AS payload_format,
        coalesce(s.staged, false) AS staged, false AS conflict,
        {content_hash_sql("s", "s.ed")} AS content_hash,
        json(s.extra) AS extra
    FROM (
        SELECT s.*, json(s.event_data) AS ed, {SCHEME_SQL} AS scheme, {_ID_BODY} AS id_body
        FROM {relation} s
    ) s
    """


def insert_relation(
    con: duckdb.DuckDBPyConnection, import_id: int, source_kind: str, relation: str
) -> int:
    """Append the staging rows of `relation` as events; return how many.

    Copies the store already holds are removed afterwards, once per import, by `reconcile`:
    one pass at the end is cheaper than an anti-join per batch, and an interrupted import
    that left copies behind is cleaned up by the rerun's `reconcile` just the same.
    """
    before = held(con, import_id)
    run(con, f"INSERT INTO events BY NAME {derive_sql(import_id, source_kind, relation)}")
    return held(con, import_id) - before


def held(con: duckdb.DuckDBPyConnection, import_id: int) -> int:
    """How many events of import `import_id` the store holds."""
    row = con.execute("SELECT count(*) FROM events WHERE import_id = ?", [import_id]).fetchall()[0]
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Reconciled:
    duplicates: int  # rows of this import dropped because the same content was already held
    conflicts: int  # (run, event id) keys whose copies disagree


def reconcile(con: duckdb.DuckDBPyConnection, import_id: int) -> Reconciled:
    """Drop repeated copies (keeping the earliest) and flag keys whose copies disagree."""
    others = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE import_id <> ? LIMIT 1)", [import_id]
    ).fetchall()[0]
    scope = (
        "events"
        if not (others and others[0])
        else (
            "(SELECT e.* FROM events e SEMI JOIN (SELECT DISTINCT run_id, event_id FROM events"
            f" WHERE import_id = {int(import_id)}) k"
            " ON k.run_id = e.run_id AND k.event_id = e.event_id)"
        )
    )
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE _multi AS
            SELECT run_id, event_id FROM {scope} x GROUP BY run_id, event_id HAVING count(*) > 1""",
    )
    run(
        con,
        """CREATE OR REPLACE TEMP TABLE _repeats AS
           SELECT rid FROM (
               SELECT e.rowid AS rid, row_number() OVER (
                   PARTITION BY e.run_id, e.event_id, e.content_hash
                   ORDER BY e.import_id, e.source_location, e.source_position) AS rn
               FROM events e SEMI JOIN _multi m ON m.run_id = e.run_id AND m.event_id = e.event_id
           ) WHERE rn > 1""",
    )
    row = con.execute("SELECT count(*) FROM _repeats").fetchall()[0]
    duplicates = int(row[0]) if row else 0
    if duplicates:
        run(con, "DELETE FROM events WHERE rowid IN (SELECT rid FROM _repeats)")
    conflicts = _mark_conflicts(con)
    run(con, "DROP TABLE _multi")
    run(con, "DROP TABLE _repeats")
    return Reconciled(duplicates=duplicates, conflicts=conflicts)


def _mark_conflicts(con: duckdb.DuckDBPyConnection) -> int:
    """Flag every copy of a key in `_multi` whose copies disagree; return how many keys."""
    copies = (
        "(SELECT x.* FROM events x SEMI JOIN _multi m"
        " ON m.run_id = x.run_id AND m.event_id = x.event_id)"
    )
    run(con, f"CREATE OR REPLACE TEMP TABLE _conflict_keys AS {conflict_keys_sql(copies)}")
    run(
        con,
        """UPDATE events SET conflict = true FROM _conflict_keys k
           WHERE events.run_id = k.run_id AND events.event_id = k.event_id
             AND NOT events.conflict""",
    )
    row = con.execute("SELECT count(DISTINCT (run_id, event_id)) FROM _conflict_keys").fetchall()[0]
    run(con, "DROP TABLE _conflict_keys")
    return int(row[0]) if row else 0


def write_runs(con: duckdb.DuckDBPyConnection, import_id: int, runs: Sequence[RunRow]) -> int:
    """Upsert run rows: a newer import's record replaces the older one of the same run
    (and within one batch the last row of a run wins)."""
    from forensics.store import batches  # Arrow only where rows are written

    latest = list({r[0]: r for r in runs}.values())
    if latest:
        con.register("_runs_batch", batches.runs_table(latest, import_id))
        try:
            run(
                con,
                "INSERT OR REPLACE INTO run_records SELECT * EXCLUDE (error, extra),"
                " CAST(error AS JSON), CAST(extra AS JSON) FROM _runs_batch",
            )
        finally:
            con.unregister("_runs_batch")
    return len(runs)


def write_entities(
    con: duckdb.DuckDBPyConnection, import_id: int, entities: Sequence[EntityRow]
) -> int:
    """Replace the entity rows a source location had with this import's snapshot of them."""
    if not entities:
        return 0
    from forensics.store import batches  # Arrow only where rows are written

    con.register("_entities_batch", batches.entities_table(entities, import_id))
    try:
        run(
            con,
            "DELETE FROM entities USING (SELECT DISTINCT run_id, entity_id, source_location"
            " FROM _entities_batch) b WHERE entities.run_id = b.run_id"
            " AND entities.entity_id = b.entity_id"
            " AND entities.source_location = b.source_location",
        )
        run(
            con,
            "INSERT INTO entities SELECT * EXCLUDE (extra), CAST(extra AS JSON)"
            " FROM _entities_batch",
        )
    finally:
        con.unregister("_entities_batch")
    return len(entities)


# Quarantined text beyond this is cut (its full size is said): one huge broken record
# must not be the next problem.
MAX_QUARANTINE_RAW = 1 << 20


def write_quarantine(
    con: duckdb.DuckDBPyConnection,
    import_id: int,
    source_kind: str,
    records: Sequence[QuarantineRecord],
) -> int:
    """Insert quarantined records as one Arrow batch (an `executemany` would be a statement
    per row: some 2,000 rows/s where a batch writes hundreds of thousands)."""
    if not records:
        return 0
    import pyarrow as pa

    columns: dict[str, list[str | None]] = {
        "location": [q.provenance.location for q in records],
        "position": [q.provenance.position for q in records],
        "reason": [q.reason for q in records],
        "raw": [_cut(q.raw) for q in records],
    }
    try:
        table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    except (pa.ArrowException, UnicodeError):  # lone surrogates: kept as escapes
        clean = {k: [_utf8(t) for t in v] for k, v in columns.items()}
        table = pa.table({k: pa.array(v, pa.string()) for k, v in clean.items()})
    con.register("_quarantine_batch", table)
    try:
        run(
            con,
            "INSERT INTO quarantine SELECT ?, ?, location, position, reason, raw, now()"
            " FROM _quarantine_batch",
            [import_id, source_kind],
        )
    finally:
        con.unregister("_quarantine_batch")
    return len(records)


def _utf8(text: str | None) -> str | None:
    return None if text is None else text.encode("utf-8", "backslashreplace").decode()


def _cut(raw: str | None) -> str | None:
    if raw is None or len(raw) <= MAX_QUARANTINE_RAW:
        return raw
    return raw[:MAX_QUARANTINE_RAW] + f"… (cut: {len(raw):,} characters in all)"


# How a row read back from the fleet layout is recognised as already held (see
# `insert_fleet_rows`); events are left to `reconcile`.
_FLEET_HELD = {
    "events": "false",
    "run_records": "EXISTS (SELECT 1 FROM run_records h WHERE h.run_id = f.run_id)",
    "entities": (
        "EXISTS (SELECT 1 FROM entities h WHERE h.run_id = f.run_id"
        " AND h.entity_id = f.entity_id AND h.source_location = f.source_location)"
    ),
}


def insert_fleet_rows(
    con: duckdb.DuckDBPyConnection, import_id: int, table: str, relation: str
) -> int:
    """Insert the fleet-layout rows of `table` in `relation` as rows of `import_id` (the
    partition column dropped, hex hashes and text read back as the store's types); returns
    how many."""
    cols = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
    ]
    given = {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description or ()}

    def pick(c: str) -> str:
        if c == "import_id":
            return f"{int(import_id)} AS import_id"
        if c == "content_hash":
            return f"{from_hex128_sql('f.content_hash')} AS content_hash"
        return f'f."{c}"'

    picked = ", ".join(pick(c) for c in cols if c in given)
    row = con.execute(
        f"INSERT INTO {table} BY NAME SELECT {picked} FROM {relation} f"
        f" WHERE NOT {_FLEET_HELD[table]}"
    ).fetchall()
    return int(row[0][0]) if row else 0


def hex128_sql(column: str) -> str:
    """SQL writing a 128-bit unsigned integer as 32 lower-case hex digits (the fleet layout's
    `content_hash`): bit operations only, since DuckDB's decimal text of a UHUGEINT costs
    about a millisecond a value."""
    return (
        f"printf('%016x%016x', ({column} >> 64)::UBIGINT,"
        f" ({column} & 18446744073709551615::UHUGEINT)::UBIGINT)"
    )


def from_hex128_sql(column: str) -> str:
    """SQL reading `hex128_sql`'s text back as a UHUGEINT."""
    return (
        f"(((('0x' || left({column}, 16))::UBIGINT)::UHUGEINT << 64)"
        f" | (('0x' || right({column}, 16))::UBIGINT)::UHUGEINT)"
    )
