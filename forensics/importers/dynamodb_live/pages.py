"""Reading pages of Scan and Query results on worker threads, in the order they arrive.

Each `Request` (one scan segment, or one run's query) is paged through by a worker thread
that follows `LastEvaluatedKey` until a page comes back without one, including the empty
last page DynamoDB returns when a page ended exactly at its limit. Pages go through a bounded
queue to the one consumer (the thread that writes the store), so memory stays at a few pages
per worker however large the table is, and HTTP waits overlap with the consumer's work. The
first failure stops every worker and is raised in the consumer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from forensics.importers.dynamodb_live.client import RAW_PAGE, Connection

_PUT_WAIT: Final = 0.2  # seconds between checks of the stop flag while the queue is full


@dataclass(frozen=True)
class Request:
    """One paged read: `operation` is `scan` or `query`; `label` names it in provenance."""

    operation: str
    table: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One response page: its typed items (attribute -> typed value) as DynamoDB sent them."""

    request: Request
    number: int  # 1-based within its request
    items: list[Any]


@dataclass
class _Failure:
    error: BaseException


@dataclass
class ReadStats:
    """What the readers did, for the import notes."""

    requests: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    items: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, operation: str, items: int) -> None:
        with self.lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1
            self.pages += 1
            self.items += items


def read_pages(
    conn: Connection, requests: list[Request], workers: int, stats: ReadStats | None = None
) -> Iterator[Page]:
    """Every page of every request, `workers` requests at a time, as they arrive."""
    todo: queue.Queue[Request] = queue.Queue()
    for request in requests:
        todo.put(request)
    count = max(1, min(workers, len(requests)))
    out: queue.Queue[Page | _Failure | None] = queue.Queue(maxsize=2 * count + 2)
    stop = threading.Event()
    tally = stats or ReadStats()
    threads = [
        threading.Thread(
            target=_work, args=(conn, todo, out, stop, tally), name=f"dynamodb-{n}", daemon=True
        )
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield from _drain(out, count)
    finally:
        stop.set()
        _discard(out)
        for thread in threads:
            thread.join()


def _drain(out: queue.Queue[Page | _Failure | None], workers: int) -> Iterator[Page]:
    finished = 0
    while finished < workers:
        got = out.get()
        if got is None:
            finished += 1
        elif isinstance(got, _Failure):
            raise got.error
        else:
            yield got


def _discard(out: queue.Queue[Page | _Failure | None]) -> None:
    while True:
        try:
            out.get_nowait()
        except queue.Empty:
            return


def _work(
    conn: Connection,
    todo: queue.Queue[Request],
    out: queue.Queue[Page | _Failure | None],
    stop: threading.Event,
    stats: ReadStats,
) -> None:
    try:
        while not stop.is_set():
            try:
                request = todo.get_nowait()
            except queue.Empty:
                break
            for page in _pages(conn, request, stop):
                stats.count(request.operation, len(page.items))
                if not _put(out, page, stop):
                    return
    except BaseException as exc:  # handed to the consumer, which raises it
        _put(out, _Failure(exc), stop)
        stop.set()
    finally:
        _put(out, None, stop)


def _put(
    out: queue.Queue[Page | _Failure | None], value: Page | _Failure | None, stop: threading.Event
) -> bool:
    """Put `value`, waiting while the queue is full; False once the consumer has stopped."""
    while True:
        try:
            out.put(value, timeout=_PUT_WAIT)
            return True
        except queue.Full:
            if stop.is_set():
                return False


def _pages(conn: Connection, request: Request, stop: threading.Event) -> Iterator[Page]:
    params = dict(request.params)
    number = 0
    while not stop.is_set():
        response = conn.call(request.operation, request.table, **params)
        body = response.get(RAW_PAGE) or response
        number += 1
        yield Page(request, number, list(body.get("Items") or []))
        last_key = body.get("LastEvaluatedKey")
        if not last_key:
            return
        params["ExclusiveStartKey"] = last_key
