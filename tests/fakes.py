"""Fakes of the outside world: an HTTP receiver on loopback standing in for an SMS gateway or a webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request the fake got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str:
        return self.headers[name.lower()]


class FakeHTTP:
    """Records every POST and answers with the statuses scripted by `answer`, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def answer(self, *statuses: int) -> None:
        """The next requests get these statuses, in order."""
        with self._lock:
            self._script.extend(statuses)

    def _next_status(self, received: Received) -> int:
        with self._lock:
            self.received.append(received)
            return self._script.pop(0) if self._script else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = fake._next_status(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                answer = b'{"ok": true}' if status < 400 else b'{"error": "scripted failure"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        return Handler

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeHTTP]:
        fake = cls()
        thread = threading.Thread(target=fake._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            fake._server.shutdown()
            fake._server.server_close()
            thread.join(timeout=5)


def webhook_signature_ok(received: Received, secret: str) -> bool:
    """What an integrator checks: sha256=HMAC(secret, timestamp + "." + body), compared in constant time."""
    timestamp = received.header("X-CivicGrid-Timestamp")
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(received.header("X-CivicGrid-Signature"), f"sha256={expected}")


def sms_signature_ok(received: Received, secret: str) -> bool:
    """What the gateway checks: HMAC(secret, timestamp + body) in X-Signature."""
    timestamp = received.header("X-Timestamp")
    expected = hmac.new(secret.encode(), timestamp.encode() + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.header("X-Signature"), expected)
