"""The one error family of the project and the fixed exit codes it maps to.

Library code raises a `ForensicsError` subclass with a message that says what went wrong and
what to try next; only the CLI edge turns it into one line on stderr and an exit code, so every
command fails the same way and scripts can rely on the codes documented in README.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ANOMALIES = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INPUT = 4
EXIT_SOURCE = 5
EXIT_STORE = 6
EXIT_INTERNAL = 70

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_ANOMALIES: "`check` found findings of severity warning or error",
    EXIT_USAGE: "bad command line (unknown option, missing argument)",
    EXIT_PARTIAL: "import finished but quarantined some records (see the quarantine table)",
    EXIT_INPUT: "unusable input: missing path, unknown or empty format, nothing importable",
    EXIT_SOURCE: "a source system failed: connection, authentication, permission, timeout",
    EXIT_STORE: "the DuckDB store could not be opened, migrated or queried",
    EXIT_INTERNAL: "a bug in forensics: please report it with the traceback (FORENSICS_DEBUG=1)",
}


class ForensicsError(Exception):
    """An expected failure with a user-facing message and an exit code."""

    exit_code = EXIT_INTERNAL
    title = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """One line (two with a hint) for stderr."""
        text = f"forensics: {self.title}: {self.message}"
        if self.hint:
            text += f"\n  try: {self.hint}"
        return text


class UsageError(ForensicsError):
    exit_code = EXIT_USAGE
    title = "usage"


class InputError(ForensicsError):
    exit_code = EXIT_INPUT
    title = "input"


class SourceError(ForensicsError):
    exit_code = EXIT_SOURCE
    title = "source"


class StoreError(ForensicsError):
    exit_code = EXIT_STORE
    title = "store"


class PartialImport(ForensicsError):
    """Raised after an import that stored what it could but quarantined some records."""

    exit_code = EXIT_PARTIAL
    title = "partial import"
