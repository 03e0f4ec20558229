"""Alerts posted to a webhook on loopback: retried when the receiver fails, not when it
refuses, and a queue that drops its oldest alert rather than grow when the receiver stalls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from forensics.errors import UsageError
from forensics.watch.alerts import Alert, at_least, summary
from forensics.watch.webhook import Webhook


class Receiver:
    """A local HTTP server answering with the given statuses in turn (then 200)."""

    def __init__(self, statuses: list[int], stall: threading.Event | None = None) -> None:
        self.statuses = statuses
        self.stall = stall
        self.bodies: list[dict[str, object]] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                if receiver.stall is not None:
                    receiver.stall.wait(10)
                receiver.requests += 1
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.bodies.append(body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def close(self) -> None:
        if self.stall is not None:
            self.stall.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def alert(n: int) -> Alert:
    return Alert(
        "2026-12-07T10:00:00.000Z", "wrun_1", "multiple-terminals", "error", ("e1",), "s", f"f{n}"
    )


def test_a_failing_receiver_gets_the_alert_on_a_retry(receivers: list[Receiver]) -> None:
    receiver = Receiver([503, 500])
    receivers.append(receiver)
    said: list[str] = []
    hook = Webhook(receiver.url, said.append, first_pause=0.01)
    hook.post(alert(1))
    delivery = hook.close()
    assert (delivery.sent, delivery.failed, delivery.dropped) == (1, 0, 0)
    assert receiver.requests == 3
    assert receiver.bodies == [alert(1).as_json()]
    assert said == []


def test_a_refusing_receiver_is_not_asked_again(receivers: list[Receiver]) -> None:
    receiver = Receiver([400])
    receivers.append(receiver)
    said: list[str] = []
    hook = Webhook(receiver.url, said.append, first_pause=0.01)
    hook.post(alert(1))
    delivery = hook.close()
    assert (delivery.sent, delivery.failed, receiver.requests) == (0, 1, 1)
    assert said == [
        f"webhook: alert f1 not delivered after 1 attempt(s): {receiver.url}"
        " answered 400 Bad Request"
    ]


def test_an_unreachable_receiver_is_given_up_after_every_attempt() -> None:
    receiver = Receiver([])
    url = receiver.url
    receiver.close()  # nothing listens there now
    said: list[str] = []
    hook = Webhook(url, said.append, attempts=3, first_pause=0.01)
    hook.post(alert(1))
    assert hook.close().failed == 1
    assert said[0].startswith(f"webhook: alert f1 not delivered after 3 attempt(s): {url}")


def test_a_stalled_receiver_makes_the_queue_drop_its_oldest(receivers: list[Receiver]) -> None:
    stall = threading.Event()
    receiver = Receiver([], stall)
    receivers.append(receiver)
    said: list[str] = []
    hook = Webhook(receiver.url, said.append, size=2)
    for n in range(6):
        hook.post(alert(n))
    # one alert is with the receiver, two wait; the rest pushed the oldest out
    assert hook.delivery.dropped >= 3
    assert said[0].startswith("webhook: queue full (2 alerts waiting), 1 oldest dropped so far")
    stall.set()
    delivery = hook.close()
    assert delivery.sent + delivery.dropped == 6
    assert [b["finding_id"] for b in receiver.bodies][-2:] == ["f4", "f5"]


def test_a_webhook_must_be_an_http_url() -> None:
    with pytest.raises(UsageError, match="is not an http"):
        Webhook("ftp://example", print)


def test_summaries_are_one_line_and_severities_rank() -> None:
    told = (
        "Let E1 = wevt_1 (step_completed, #8 in the log) and E2 = wevt_2 (step_completed)."
        " Then E2 ends the entity a second time after E1 already did, so no consumer is left"
        " for it. A replay of E0-E2 stops with `Unconsumed event`."
    )
    assert summary(told, "x") == (
        "E2 ends the entity a second time after E1 already did, so no consumer is left for it."
    )
    assert summary("Only one sentence: here.", "x") == "Only one sentence: here."
    assert summary("", "multiple-terminals") == "multiple-terminals (no explanation stored)"
    assert len(summary("word " * 100, "x")) == 200
    assert at_least("error", "warning") and at_least("warning", "warning")
    assert not at_least("info", "warning")
