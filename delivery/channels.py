"""Channels behind one interface: a `Sender` takes an `Outgoing` message and answers an
`Outcome` (delivered, or failed and whether a retry may help). The worker knows nothing else.

Webhook: an HTTPS POST of a JSON document signed as `delivery.signing` says (http is allowed
only to a loopback host, for local receivers). A 2xx answer is delivered; 408, 425, 429 and
5xx answers and transport errors are retried; any other 4xx is final (the receiver refused
the message itself, so sending it again cannot help). Email and SMS live in
`delivery.email` and `delivery.sms`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from delivery.models import Channel
from delivery.signing import (
    IDEMPOTENCY_HEADER,
    MESSAGE_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    idempotency_key: str
    kind: str
    body: dict[str, Any]
    address: str
    secret: str | None
    settings: Mapping[str, Any] = field(default_factory=dict)
    discreet: bool = True
    attempt: int = 1


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retry: bool = True
    detail: str = ""
    provider_ref: str | None = None


class Sender(Protocol):
    def send(self, message: Outgoing) -> Outcome: ...


def webhook_url_ok(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK


def classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome(delivered=True, detail=f"HTTP {status}")
    retry = status >= 500 or status in RETRYABLE_STATUS
    return Outcome(delivered=False, retry=retry, detail=f"HTTP {status}")


class WebhookSender:
    def __init__(self, client: httpx.Client, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._clock = clock

    def send(self, message: Outgoing) -> Outcome:
        if not webhook_url_ok(message.address):
            return Outcome(delivered=False, retry=False, detail="webhook URL is not https")
        # The attempt number makes every attempt a distinct signed request, so a receiver's
        # replay check never mistakes a quick retry for a replay.
        document = {"id": message.message_id, "idempotency_key": message.idempotency_key,
                    "kind": message.kind, "attempt": message.attempt, **message.body}
        raw = json.dumps(document, sort_keys=True).encode()
        timestamp = int(self._clock())
        headers = {"Content-Type": "application/json",
                   IDEMPOTENCY_HEADER: message.idempotency_key,
                   MESSAGE_ID_HEADER: str(message.message_id),
                   TIMESTAMP_HEADER: str(timestamp),
                   SIGNATURE_HEADER: sign(message.secret or "", timestamp, raw)}
        try:
            answer = self._client.post(message.address, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(delivered=False, retry=True, detail=type(exc).__name__)
        return classify(answer.status_code)


Senders = Mapping[Channel, Sender]
