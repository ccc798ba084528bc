"""Accepting messages from the Send API: per-message checks, then durable storage.

``prepare`` is pure: it turns one request item into either a row for the messages table
or an error for that item. :class:`SendWriter` owns the write path: one thread commits
every request waiting at that moment in one transaction (group commit), and each request
learns its result only after the commit that holds its rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, text, tuple_

from smsstreams.db.models import messages_table
from smsstreams.domain.encoding import segment
from smsstreams.domain.errors import DomainError, ValidationFailed
from smsstreams.domain.numbers import parse_msisdn
from smsstreams.domain.storable import is_storable

from .token_cache import StreamAuth

log = logging.getLogger(__name__)

MAX_INTERNAL_ID = 100
MAX_TEXT = 5000


@dataclass(slots=True)
class Accepted:
    """A message stored (or found stored under the same internal_id)."""

    internal_id: str | None
    message_uuid: str
    status: str
    encoding: str
    segments: int
    duplicate: bool = False

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "internal_id": self.internal_id,
            "message_uuid": self.message_uuid,
            "status": self.status,
            "encoding": self.encoding,
            "segments": self.segments,
        }
        if self.duplicate:
            out["duplicate"] = True
        return out


@dataclass(slots=True)
class Rejected:
    internal_id: Any
    error: DomainError

    def public(self) -> dict[str, Any]:
        return {"internal_id": self.internal_id, **self.error.to_dict()}


def _fail(code: str, field: str, message: str) -> ValidationFailed:
    return ValidationFailed(code, message, field)


def prepare(
    auth: StreamAuth,
    item: Any,
    *,
    now: datetime,
    validity: timedelta,
    max_segments: int,
    message_id: str | None = None,
) -> dict[str, Any] | Rejected:
    """Check one message of a Send request; return its row or why it was refused."""
    if not isinstance(item, dict):
        return Rejected(
            None, _fail("invalid_message", "messages", "Each message must be an object")
        )
    internal_id = item.get("internal_id")
    try:
        if internal_id is not None:
            if isinstance(internal_id, int) and not isinstance(internal_id, bool):
                internal_id = str(internal_id)
            if not isinstance(internal_id, str) or not internal_id.strip():
                raise _fail(
                    "invalid_internal_id", "internal_id", "internal_id must be a non-empty string"
                )
            if not is_storable(internal_id):
                raise _fail(
                    "invalid_internal_id",
                    "internal_id",
                    "internal_id must not contain NUL (\\u0000) or an unpaired surrogate",
                )
            if len(internal_id) > MAX_INTERNAL_ID:
                raise _fail(
                    "invalid_internal_id",
                    "internal_id",
                    f"internal_id is at most {MAX_INTERNAL_ID} characters",
                )
        sender = _resolve_sender(auth, item.get("sender"))
        phone = item.get("recipient_phone")
        if isinstance(phone, int) and not isinstance(phone, bool):
            phone = str(phone)
        if not isinstance(phone, str):
            raise _fail(
                "invalid_phone", "recipient_phone", "recipient_phone is required (E.164 digits)"
            )
        recipient = parse_msisdn(phone)
        text = item.get("message_content")
        if not isinstance(text, str) or not text:
            raise _fail(
                "empty_message", "message_content", "message_content must be non-empty text"
            )
        if not is_storable(text):  # one such row would fail a whole group commit
            raise _fail(
                "invalid_message_content",
                "message_content",
                "message_content must not contain NUL (\\u0000) or an unpaired UTF-16 "
                "surrogate (\\ud800-\\udfff without its pair)",
            )
        if len(text) > MAX_TEXT:
            raise _fail(
                "message_too_long",
                "message_content",
                f"message_content is over {MAX_TEXT} characters",
            )
        seg = segment(text)
        if seg.segments > max_segments:
            raise _fail(
                "too_many_segments",
                "message_content",
                f"Message needs {seg.segments} {seg.encoding.upper()} segments; "
                f"the maximum is {max_segments}",
            )
    except DomainError as exc:
        return Rejected(internal_id, exc)
    return {
        "id": message_id or str(uuid.uuid4()),
        "stream_id": auth.stream_id,
        "account_id": auth.account_id,
        "internal_id": internal_id,
        "sender": sender,
        "recipient": recipient,
        "text": text,
        "encoding": seg.encoding,
        "segments": seg.segments,
        "status": "queued",
        "channel": "demo" if auth.demo else None,
        "attempts": 0,
        "next_attempt_at": now,
        "expires_at": now + validity,
        "created_at": now,
        "updated_at": now,
    }


def new_message_ids(count: int) -> list[str]:
    """Random (version 4) UUIDs from one read of the system's randomness, not one per id."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, 16 * count, 16)]


