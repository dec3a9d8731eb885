"""Bearer API tokens: 32 random bytes, shown once, stored only as a SHA-256 hash.

A token is high-entropy, so a plain hash suffices (no salt or slow hash is needed to stop
guessing); the short prefix kept beside it lets people tell their tokens apart in listings.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from core.clock import utcnow
from core.models import ApiToken

TOKEN_PREFIX = "hw_"  # noqa: S105 (a marker, not a secret)
TOKEN_BYTES = 32


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token_row(account_id: int, ttl_days: int) -> tuple[ApiToken, str]:
    """A token row ready to insert, and the secret to show the holder exactly once."""
    secret = new_token_secret()
    row = ApiToken(
        account_id=account_id,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        expires_at=utcnow() + timedelta(days=ttl_days),
    )
    return row, secret
