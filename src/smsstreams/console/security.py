"""Console security rules with no I/O of their own: CSRF tokens, login throttling, the
session secret, and the ``next`` target after sign-in.

The session itself is a signed cookie (Starlette's ``SessionMiddleware``): it holds the
user id and a per-session CSRF token, never a secret that the browser must not read.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = "secret_key"


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """True when the request carried the session's token (constant-time comparison)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def safe_next(target: str | None, default: str = "/streams") -> str:
    """A same-site path to go to after sign-in; anything else (``//evil``, URLs) → default."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@dataclass
class LoginThrottle:
    """Refuses sign-in attempts after repeated failures.

    ``max_failures`` failures for one (email, IP) within ``window`` seconds block that pair
    until the oldest failure leaves the window; ``max_ip_failures`` failures from one IP
    for any emails block that IP the same way (password spraying). A success clears the
    pair. In-process state: a restart forgets it, which costs an attacker nothing they
    could not get by waiting, and keeps the database out of the sign-in hot path.
    """

    max_failures: int = 5
    max_ip_failures: int = 50
    window: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @staticmethod
    def _pair(email: str, ip: str) -> str:
        return f"{email.strip().lower()}|{ip}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, email: str, ip: str) -> float | None:
        """Seconds until the next attempt is allowed, or None when it is allowed now."""
        now = self.clock()
        waits = []
        with self._lock:
            for key, limit in (
                (self._pair(email, ip), self.max_failures),
                (f"ip|{ip}", self.max_ip_failures),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window - now)
        return max(waits) if waits else None

    def failed(self, email: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > 100_000:  # bound memory under a flood of junk emails
                self._failures.clear()
            for key in (self._pair(email, ip), f"ip|{ip}"):
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, email: str, ip: str) -> None:
        with self._lock:
            self._failures.pop(self._pair(email, ip), None)


def load_secret_key(configured: str, data_dir: Path) -> str:
    """The key that signs session cookies.

    ``SMSSTREAMS_SECRET_KEY`` when set (required when several hosts serve the console);
    otherwise ``<data_dir>/secret_key``, created once with mode 0600 so sessions survive
    restarts.
    """
    if configured:
        return configured
    path = data_dir / SECRET_FILE
    for _ in range(50):
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            value = ""
        if value:
            return value
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.stat().st_size == 0 and time.time() - path.stat().st_mtime > 5:
                path.unlink(missing_ok=True)  # an empty file left by a crash
            time.sleep(0.02)  # another process is writing it right now
            continue
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        log.info("created session secret %s", path)
        return value
    raise RuntimeError(f"cannot read or create the session secret {path}")
