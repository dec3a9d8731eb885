"""A webhook receiver and a Twilio-style SMS provider started in a test, on loopback.

The receiver verifies every request's signature (`delivery.signing.WebhookVerifier`), counts
deliveries by idempotency key (what "exactly once" means to a receiver), and can be told to
fail the first attempt of some keys, so retries happen for real.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from delivery.signing import SignatureRefused, WebhookVerifier

SECRET = "test-webhook-secret-0123456789"


@dataclass
class Received:
    verifier: WebhookVerifier
    fail_first: Callable[[str], bool] = lambda _key: False
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    processed: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    sms: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: Received) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"{}") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k: v for k, v in self.headers.items()}
            if "/Messages.json" in self.path:  # the SMS provider
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                with state.lock:
                    state.sms.append({**form, "idempotency": headers.get(
                        "I-Twilio-Idempotency-Token", ""), "auth": headers.get(
                        "Authorization", "")})
                    sid = f"SM{len(state.sms):06d}"
                self._answer(201, json.dumps({"sid": sid, "status": "queued"}).encode())
                return
            with state.lock:
                state.requests.append((headers, raw))
                try:
                    state.verifier.verify(headers, raw)
                except SignatureRefused as exc:
                    state.refused.append(str(exc))
                    self._answer(401)
                    return
                key = headers["Idempotency-Key"]
                state.attempts[key] += 1
                if state.attempts[key] == 1 and state.fail_first(key):
                    self._answer(503)
                    return
                if key not in state.documents:  # processed once per key, however often sent
                    state.documents[key] = json.loads(raw)
                    state.processed[key] += 1
            self._answer(200)

    return Handler


@contextmanager
def receiver(fail_first: Callable[[str], bool] = lambda _key: False,
             secret: str = SECRET) -> Iterator[tuple[str, Received]]:
    state = Received(verifier=WebhookVerifier(secret), fail_first=fail_first)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
