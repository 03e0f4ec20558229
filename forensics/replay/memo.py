"""One command's shared replay analyses: a run's replays and fence chain computed once.

`forensics story` brings the run's findings up to date (the replay detectors build the run's
replays and fence chain) and then tells the story from the same replays and chain. Inside
`shared_analysis()` the first computation of each is kept and handed to the next caller;
outside it nothing is kept, so a long-lived process (the TUI) never sees a stale analysis.
The scope is for one store that does not change while it is open (a command holding the
store); leaving it drops everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_SCOPE: ContextVar[dict[tuple[str, Any], Any] | None] = ContextVar("replay_memo", default=None)


@contextmanager
def shared_analysis() -> Iterator[None]:
    """Keep each run's replays and chain for the rest of the block."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def remembered(kind: str, key: Any, compute: Callable[[], T]) -> T:
    """`compute()`, or what it gave earlier in this scope for (`kind`, `key`)."""
    memo = _SCOPE.get()
    if memo is None:
        return compute()
    if (kind, key) not in memo:
        memo[kind, key] = compute()
    value: T = memo[kind, key]
    return value
