"""Stream token → what the Send API needs to know, cached for the hot path.

Every change that affects sending (pause, resume, delete, regenerate, edit, sender IDs)
invalidates the entries of this process at once. An entry older than
``SMSSTREAMS_TOKEN_CACHE_SECONDS`` (default 2 s) is still served while one look-up
refreshes it, so other processes see a change after that time plus one look-up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from smsstreams.domain.ipallow import IpAllowlist


@dataclass(frozen=True, slots=True)
class StreamAuth:
    stream_id: str
    account_id: int
    token_hash: str
    state: str
    demo: bool
    direction: str
    allowlist: IpAllowlist
    default_sender: str | None  # None: customized, the request names the sender
    account_senders: frozenset[str]


_MAX_ENTRIES = 10_000
_lock = threading.Lock()
_entries: dict[str, tuple[float, StreamAuth | None]] = {}
ttl_seconds = 2.0


def cached(token_hash: str) -> tuple[str, StreamAuth | None]:
    """("fresh" | "stale" | "missing", value). A stale value may still be served while
    one look-up refreshes it, so the whole traffic never waits on an expiry at once."""
    hit = _entries.get(token_hash)
    if hit is None:
        return "missing", None
    return ("fresh" if hit[0] > time.monotonic() else "stale"), hit[1]


def put(token_hash: str, value: StreamAuth | None) -> None:
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[token_hash] = (time.monotonic() + ttl_seconds, value)


def invalidate_stream(stream_id: str) -> None:
    with _lock:
        for key, (_, value) in list(_entries.items()):
            if value is None or value.stream_id == stream_id:
                del _entries[key]


def invalidate_account(account_id: int) -> None:
    with _lock:
        for key, (_, value) in list(_entries.items()):
            if value is None or value.account_id == account_id:
                del _entries[key]


def clear() -> None:
    with _lock:
        _entries.clear()
