"""Engines for SQLite (WAL, one writer at a time) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import sqlite3
import threading
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
                "factory": _locking_connection_class(),
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


class _LockingConnection(sqlite3.Connection):
    """A sqlite3 connection that queues for the database's write lock in Python.

    SQLite's own busy handler polls with sleeps of 1 to 100 ms, so threads of one process
    that take turns at the write lock (the Send writer, the dispatcher, the receipt writer)
    lose milliseconds at each turn. Here every transaction of the engine first takes one
    ``threading.Lock``, released right after its COMMIT or ROLLBACK: the next thread starts
    at once. Other processes still meet SQLite's busy handler (``timeout``).
    """

    write_lock: threading.Lock  # one per engine, set on the subclass
    _holds = False

    def take_write_lock(self) -> None:
        if not self._holds:
            self._holds = self.write_lock.acquire(timeout=_LOCK_TIMEOUT)

    def _release(self) -> None:
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


def _locking_connection_class() -> type[_LockingConnection]:
    """A connection class with its own lock: one per engine (one per database file)."""
    return type("LockingConnection", (_LockingConnection,), {"write_lock": threading.Lock()})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
