"""Parsing and decoding on every core: an ordered map over batches that moves to worker
processes once an import turns out to be large.

Parsing records and decoding their payloads is pure Python work. The first batches are done
in this process; once `threshold` rows went through (and there is more than one core) a
pool of workers takes over (by default one per core but one, while this process keeps
reading its source and writing to the store), so small and incremental imports never pay
for starting workers. The pool uses forkserver: forking a process whose DuckDB or libpq threads may
hold locks is unsafe. Results come back in submission order, a few batches in flight.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from forensics.importers.lifeline import process_pool

T = TypeVar("T")
R = TypeVar("R")

PARALLEL_MIN_ROWS = 100_000
MAX_WORKERS = 8


class Decoders:
    """Maps jobs over batches: inline until `threshold` rows were seen, then in a pool."""

    def __init__(
        self, threshold: int | None = None, spare_cores: int = 1, preload: Sequence[str] = ()
    ) -> None:
        self.threshold = PARALLEL_MIN_ROWS if threshold is None else threshold
        # Modules the fork server imports before it forks the first worker, so workers do
        # not each import the job's code (it counts when the fork server starts with them).
        self.preload = list(preload)
        # `spare_cores` stay with this process, for the work it does beside the workers
        # (parsing COPY rows, building Arrow batches, DuckDB's inserts on its own threads).
        self.workers = _workers(spare_cores)
        self.seen = 0
        self.pool: ProcessPoolExecutor | None = None
        self.pool_size = 0

    def spare(self, cores: int) -> None:
        """Keep `cores` for this process from the next job on (between two maps: a pool of
        another size is started afresh when the next job needs it)."""
        workers = _workers(cores)
        if self.pool is not None and workers != self.pool_size:
            self.pool.shutdown(wait=True)
            self.pool = None
        self.workers = workers

    def map(
        self, job: Callable[..., R], items: Iterable[tuple[T, int, tuple[Any, ...]]]
    ) -> Iterator[tuple[T, R]]:
        """`(item, job(*args))` for each `(item, rows, args)`, in order."""
        pending: deque[tuple[T, Callable[[], R], bool]] = deque()  # item, result, inline
        for item, rows, args in items:
            self.seen += rows
            pool = self._pool()
            if pool is None:
                pending.append((item, _ready(job(*args)), True))
            else:
                pending.append((item, pool.submit(job, *args).result, False))
            while pending and (pending[0][2] or len(pending) > 2 * self.workers):
                item_done, result, _ = pending.popleft()
                yield item_done, result()
        while pending:
            item_done, result, _ = pending.popleft()
            yield item_done, result()

    def _pool(self) -> ProcessPoolExecutor | None:
        if self.pool is None and self.workers >= 1 and self.seen >= self.threshold:
            context = multiprocessing.get_context("forkserver")
            if self.preload:
                context.set_forkserver_preload(self.preload)
            self.pool = process_pool(self.workers, context)
            self.pool_size = self.workers
        return self.pool

    def __enter__(self) -> Decoders:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=exc is not None)


def _workers(spare_cores: int) -> int:
    return min((os.cpu_count() or 1) - spare_cores, MAX_WORKERS)


def _ready(value: R) -> Callable[[], R]:
    return lambda: value


def stop_forkserver() -> None:
    """End the fork server the pools start (it outlives them, holding its preloaded modules)
    once no pool runs; a later pool starts it again. For long-running processes (a watch)."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)  # the standard library's own way to end it
    if callable(stop) and getattr(server, "_forkserver_pid", None) is not None:
        stop()
