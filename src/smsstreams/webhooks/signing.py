"""HMAC-SHA256 signatures that let a receiver check a webhook came from us, unaltered.

Every request carries::

    X-Smsstreams-Timestamp: 1764240000
    X-Smsstreams-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<signed part>")>

The signed part is the raw request body for POST, and the raw query string (everything
after ``?``, exactly as sent) for GET. Receivers should also refuse timestamps older than a
few minutes, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

TIMESTAMP_HEADER = "X-Smsstreams-Timestamp"
SIGNATURE_HEADER = "X-Smsstreams-Signature"
VERSION = "v1"


def signature(secret: str, timestamp: int, signed: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + signed, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, signed: bytes, header: str, *, now: int, tolerance: int = 300
) -> bool:
    """Check a signature header (constant-time) and that the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, ts, signed), header.strip())


def canonical_query(params: Mapping[str, object]) -> str:
    """The query string we send for GET webhooks: keys sorted, None as empty."""
    return urlencode(sorted((k, "" if v is None else str(v)) for k, v in params.items()))


def signed_headers(secret: str, timestamp: int, signed: bytes) -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, signed),
    }