def _resolve_sender(auth: StreamAuth, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _fail("invalid_sender", "sender", "sender must be a string")
    value = (value or "").strip()
    if value.startswith("+") and value[1:].isdigit():
        value = value[1:]
    if auth.default_sender is not None:
        if value and value != auth.default_sender:
            raise _fail(
                "sender_not_allowed",
                "sender",
                f"This stream always sends from {auth.default_sender!r}; omit sender or use it",
            )
        return auth.default_sender
    if not value:
        raise _fail(
            "sender_required",
            "sender",
            "This stream's default sender is Customized: name one of your sender IDs in sender",
        )
    if value not in auth.account_senders:
        raise _fail("unknown_sender", "sender", f"{value!r} is not one of your sender IDs")
    return value


# -- group commit ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Job:
    rows: list[dict[str, Any]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Accepted]]
    results: list[Accepted] = field(default_factory=list)


class StorageUnavailable(DomainError):
    http_status = 503


_COLUMNS = (
    "id", "stream_id", "account_id", "internal_id", "sender", "recipient", "text", "encoding",
    "segments", "status", "channel", "attempts", "next_attempt_at", "expires_at", "created_at",
    "updated_at",
)  # fmt: skip
_DATETIMES = frozenset({"next_attempt_at", "expires_at", "created_at", "updated_at"})
_DATETIME_POSITIONS = tuple(i for i, c in enumerate(_COLUMNS) if c in _DATETIMES)

