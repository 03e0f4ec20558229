"""Finishing what a killed import left: the first thing every command that writes does.

An import stores whole batches, each in its own transaction, and decodes bulk payloads
after storing them; a process killed half way leaves its `imports` row `running`, some
payloads undecoded and repeated copies not yet dropped. `finish_interrupted` finds such
imports (only one process can write a store, so every `running` import it sees is dead),
decodes their payloads, drops repeats, marks conflicts and sets their status to
`interrupted`, with a note saying what was done and what to run next.
"""

from __future__ import annotations

from forensics.importers.payloads import decode_pending
from forensics.store import Store


def finish_interrupted(store: Store, key: bytes | None = None) -> list[str]:
    """Complete every interrupted import of `store`; one note per import finished."""
    notes = []
    for import_id, source_kind, location in store.interrupted_imports():
        session = store.resume_import(import_id, source_kind, location)
        decoded = decode_pending(session, key)
        notes.append(session.close_interrupted(decoded))
    return notes
