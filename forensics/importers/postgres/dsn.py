"""Connection strings without their secrets: what may be shown, logged and stored.

A DSN may carry a password (`postgresql://user:secret@host/db`, `password=secret`); the
importer hands the DSN to libpq untouched (so PGPASSWORD, ~/.pgpass and service files work
as usual) but everything it prints, logs or stores goes through `redact`. libpq's own parse
errors quote pieces of the string, so `scrub` masks every quoted piece that is not a known
option name, and `hide` masks the password in any other message before it is shown.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from forensics.errors import UsageError

# The libpq options that hold secrets: never printed, logged or stored.
SECRET_OPTIONS = frozenset({"password", "sslpassword"})
_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)
_QUOTED = re.compile(r'"([^"]*)"')
# libpq option names that may appear quoted in its messages (never secrets themselves).
_OPTION_NAMES = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "sslpassword",
        "passfile",
        "service",
        "options",
        "application_name",
        "connect_timeout",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "target_session_attrs",
        "client_encoding",
        "keepalives",
        "channel_binding",
        "gssencmode",
        "require_auth",
        "load_balance_hosts",
    }
)


def parse(dsn: str) -> dict[str, str]:
    """The options of a DSN (URL or key=value); a malformed one is a usage error."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except ProgrammingError as exc:
        raise UsageError(
            f"--dsn is not a connection string or URL libpq understands ({scrub(str(exc))})",
            hint="use postgresql://USER@HOST:PORT/DBNAME or 'host=… dbname=… user=…'",
        ) from None


def redact(dsn: str) -> str:
    """The DSN as the user wrote it, minus every secret (URL userinfo, `password=`,
    `sslpassword=`)."""
    if _URL.match(dsn):
        parts = urlsplit(dsn)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hosts = netloc.rpartition("@")
            netloc = f"{userinfo.partition(':')[0]}@{hosts}"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in SECRET_OPTIONS])
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    from psycopg.conninfo import make_conninfo

    options = {k: v for k, v in parse(dsn).items() if k not in SECRET_OPTIONS}
    return make_conninfo(**options)


def scrub(message: str) -> str:
    """A libpq parse error with every quoted piece that is not an option name masked."""
    masked = _QUOTED.sub(lambda m: m.group(0) if _harmless(m.group(1)) else '"***"', message)
    return " ".join(masked.split())


def _harmless(piece: str) -> bool:
    """An option name or punctuation (`"="`): safe to show."""
    return piece.lower() in _OPTION_NAMES or not any(c.isalnum() for c in piece)


def hide(message: str, dsn: str) -> str:
    """A driver or server message on one line, with the DSN's secrets (if any) masked."""
    try:
        options = parse(dsn)
    except UsageError:
        options = {}
    for name in SECRET_OPTIONS:
        if secret := options.get(name):
            message = message.replace(secret, "***")
    return " ".join(message.split())
