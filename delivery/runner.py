"""Building a worker with every channel, for `homeward worker`, the server and the bench.

The worker's name (host and process id unless given) marks its claims, so a row still
`sending` says who holds it. The channels share one HTTP client with the configured timeout.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Mapping
from datetime import timedelta

import httpx

from core.crypto import FieldCipher
from core.db import Database
from delivery.channels import Sender, WebhookSender
from delivery.models import Channel
from delivery.retention import Retention
from delivery.worker import Backoff, Guard, Worker


def build_senders(client: httpx.Client) -> dict[Channel, Sender]:
    from delivery.email import EmailSender
    from delivery.sms import SmsSender

    return {Channel.WEBHOOK: WebhookSender(client), Channel.EMAIL: EmailSender(),
            Channel.SMS: SmsSender(client)}


def build_worker(db: Database, cipher: FieldCipher, *, name: str | None = None,
                 batch: int = 20, lease_s: int = 120, backoff_base_s: float = 10.0,
                 backoff_cap_s: float = 3600.0, timeout_s: float = 10.0,
                 guards: Mapping[str, Guard] | None = None,
                 retention: Retention | None = None) -> Worker:
    client = httpx.Client(timeout=timeout_s)
    return Worker(db, cipher, build_senders(client),
                  name=name or f"{socket.gethostname()}:{os.getpid()}", batch=batch,
                  lease=timedelta(seconds=lease_s),
                  backoff=Backoff(base_s=backoff_base_s, cap_s=backoff_cap_s),
                  rng=random.Random(),  # noqa: S311 (jitter, not a secret)
                  guards=guards, retention=retention)
