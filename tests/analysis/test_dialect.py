"""The portable sieve SQL: macros expand per engine, nested and around quoted commas."""

from __future__ import annotations

import duckdb
import pytest

from forensics.analysis.dialect import render
from forensics.analysis.sieve import STATEMENTS, select


def test_macros_expand_innermost_first_and_keep_quoted_commas() -> None:
    sql = "SELECT fx_idiv(fx_epoch_ms(coalesce(a, b)), 10), fx_json_text(j, '$.a,b)')"
    assert render(sql, "duckdb") == (
        "SELECT epoch_ms(coalesce(a, b)) // 10, json_extract_string(j, '$.a,b)')"
    )
    assert render(sql, "spark") == (
        "SELECT CAST(round(unix_micros(coalesce(a, b)) / 1000.0) AS BIGINT) div 10,"
        " get_json_object(j, '$.a,b)')"
    )


def test_an_unknown_macro_or_an_unclosed_call_is_an_error() -> None:
    with pytest.raises(KeyError, match="fx_nope"):
        render("SELECT fx_nope(1)", "spark")
    with pytest.raises(ValueError, match="unclosed"):
        render("SELECT fx_hash(a", "duckdb")


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_every_statement_renders_without_macros_left(engine: str) -> None:
    for name in STATEMENTS:
        assert "fx_" not in select(name, engine).replace("_fx_", "")


def test_duckdb_epoch_ms_rounds_as_the_spark_form_does() -> None:
    # the Spark form rounds half up; DuckDB's epoch_ms must agree on microsecond times
    rows = duckdb.sql(
        "SELECT epoch_ms(t), CAST(round(epoch_us(t) / 1000.0) AS BIGINT) FROM (VALUES"
        " (TIMESTAMPTZ '2026-11-21 09:07:05.285500+00'),"
        " (TIMESTAMPTZ '2026-11-21 09:07:05.285499+00'),"
        " (TIMESTAMPTZ '2026-11-21 09:07:05.285501+00')) v(t)"
    ).fetchall()
    assert all(a == b for a, b in rows)
