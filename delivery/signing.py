"""Webhook signatures and the receiver's check, with replay protection (pure, no storage).

The sender signs `f"{timestamp}." + body` with HMAC-SHA256 under the endpoint's secret and
sends `X-Homeward-Timestamp` (Unix seconds) and `X-Homeward-Signature: v1=<hex>`, beside
`Idempotency-Key` and `X-Homeward-Message-Id`. A receiver (`WebhookVerifier`) refuses a
timestamp further than its tolerance from its own clock and a signature it has already
accepted within that window, so a captured request cannot be played again; a retry of the
same message is a new request (new timestamp, new signature, same idempotency key) and the
receiver processes a key once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

TIMESTAMP_HEADER = "X-Homeward-Timestamp"
SIGNATURE_HEADER = "X-Homeward-Signature"
MESSAGE_ID_HEADER = "X-Homeward-Message-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
VERSION = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


class SignatureRefused(ValueError):
    """The request is not one the sender signed, is too old or too new, or was seen before."""


class WebhookVerifier:
    """A receiver's check of signed webhook requests (for partners and the tests)."""

    def __init__(self, secret: str, *, tolerance_s: int = 300,
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._tolerance = tolerance_s
        self._clock = clock
        self._seen: dict[str, float] = {}

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            timestamp = int(lower[TIMESTAMP_HEADER.lower()])
            given = lower[SIGNATURE_HEADER.lower()]
        except (KeyError, ValueError) as exc:
            raise SignatureRefused("missing or malformed signature headers") from exc
        now = self._clock()
        if abs(now - timestamp) > self._tolerance:
            raise SignatureRefused("timestamp outside the tolerance")
        if not hmac.compare_digest(sign(self._secret, timestamp, body), given):
            raise SignatureRefused("signature does not verify")
        self._seen = {s: t for s, t in self._seen.items() if t >= now - self._tolerance}
        if given in self._seen:
            raise SignatureRefused("replayed request")
        self._seen[given] = float(timestamp)
