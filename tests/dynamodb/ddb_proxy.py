"""Test-only: a loopback HTTP proxy in front of the DynamoDB server that can inject errors.

Every request still travels over real HTTP through botocore (signing, retries, the adaptive
rate limiter); the proxy records each request's `X-Amz-Target` operation and, while a rule
says so, answers with a DynamoDB error instead of forwarding (throttling, access denied).
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass
class Rule:
    """Answer the next `times` requests of `operation` (None: any) with error `code`."""

    code: str
    operation: str | None = None
    times: int = 1_000_000
    message: str = "injected by the test proxy"


@dataclass
class Proxy:
    upstream: str
    operations: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def rule_for(self, operation: str) -> Rule | None:
        with self.lock:
            self.operations.append(operation)
            for rule in self.rules:
                if rule.times > 0 and rule.operation in (None, operation):
                    rule.times -= 1
                    self.injected += 1
                    return rule
        return None

    def start(self) -> Proxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
                rule = proxy.rule_for(operation)
                if rule is not None:
                    error = {"__type": PREFIX + rule.code, "message": rule.message}
                    self._answer(400, json.dumps(error).encode(), {})
                    return
                status, payload, headers = proxy.forward(self.path, dict(self.headers), body)
                self._answer(status, payload, headers)

            def _answer(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def forward(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        target = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            payload = response.read()
            keep = {k: v for k, v in response.getheaders() if k.lower().startswith("x-amz")}
            return response.status, payload, keep
        finally:
            conn.close()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
