"""A thread worker hands its result to the screen by message, never by waiting on the app.

`App.call_from_thread` blocks the worker until the app's loop has run the callback. When the
user quits (or leaves the screen) while a worker is still reading the store, the loop stops
answering and the worker waits for good, so the app never exits. `hand_over` posts the call
instead: it runs on the app's loop if the target is still there, and is dropped if it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump


class Deliver(Message):
    """A worker's result, to be applied on the app's loop (handled by the app)."""

    def __init__(self, call: Callable[[], object]) -> None:
        super().__init__()
        self.call = call


def hand_over(target: MessagePump, callback: Callable[..., object], *args: Any, **kw: Any) -> None:
    """Run `callback(*args, **kw)` on the app's loop without waiting for it.

    `target` is the screen or widget the result is for; once it (or the app) has closed, the
    result is dropped: nobody is left to show it.
    """
    with suppress(RuntimeError):  # the app's loop closed while the worker ran
        target.post_message(Deliver(partial(callback, *args, **kw)))