# One fixed statement per database, so drivers parse it once. PostgreSQL: the rows travel as
# one JSON document that the server turns into rows of the table's type (psycopg's array
# dumpers loop in Python, json.dumps does not); ON CONFLICT settles a repeated internal_id
# even across processes.
_PG_INSERT = text(
    f"INSERT INTO messages ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} "
    "FROM json_populate_recordset(CAST(NULL AS messages), CAST(:rows AS json)) "
    "ON CONFLICT (stream_id, internal_id) DO NOTHING RETURNING id"
)
# SQLite: this process holds the only write lock, so a look-up of the repeated internal_ids
# followed by a plain executemany is exact (a clash would raise, never pass silently).
_SQLITE_INSERT = (
    f"INSERT INTO messages ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_SQLITE_KEYS_CHUNK = 400


def _sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy stores for our UTC datetimes on SQLite (see db/types.py)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SendWriter:
    """One thread, one write connection: commits every waiting request in one transaction."""

    MAX_ROWS_PER_COMMIT = 5000
    POSTGRES_WRITERS = 2

    def __init__(self, engine: Engine, on_commit: Callable[[], None] = lambda: None) -> None:
        self._engine = engine
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._postgres = engine.dialect.name == "postgresql"
        # SQLite has one writer at a time anyway. PostgreSQL takes several: while one
        # connection waits for its commit, the next group is already being inserted.
        count = self.POSTGRES_WRITERS if self._postgres else 1
        self._threads = [
            threading.Thread(target=self._run, name=f"send-writer-{i}", daemon=True)
            for i in range(count)
        ]
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()

    def stop(self) -> None:
        if self._started:
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join(timeout=10)
            self._started = False

    async def store(self, rows: list[dict[str, Any]]) -> list[Accepted]:
        """Store rows durably; return one result per row, in order, after the commit."""
        if not rows:
            return []
        loop = asyncio.get_running_loop()
        job = _Job(rows, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            count = len(first.rows)
            stop = False
            while count < self.MAX_ROWS_PER_COMMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
                count += len(nxt.rows)
            try:
                self._commit(jobs)
            except Exception as exc:
                log.exception("storing %d messages failed", count)
                error = StorageUnavailable(
                    "storage_unavailable",
                    f"Messages could not be stored, retry: {type(exc).__name__}",
                )
                for job in jobs:
                    job.loop.call_soon_threadsafe(_set_exception, job.future, error)
            else:
                self._on_commit()
                for job in jobs:
                    job.loop.call_soon_threadsafe(_set_result, job.future, job.results)
            if stop:
                return

    def _commit(self, jobs: list[_Job]) -> None:
        rows = [row for job in jobs for row in job.rows]
        with self._engine.begin() as conn:
            if self._postgres:
                inserted, existing = self._insert_postgres(conn, rows)
            else:
                inserted, existing = self._insert_sqlite(conn, rows)
        for job in jobs:
            job.results = []
            for r in job.rows:
                if r["id"] in inserted:
                    job.results.append(
                        Accepted(r["internal_id"], r["id"], "queued", r["encoding"], r["segments"])
                    )
                else:
                    f = existing[(r["stream_id"], r["internal_id"])]
                    job.results.append(Accepted(r["internal_id"], f[0], f[1], f[2], f[3], True))

    def _insert_postgres(
        self, conn: Connection, rows: list[dict[str, Any]]
    ) -> tuple[set[str], dict[tuple[str, str], Any]]:
        iso: dict[datetime, str] = {}  # a request's rows share their times

        def stamp(value: datetime) -> str:
            formatted = iso.get(value)
            if formatted is None:
                formatted = iso[value] = value.isoformat()
            return formatted

        document = json.dumps(
            [
                {
                    **r,
                    "next_attempt_at": stamp(r["next_attempt_at"]),
                    "expires_at": stamp(r["expires_at"]),
                    "created_at": stamp(r["created_at"]),
                    "updated_at": stamp(r["updated_at"]),
                }
                for r in rows
            ]
        )
        inserted = {r[0] for r in conn.execute(_PG_INSERT, {"rows": document})}
        missing = [(r["stream_id"], r["internal_id"]) for r in rows if r["id"] not in inserted]
        existing: dict[tuple[str, str], Any] = {}
        if missing:
            t = messages_table
            found = conn.execute(
                select(
                    t.c.stream_id, t.c.internal_id, t.c.id, t.c.status, t.c.encoding, t.c.segments
                ).where(tuple_(t.c.stream_id, t.c.internal_id).in_(missing))
            )
            existing = {(f[0], f[1]): tuple(f[2:]) for f in found}
        return inserted, existing

    def _insert_sqlite(
        self, conn: Connection, rows: list[dict[str, Any]]
    ) -> tuple[set[str], dict[tuple[str, str], Any]]:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        existing: dict[tuple[str, str], Any] = {}
        keys = list({(r["stream_id"], r["internal_id"]) for r in rows if r["internal_id"]})
        for i in range(0, len(keys), _SQLITE_KEYS_CHUNK):
            chunk = keys[i : i + _SQLITE_KEYS_CHUNK]
            cursor.execute(
                "SELECT stream_id, internal_id, id, status, encoding, segments FROM messages "
                f"WHERE (stream_id, internal_id) IN (VALUES {', '.join(['(?, ?)'] * len(chunk))})",
                [v for key in chunk for v in key],
            )
            existing.update({(f[0], f[1]): tuple(f[2:]) for f in cursor.fetchall()})
        new: list[list[Any]] = []
        seen: set[tuple[str, str]] = set()
        stamps: dict[datetime, str] = {}  # a request's rows share their times
        for r in rows:
            key = (r["stream_id"], r["internal_id"])
            if r["internal_id"]:
                if key in existing or key in seen:
                    continue
                seen.add(key)
            values = list(map(r.__getitem__, _COLUMNS))
            for i in _DATETIME_POSITIONS:
                formatted = stamps.get(values[i])
                if formatted is None:
                    formatted = stamps[values[i]] = _sqlite_datetime(values[i])
                values[i] = formatted
            new.append(values)
        cursor.executemany(_SQLITE_INSERT, new)
        cursor.close()
        inserted = {row[0] for row in new}
        for r in rows:  # a repeat inside this very commit points at its first copy
            key = (r["stream_id"], r["internal_id"])
            if r["id"] not in inserted and key not in existing:
                first = next(x for x in rows if (x["stream_id"], x["internal_id"]) == key)
                existing[key] = (first["id"], "queued", first["encoding"], first["segments"])
        return inserted, existing


def _set_result(future: asyncio.Future[list[Accepted]], value: list[Accepted]) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[list[Accepted]], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
