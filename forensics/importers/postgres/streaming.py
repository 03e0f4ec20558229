"""Moving rows without waiting: binary COPY in batches, read ahead and written behind.

`copy_batches` drains one `COPY (SELECT …) TO STDOUT (FORMAT BINARY)` into lists of row
tuples, parsed by psycopg's C loaders. `read_ahead` runs such an iterator on a helper thread
a few batches ahead, so the server keeps streaming while we decode; `WriteBehind` hands
Arrow batches to the store on another helper thread (DuckDB releases the GIL while it
inserts). Both keep at most a few batches in memory, and both re-raise a helper's error in
the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

T = TypeVar("T")
Row = tuple[Any, ...]
_DONE = object()


def copy_batches(
    conn: psycopg.Connection[tuple[object, ...]],
    statement: sql.Composed,
    params: dict[str, Any],
    types: Sequence[str],
    batch_rows: int,
) -> Iterator[list[Row]]:
    """Rows of a binary COPY statement, `batch_rows` at a time."""
    with conn.cursor() as cur, cur.copy(statement, params) as copy:
        copy.set_types(list(types))
        batch: list[Row] = []
        append = batch.append
        for row in copy.rows():
            append(row)
            if len(batch) >= batch_rows:
                yield batch
                batch = []
                append = batch.append
        if batch:
            yield batch


def read_ahead(
    source: Iterator[T], depth: int, cancel: Callable[[], None]
) -> Generator[T, None, None]:
    """The items of `source`, produced by a helper thread up to `depth` items ahead.

    When the consumer stops early (an error, or closing the generator), `cancel` is called
    so that a helper blocked on the server returns, and the helper is joined.
    """
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                if stop.is_set():
                    return
                items.put(item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            items.put(_Failure(exc))
            return
        items.put(_DONE)

    worker = threading.Thread(target=produce, name="forensics-pg-read", daemon=True)
    worker.start()
    finished = False
    try:
        while (item := items.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
        finished = True
    finally:
        if not finished:
            stop.set()
            cancel()
            _drain(items, worker)
        worker.join()


def _drain(items: queue.Queue[object], worker: threading.Thread) -> None:
    """Unblock a producer stuck on a full queue until it has seen the stop flag."""
    while worker.is_alive():
        try:
            items.get(timeout=0.05)
        except queue.Empty:
            continue


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class WriteBehind:
    """Runs `write(item)` for each submitted item on one helper thread, in order."""

    def __init__(self, write: Callable[[Any], None]) -> None:
        self.write = write
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="forensics-pg-store")
        self.pending: Future[None] | None = None

    def submit(self, item: Any) -> None:
        """Queue `item`; waits for the previous one first (so one is in flight at most)."""
        self.wait()
        self.pending = self.pool.submit(self.write, item)

    def wait(self) -> None:
        """Wait for the item in flight; re-raises its error here."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.close()
            return
        # An error is already on its way out: wait for the helper, but let that error win.
        self.pool.shutdown(wait=True)
