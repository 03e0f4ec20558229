"""Decoding stored-but-undecoded payloads of a bulk import, on every core.

Bulk paths store raw payload bytes first (DuckDB does that part without Python); this pass
reads them back in batches, decodes them in worker processes when there are many, and writes
the values back through the import session, so `payload_decoded` is complete when the import
command returns. Logs repeat payloads (the same step input or result in many runs): a
payload met again, in its batch or in one of the last few hundred thousand, is decoded once.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING

import orjson

from forensics.decode import decode_payload
from forensics.importers.lifeline import process_pool
from forensics.store import ImportSession

if TYPE_CHECKING:
    import pyarrow as pa

PARALLEL_MIN_ROWS = 100_000
BATCH = 25_000  # payloads read and decoded at a time
WRITE_ROWS = 100_000  # decoded payloads written back per statement (each costs a pass)
CACHE_LIMIT = 200_000  # decoded payloads remembered (a few hundred bytes each)

Decoded = tuple[str, str]  # format, JSON text


def decode_batch(raws: list[bytes], key: bytes | None) -> list[Decoded]:
    """(format, JSON text) for each raw payload; never raises (bad bytes → format invalid)."""
    out = []
    for raw in raws:
        decoded = decode_payload(raw, key)
        try:
            out.append((decoded.format, orjson.dumps(decoded.value, default=str).decode()))
        except orjson.JSONEncodeError as exc:  # nested past what JSON text may hold here
            out.append(("invalid", orjson.dumps({"__invalid": str(exc)}).decode()))
    return out


class _Batch:
    """One batch of pending payloads: the distinct ones the cache does not know go out to
    be decoded; `done` puts every row's result together when they are back."""

    def __init__(self, rowids: pa.Array, raws: list[bytes], cache: dict[bytes, Decoded]) -> None:
        self.rowids, self.raws = rowids, raws
        distinct = dict.fromkeys(raws)
        self.known = {raw: cache[raw] for raw in distinct if raw in cache}
        self.missing = [raw for raw in distinct if raw not in cache]

    def done(self, decoded: list[Decoded], cache: dict[bytes, Decoded]) -> list[Decoded]:
        found = dict(zip(self.missing, decoded, strict=True))
        if len(cache) + len(found) > CACHE_LIMIT:
            cache.clear()
        cache.update(found)
        found.update(self.known)
        return [found[raw] for raw in self.raws]


def decode_pending(session: ImportSession, key: bytes | None = None) -> int:
    """Decode every pending payload of the session's import; return how many."""
    pending = session.pending_count()
    if not pending:
        return 0
    cache: dict[bytes, Decoded] = {}
    out = _Writes(session)
    workers = min(os.cpu_count() or 1, 8)
    if pending < PARALLEL_MIN_ROWS or workers == 1:
        for rowids, raws in session.pending_payloads(BATCH):
            batch = _Batch(rowids, raws, cache)
            out.add(rowids, batch.done(decode_batch(batch.missing, key), cache))
        out.flush()
        return pending
    # forkserver: never fork a process whose DuckDB threads may hold locks
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with session.store.budget_shared(workers), process_pool(workers, context) as pool:
        window: deque[tuple[_Batch, Future[list[Decoded]]]] = deque()
        for rowids, raws in session.pending_payloads(BATCH):
            batch = _Batch(rowids, raws, cache)
            window.append((batch, pool.submit(decode_batch, batch.missing, key)))
            if len(window) > workers * 2:
                done, future = window.popleft()
                out.add(done.rowids, done.done(future.result(), cache))
        while window:
            done, future = window.popleft()
            out.add(done.rowids, done.done(future.result(), cache))
    out.flush()
    return pending


class _Writes:
    """Decoded batches gathered into `WRITE_ROWS`-row writes: each write passes over the
    import's rows, so fewer, larger ones cost less."""

    def __init__(self, session: ImportSession) -> None:
        self.session = session
        self.rowids: list[pa.Array] = []
        self.decoded: list[Decoded] = []

    def add(self, rowids: pa.Array, decoded: list[Decoded]) -> None:
        self.rowids.append(rowids)
        self.decoded += decoded
        if len(self.decoded) >= WRITE_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.decoded:
            import pyarrow as pa

            self.session.set_decoded(pa.concat_arrays(self.rowids), self.decoded)
        self.rowids, self.decoded = [], []
