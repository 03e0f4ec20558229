"""The portable SQL of the fleet sieve, and its per-engine forms where a function differs.

The sieve's statements (`sql/*.sql`) are written once, in the subset DuckDB and Spark SQL 4
share: `count(*) FILTER (WHERE …)`, window functions, `QUALIFY`, standard joins and
aggregates, `bit_or`/`bit_xor`/`bit_count`, `>>`, `&`, `~`, `::` casts and `TRY_CAST`.
Where the engines spell a function differently the statements call an `fx_…` macro, which
`render` expands for the engine. Each engine's SQL is checked by running it (the tests run
the sieve on both engines over the same fleets), never by translating one into the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

Macro = Callable[[list[str]], str]


def _json_text(a: list[str]) -> str:
    return f"json_extract_string({a[0]}, {a[1]})"


def _spark_int128(a: list[str]) -> str:
    return f"CAST({a[0]} AS DECIMAL(38,0))"


def _fingerprint(a: list[str]) -> str:
    return f"md5(concat_ws('|', {', '.join(a)}))"


def _spark_fingerprint(a: list[str]) -> str:
    return "md5(concat_ws('|', " + ", ".join(f"CAST({x} AS STRING)" for x in a) + "))"


DUCKDB: Final[dict[str, Macro]] = {
    # the text of a JSON value at a path (NULL when absent)
    "json_text": _json_text,
    # a JSON document that is a string: its value (else NULL)
    "json_string": lambda a: f"CASE WHEN json_type({a[0]}) = 'VARCHAR' THEN {a[0]} ->> '$' END",
    # a JSON boolean at a path, false when absent
    "json_flag": lambda a: f"coalesce(json_extract({a[0]}, {a[1]})::BOOLEAN, false)",
    "starts_with": lambda a: f"starts_with({a[0]}, {a[1]})",
    # milliseconds since the epoch, rounded half up as DuckDB's epoch_ms does
    "epoch_ms": lambda a: f"epoch_ms({a[0]})",
    # integer division truncating toward zero
    "idiv": lambda a: f"{a[0]} // {a[1]}",
    # a 64-bit hash of the arguments (only ever compared for equality)
    "hash": lambda a: f"hash({', '.join(a)})",
    # an exact integer of up to 128 bits
    "int128": lambda a: f"{a[0]}::HUGEINT",
    # the XOR of the 128-bit content hashes, as its two 64-bit halves
    "content_x": lambda a: (
        f"bit_xor(({a[0]} >> 64)::UBIGINT) || ':'"
        f" || bit_xor(({a[0]} & 18446744073709551615::UHUGEINT)::UBIGINT)"
    ),
    "fingerprint": _fingerprint,
}

SPARK: Final[dict[str, Macro]] = {
    "json_text": lambda a: f"get_json_object({a[0]}, {a[1]})",
    "json_string": lambda a: (
        f"CASE WHEN substr(ltrim({a[0]}), 1, 1) = '\"' THEN get_json_object({a[0]}, '$') END"
    ),
    "json_flag": lambda a: f"coalesce(TRY_CAST(get_json_object({a[0]}, {a[1]}) AS BOOLEAN), false)",
    "starts_with": lambda a: f"startswith({a[0]}, {a[1]})",
    "epoch_ms": lambda a: f"CAST(round(unix_micros({a[0]}) / 1000.0) AS BIGINT)",
    "idiv": lambda a: f"{a[0]} div {a[1]}",
    "hash": lambda a: f"xxhash64({', '.join(a)})",
    "int128": _spark_int128,
    # content hashes are decimal text in the fleet layout
    "content_x": lambda a: f"CAST(bit_xor(xxhash64({a[0]})) AS STRING)",
    "fingerprint": _spark_fingerprint,
}

ENGINES: Final = {"duckdb": DUCKDB, "spark": SPARK}
_CALL: Final = re.compile(r"\bfx_([a-z0-9_]+)\(")


def _arguments(sql: str, start: int) -> tuple[list[str], int]:
    """The comma-separated arguments of the call whose `(` is at `start`, and the index after
    its `)`; commas inside parentheses or quotes belong to an argument."""
    args, depth, quote, begin = [], 0, "", start + 1
    for i in range(start + 1, len(sql)):
        c = sql[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif c in ",)" and not depth:
            args.append(sql[begin:i].strip())
            begin = i + 1
            if c == ")":
                return args, i + 1
    raise ValueError(f"unclosed macro call in SQL at {start}: {sql[start - 20 : start + 40]!r}")


def render(sql: str, engine: str) -> str:
    """`sql` with every `fx_name(…)` macro expanded for `engine` (innermost first)."""
    macros = ENGINES[engine]
    while True:
        calls = list(_CALL.finditer(sql))
        if not calls:
            return sql
        m = calls[-1]  # the last call has no macro call inside its arguments
        args, end = _arguments(sql, m.end() - 1)
        if m.group(1) not in macros:
            raise KeyError(f"no SQL macro fx_{m.group(1)} for {engine}")
        sql = sql[: m.start()] + macros[m.group(1)](args) + sql[end:]
