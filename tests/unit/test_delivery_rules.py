"""The delivery rules that need no database: backoff with jitter, webhook signatures and the
receiver's replay check, response classification, and the survivor-message guard. Clocks and
random sources are injected; nothing here reads the time."""

from __future__ import annotations

import random

import pytest

from delivery.channels import classify, webhook_url_ok
from delivery.outbox import has_link
from delivery.signing import SignatureRefused, WebhookVerifier, sign
from delivery.worker import Backoff


def test_backoff_doubles_within_its_jitter_and_stops_at_the_cap() -> None:
    backoff, rng = Backoff(base_s=10, cap_s=100), random.Random(5)
    for attempts, raw in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)):
        waits = [backoff.delay(attempts, rng).total_seconds() for _ in range(200)]
        assert all(raw / 2 <= w <= raw for w in waits)
        assert max(waits) - min(waits) > raw / 4  # jittered, not in step
    same = [Backoff().delay(3, random.Random(1)) for _ in range(2)]
    assert same[0] == same[1]  # a seeded source gives the same schedule


def test_the_verifier_accepts_once_and_refuses_old_forged_or_replayed_requests() -> None:
    now = [1_000_000.0]
    verifier = WebhookVerifier("s3cret", tolerance_s=300, clock=lambda: now[0])
    body = b'{"id": 1}'
    headers = {"X-Homeward-Timestamp": "1000000",
               "X-Homeward-Signature": sign("s3cret", 1_000_000, body)}
    verifier.verify(headers, body)
    with pytest.raises(SignatureRefused, match="replayed"):
        verifier.verify(headers, body)
    with pytest.raises(SignatureRefused, match="does not verify"):
        verifier.verify({**headers, "X-Homeward-Timestamp": "1000001"}, body)
    with pytest.raises(SignatureRefused, match="does not verify"):
        verifier.verify(headers, b'{"id": 2}')
    now[0] += 301
    late = {"X-Homeward-Timestamp": "1000000",
            "X-Homeward-Signature": sign("s3cret", 1_000_000, b"{}")}
    with pytest.raises(SignatureRefused, match="tolerance"):
        verifier.verify(late, b"{}")
    with pytest.raises(SignatureRefused, match="missing"):
        verifier.verify({}, body)


def test_classification_retries_only_what_may_pass_later() -> None:
    assert classify(200).delivered and classify(204).delivered
    assert [classify(s).retry for s in (408, 425, 429, 500, 503)] == [True] * 5
    assert [classify(s).retry for s in (400, 401, 403, 404, 410, 422)] == [False] * 6


def test_urls_and_links() -> None:
    assert webhook_url_ok("https://partner.example.org/hook")
    assert webhook_url_ok("http://127.0.0.1:8080/hook")
    assert not webhook_url_ok("http://partner.example.org/hook")
    assert not webhook_url_ok("ftp://partner.example.org")
    assert has_link("see https://x.org") and has_link("www.example.org")
    assert has_link("open /web/cases/3") and not has_link("Call 911 if you are in danger.")
