"""Decoding stored-but-undecoded payloads of a bulk import, on every core.

Bulk paths store raw payload bytes first (DuckDB does that part without Python); this pass
reads them back in batches, decodes them in worker processes when there are many, and writes
the values back through the import session, so `payload_decoded` is complete when the import
command returns.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from itertools import islice

import orjson

from forensics.decode import decode_payload
from forensics.store import ImportSession

PARALLEL_MIN_ROWS = 100_000
BATCH = 25_000


def decode_batch(raws: list[bytes], key: bytes | None) -> list[tuple[str, str]]:
    """(format, JSON text) for each raw payload; never raises (bad bytes → format invalid)."""
    out = []
    for raw in raws:
        decoded = decode_payload(raw, key)
        out.append((decoded.format, orjson.dumps(decoded.value, default=str).decode()))
    return out


def decode_pending(session: ImportSession, key: bytes | None = None) -> int:
    """Decode every pending payload of the session's import; return how many distinct
    payloads that took (each is decoded once however many events carry it)."""
    pending = session.pending_count()
    if not pending:
        return 0
    workers = min(os.cpu_count() or 1, 8)
    if pending < PARALLEL_MIN_ROWS or workers == 1:
        for raws, rowids in session.pending_payloads(BATCH):
            session.set_decoded(rowids, decode_batch(raws, key))
        return pending
    # forkserver: never fork a process whose DuckDB threads may hold locks
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        chunks = session.pending_payloads(BATCH)
        window = [
            (rowids, pool.submit(decode_batch, raws, key))
            for raws, rowids in islice(chunks, workers * 2)
        ]
        while window:
            rowids, future = window.pop(0)
            session.set_decoded(rowids, future.result())
            nxt = next(chunks, None)
            if nxt is not None:
                window.append((nxt[1], pool.submit(decode_batch, nxt[0], key)))
    return pending
