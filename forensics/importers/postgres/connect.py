"""Opening the one read-only snapshot an import reads, and saying what went wrong with it.

Every import runs in a single `REPEATABLE READ READ ONLY` transaction, so events and entity
tables come from one snapshot and the server refuses any write even if we had a bug. The
session also gets `default_transaction_read_only`, a statement timeout and `TimeZone=UTC`
(naive `timestamp` columns hold UTC) through libpq's `options`, so no `SET` is ever sent.
psycopg errors become one-line `SourceError`s: unreachable server, refused login, missing
database, timeout, missing privilege, lost connection, each with what to try next.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING

from forensics.errors import ForensicsError, SourceError
from forensics.importers.postgres.dsn import hide, parse, redact

if TYPE_CHECKING:
    import psycopg

LOG = logging.getLogger("forensics.importers.postgres")
APPLICATION_NAME = "forensics"
CONNECT_TIMEOUT_S = 10
_AUTH = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "role ",
    "no pg_hba.conf entry",
    "permission denied for database",
    "not permitted to log in",
)
_PREFIX = re.compile(r"^(connection failed: )?(connection to server (at|on) .*? failed: )?")
_GRANT_HINT = (
    "give the importing role USAGE on the schema and SELECT on its tables, e.g. "
    "GRANT USAGE ON SCHEMA {schema} TO {role}; "
    "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}"
)


def where(dsn: str) -> str:
    """How to name the server in messages: the DSN without its password."""
    shown = redact(dsn) if dsn.strip() else ""
    return shown or "the server libpq's defaults point at (PGHOST, PGPORT, …)"


def session_options(dsn: str, statement_timeout_ms: int) -> dict[str, str]:
    """libpq parameters added to the user's DSN: read-only session, timeout, UTC."""
    given = parse(dsn)
    base = given.get("options", os.environ.get("PGOPTIONS", ""))
    ours = (
        f"-c default_transaction_read_only=on -c statement_timeout={statement_timeout_ms}"
        " -c TimeZone=UTC"
    )
    extra = {"options": f"{base} {ours}".strip()}
    if "connect_timeout" not in given and "PGCONNECT_TIMEOUT" not in os.environ:
        extra["connect_timeout"] = str(CONNECT_TIMEOUT_S)
    if "application_name" not in given and "PGAPPNAME" not in os.environ:
        extra["application_name"] = APPLICATION_NAME
    return extra


def open_snapshot(dsn: str, statement_timeout_ms: int) -> psycopg.Connection[tuple[object, ...]]:
    """A connection whose first statement opens a REPEATABLE READ READ ONLY transaction."""
    import psycopg
    from psycopg import IsolationLevel
    from psycopg.conninfo import make_conninfo

    conninfo = make_conninfo(dsn, **session_options(dsn, statement_timeout_ms))
    try:
        conn = psycopg.connect(conninfo, autocommit=False)
    except psycopg.Error as exc:
        raise connect_error(exc, dsn) from None
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.add_notice_handler(_log_notice)
    return conn


def _log_notice(diag: psycopg.errors.Diagnostic) -> None:
    """Server notices (and, when the role logs statements to the client, its statement log)
    go to the `forensics.importers.postgres` logger at DEBUG level, never to stdout."""
    severity = diag.severity_nonlocalized or diag.severity or "NOTICE"
    LOG.debug("server %s: %s", severity, diag.message_primary)


def connect_error(exc: Exception, dsn: str) -> ForensicsError:
    """A failed connection attempt as one line naming the server and the reason."""
    # libpq's second line ("Is the server running…?") is what our hint says already.
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = _PREFIX.sub("", hide(first, dsn)).replace("FATAL: ", "").strip()
    server = where(dsn)
    lowered = detail.lower()
    if lowered.startswith("database ") and "does not exist" in lowered:
        return SourceError(
            f"PostgreSQL at {server} has no such database: {detail}",
            hint="check the database name (dbname) in --dsn; `psql -l` lists them",
        )
    if any(marker in lowered for marker in _AUTH):
        return SourceError(
            f"PostgreSQL at {server} refused the login: {detail}",
            hint="check user, database and password (in the DSN, PGPASSWORD, ~/.pgpass or a"
            " service file) and that pg_hba.conf lets this client in",
        )
    return SourceError(
        f"cannot connect to PostgreSQL at {server}: {detail}",
        hint="is the server running and reachable? check host and port in --dsn"
        " (and sslmode, if the server requires TLS)",
    )


def query_error(exc: Exception, dsn: str, doing: str, schema: str) -> ForensicsError:
    """A failed statement (timeout, privilege, lost connection, other) as one line."""
    import psycopg
    from psycopg import errors

    detail = hide(_primary(exc), dsn)
    if isinstance(exc, errors.QueryCanceled):
        return SourceError(
            f"PostgreSQL cancelled {doing}: {detail}",
            hint="raise --statement-timeout (0 turns it off) or import fewer runs"
            " (--run, --since, --status); the store keeps what was imported so far",
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        return SourceError(f"permission denied while {doing}: {detail}", hint=grant_hint(schema))
    if isinstance(exc, psycopg.OperationalError):
        return SourceError(
            f"lost the connection to PostgreSQL while {doing}: {detail}",
            hint="rerun the same command: what was stored is kept and the rerun completes it",
        )
    return SourceError(
        f"PostgreSQL failed while {doing}: {detail}",
        hint="check the server log for this statement; rerun with FORENSICS_DEBUG=1 for details",
    )


def grant_hint(schema: str, role: str = "ROLE_NAME") -> str:
    return _GRANT_HINT.format(schema=schema, role=role)


def _primary(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return str(primary or exc)
