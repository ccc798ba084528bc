"""Engines for SQLite (WAL, one writer at a time) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``postgres://`` URLs and use the psycopg 3 driver."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": _LOCK_TIMEOUT,
                "factory": _locking_connection_class(database),
            },
            pool_size=8,
            max_overflow=8,
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we answer 202, even on power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that later writes can fail
        # with SQLITE_BUSY instead of waiting.
        dbapi_connection = conn.connection.dbapi_connection
        if isinstance(dbapi_connection, _LockingConnection):
            dbapi_connection.take_write_lock()
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_LOCK_TIMEOUT = 30.0


def _flock(fd: int, deadline: float) -> bool:
    """Take the lock file's exclusive lock, waiting until ``deadline``; False on timeout
    (then SQLite's own busy handler decides). Waits in short sleeps (50 µs growing to
    1 ms): a blocking flock could not give up."""
    pause = 0.00005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.001)


class _LockingConnection(sqlite3.Connection):
    """A sqlite3 connection that queues for the database's write lock in Python.

    SQLite's own busy handler polls with sleeps of 1 to 100 ms, so threads of one process
    that take turns at the write lock (the Send writer, the dispatcher, the receipt writer)
    lose milliseconds at each turn. Here every transaction of the engine first takes one
    ``threading.Lock``, released right after its COMMIT or ROLLBACK: the next thread starts
    at once. Between processes (the worker process, a CLI command), a database file's
    transactions also take an exclusive ``flock`` on ``<file>-writelock``, waited for in
    sub-millisecond sleeps rather than in SQLite's busy handler.
    """

    write_lock: threading.Lock  # one per engine, set on the subclass
    lock_path: str | None  # the database's lock file, for other processes (on the subclass)
    lock_fd: int | None = None  # this connection's descriptor of it
    _holds = False
    _holds_file = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.lock_path is not None:
            self.lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def take_write_lock(self) -> None:
        if self._holds:
            return
        deadline = time.monotonic() + _LOCK_TIMEOUT
        self._holds = self.write_lock.acquire(timeout=_LOCK_TIMEOUT)
        if self._holds and self.lock_fd is not None:
            self._holds_file = _flock(self.lock_fd, deadline)

    def _release(self) -> None:
        if self._holds_file:
            self._holds_file = False
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)  # type: ignore[arg-type]
        if self._holds:
            self._holds = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self.lock_fd is not None:
                os.close(self.lock_fd)
                self.lock_fd = None


def _locking_connection_class(database: str | None) -> type[_LockingConnection]:
    """A connection class with its own lock: one per engine (one per database file), and
    for a database file, the path of its lock file (``<file>-writelock``)."""
    lock_path = None
    if database and database != ":memory:" and not database.startswith("file:"):
        lock_path = f"{database}-writelock"
    return type(
        "LockingConnection",
        (_LockingConnection,),
        {"write_lock": threading.Lock(), "lock_path": lock_path},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
