"""Secrets we hand out once: API keys and stream tokens. Only their SHA-256 is stored.

They carry 256 bits of randomness, so a fast hash is enough (argon2 is for passwords,
which are guessable). Lookups go by hash; the final comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_KEY_PREFIX = "ssk_"
STREAM_TOKEN_PREFIX = "sst_"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """What the console may show of a secret: its kind and the first few characters."""
    return secret[:10]


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
