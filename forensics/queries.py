"""Canned queries: SQL files with a header, found in `queries/` and run with bound parameters.

A file starts with comment lines `-- name:`, `-- title:`, `-- description:` and any number of
`-- param: NAME = DEFAULT  description` (no `= DEFAULT` means required). The body uses
`$NAME` placeholders, which DuckDB binds: values are never formatted into the SQL text.
Search path: `$FORENSICS_QUERIES` (colon-separated folders), then the bundled `queries/`.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from forensics.errors import InputError, StoreError, UsageError
from forensics.store import Store

_HEADER = re.compile(r"^--\s*(name|title|description|param):\s*(.*)$")
_PARAM = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\s*(?:=\s*(?P<default>\S+))?\s*(?P<doc>.*)$")


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None
    description: str

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class CannedQuery:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    sql: str
    path: Path


def query_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("FORENSICS_QUERIES", "").split(os.pathsep) if p]
    here = Path(__file__).resolve().parent
    dirs.append(here.parent / "queries")  # a source checkout / editable install
    dirs.append(Path(sys.prefix) / "share" / "forensics" / "queries")  # a wheel install
    return [d for d in dirs if d.is_dir()]


def parse_query(path: Path) -> CannedQuery:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    params: list[Param] = []
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if not match:
            if line.strip() and not line.strip().startswith("--"):
                break
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "param":
            p = _PARAM.match(value)
            if not p:
                raise InputError(
                    f"{path}: bad param line {value!r}", hint="-- param: name = default  doc"
                )
            params.append(Param(p["name"], p["default"], p["doc"].strip()))
        else:
            meta[key] = value
    for key in ("name", "title", "description"):
        if key not in meta:
            raise InputError(f"{path}: header has no `-- {key}:` line")
    return CannedQuery(meta["name"], meta["title"], meta["description"], tuple(params), text, path)


def load_queries() -> dict[str, CannedQuery]:
    """All canned queries by name; an earlier folder overrides a later one."""
    found: dict[str, CannedQuery] = {}
    for folder in reversed(query_dirs()):
        for path in sorted(folder.glob("*.sql")):
            q = parse_query(path)
            found[q.name] = q
    return dict(sorted(found.items()))


def bind(query: CannedQuery, given: dict[str, str]) -> dict[str, Any]:
    """Parameter values for `query`, defaults filled in; unknown or missing ones are errors."""
    known = {p.name for p in query.params}
    unknown = set(given) - known
    if unknown:
        raise UsageError(
            f"query {query.name} has no parameter {', '.join(sorted(unknown))}",
            hint=f"its parameters: {', '.join(sorted(known)) or 'none'}",
        )
    values: dict[str, Any] = {}
    for p in query.params:
        if p.name in given:
            values[p.name] = given[p.name]
        elif p.default is not None:
            values[p.name] = None if p.default == "null" else p.default
        else:
            raise UsageError(f"query {query.name} needs --param {p.name}=…", hint=p.description)
    return values


def run_canned(
    store: Store, name: str, given: dict[str, str]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    queries = load_queries()
    if name not in queries:
        raise UsageError(f"no canned query {name!r}", hint="list them with `forensics queries`")
    q = queries[name]
    try:
        return store.query(q.sql, bind(q, given) or None)
    except StoreError as exc:
        cause = exc.__cause__
        bad_value = isinstance(cause, duckdb.DataError) or (
            isinstance(cause, duckdb.BinderException) and "cannot be negative" in str(cause)
        )
        if not bad_value:
            raise
        shown = ", ".join(f"{k}={v}" for k, v in sorted(given.items())) or "the defaults"
        raise UsageError(
            f"query {name}: a parameter value does not fit ({shown}): {exc.message}",
            hint="its parameters: "
            + "; ".join(f"{p.name} (default {p.default}): {p.description}" for p in q.params),
        ) from None
