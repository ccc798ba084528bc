"""SQLite: a transaction holds the database's lock file, so other processes (the worker
process, CLI commands) queue with flock instead of in SQLite's sleeping busy handler."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from smsstreams.db.engine import make_engine


def _free(lock_file: Path) -> bool:
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor lets the lock go
    return True


def test_a_transaction_holds_the_lock_file_until_it_ends(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    lock_file = Path(f"{database}-writelock")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            assert lock_file.exists() and not _free(lock_file)
        assert _free(lock_file)
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            assert not _free(lock_file)
            raise RuntimeError("roll back")
        assert _free(lock_file)  # a rollback lets it go too
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()


def test_connections_close_their_lock_file_descriptor(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
    engine.dispose()
    assert len(os.listdir("/proc/self/fd")) <= before
