"""Loading a plain-format `pg_dump` file through psycopg (no psql needed).

SQL text is sent as it is (psycopg allows several statements per call when there are no
parameters); `COPY … FROM stdin;` blocks are streamed with psycopg's COPY support; psql
meta-commands (`\\restrict`, `\\unrestrict`, introduced by newer pg_dump versions) are
skipped because they only matter to psql itself.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import psycopg


def load_dump(conn: psycopg.Connection[tuple[object, ...]], path: Path) -> None:
    """Load `path` (plain SQL, or gzip-compressed when it ends in `.gz`)."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode()
    lines = iter(text.splitlines(keepends=True))
    pending: list[str] = []
    for line in lines:
        if line.startswith("\\"):
            continue
        if line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;"):
            _run(conn, pending)
            pending = []
            with conn.cursor() as cur, cur.copy(line.rstrip()[:-1]) as copy:
                for data in lines:
                    if data in ("\\.\n", "\\."):
                        break
                    copy.write(data)
        else:
            pending.append(line)
    _run(conn, pending)


def _run(conn: psycopg.Connection[tuple[object, ...]], lines: list[str]) -> None:
    text = "".join(lines)
    if text.strip():
        conn.execute(text.encode())
