"""Posting alerts to a webhook: a bounded queue and one sending thread with retries.

Each alert is POSTed on its own as `application/json` (the same object as the stdout line).
A failed POST (no answer, a 5xx or 429, a connection refused) is retried with doubling
pauses; a 4xx other than 429 is not retried (the receiver refuses that alert). The queue
holds `QUEUE_SIZE` alerts: when the receiver is slower than the alerts, the oldest waiting
one is dropped and counted, so a stuck receiver can neither block the watch nor grow its
memory. `close` gives the queue a few seconds to drain and says what was left undelivered.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import orjson

from forensics.errors import UsageError
from forensics.watch.alerts import Alert

QUEUE_SIZE = 1000
ATTEMPTS = 5
FIRST_PAUSE_S = 0.5
TIMEOUT_S = 10.0
DRAIN_S = 5.0


@dataclass
class Delivery:
    """What the sender did so far."""

    sent: int = 0
    failed: int = 0  # given up after every attempt, or refused
    dropped: int = 0  # pushed out of a full queue


class Webhook:
    def __init__(
        self,
        url: str,
        say: Callable[[str], None],
        *,
        attempts: int = ATTEMPTS,
        first_pause: float = FIRST_PAUSE_S,
        size: int = QUEUE_SIZE,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise UsageError(
                f"--webhook {url!r} is not an http(s) URL", hint="e.g. https://hooks.example/x"
            )
        self.url = url
        self.say = say
        self.attempts = attempts
        self.first_pause = first_pause
        self.queue: queue.Queue[Alert | None] = queue.Queue(maxsize=size)
        self.delivery = Delivery()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._send_all, name="webhook", daemon=True)
        self.thread.start()

    def post(self, alert: Alert) -> None:
        """Queue `alert`; when the queue is full, the oldest waiting alert makes room."""
        while True:
            try:
                self.queue.put_nowait(alert)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    continue
                self.queue.task_done()
                self.delivery.dropped += 1
                if self.delivery.dropped in (1, 10, 100) or self.delivery.dropped % 1000 == 0:
                    self.say(
                        f"webhook: queue full ({self.queue.maxsize} alerts waiting),"
                        f" {self.delivery.dropped} oldest dropped so far; is {self.url} slow?"
                    )

    def close(self, drain: float = DRAIN_S) -> Delivery:
        """Stop once every queued alert was sent or given up (or after `drain` seconds);
        say how many were left undelivered."""
        deadline = time.monotonic() + drain
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        left = self.queue.unfinished_tasks
        self.stopping.set()  # ends a retry pause; the alert in flight counts as not sent
        with suppress(queue.Full):
            self.queue.put_nowait(None)
        self.thread.join(timeout=TIMEOUT_S)
        if left:
            self.say(f"webhook: {left} alert(s) not delivered before stopping (they are on stdout)")
        return self.delivery

    def _send_all(self) -> None:
        while True:
            alert = self.queue.get()
            if alert is None or self.stopping.is_set():
                return
            try:
                self._send(alert)
            finally:
                self.queue.task_done()

    def _send(self, alert: Alert) -> None:
        body = orjson.dumps(alert.as_json())
        pause = self.first_pause
        for attempt in range(1, self.attempts + 1):
            error = self._post_once(body)
            if error is None:
                self.delivery.sent += 1
                return
            final, reason = error
            if final or attempt == self.attempts or self.stopping.wait(pause):
                self.delivery.failed += 1
                tries = f"after {attempt} attempt(s)"
                self.say(f"webhook: alert {alert.finding_id} not delivered {tries}: {reason}")
                return
            pause *= 2

    def _post_once(self, body: bytes) -> tuple[bool, str] | None:
        """None when delivered, else (whether retrying is pointless, why)."""
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "forensics-watch"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            final = 400 <= exc.code < 500 and exc.code != 429
            return final, f"{self.url} answered {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            return False, f"{self.url} unreachable: {reason}"
        return None
