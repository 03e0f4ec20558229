"""The one exception type of `forensics.decode`.

Every decoder in this package reports malformed input by raising `DecodeError`, a
`ValueError` subclass whose message names what was wrong and where. The lenient entry
points (`decode_payload`, `decode_field`, ...) never let it escape: they turn it into a
payload of format ``"invalid"``. Callers that must quarantine bad payloads use the strict
variants, which raise it.
"""

from __future__ import annotations


class DecodeError(ValueError):
    """Bytes or values that cannot be decoded; the message says what and why."""

    def __init__(self, message: str, context: str | None = None) -> None:
        self.reason = message
        self.context = context
        super().__init__(f"{context}: {message}" if context else message)
