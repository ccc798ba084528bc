"""The server under test: a ``smsstreams serve`` process on a throwaway database.

Everything here talks to 127.0.0.1 only. A :class:`BenchServer` owns its data directory and,
on PostgreSQL, a database it creates and drops; :meth:`BenchServer.close` undoes both and is
safe to call twice, after a failed start, or on Ctrl-C.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SENDER = "12025550100"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The benchmark cannot go on (server did not start, setup failed, ...)."""


def postgres_admin_url() -> str:
    return os.environ.get("SMSSTREAMS_TEST_POSTGRES_URL", DEFAULT_PG)


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(postgres_admin_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


def _pg_admin(statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgres_admin_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- /proc ----------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def postgres_cpu_seconds() -> float:
    """user + system CPU of all live ``postgres`` processes (the local cluster's backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        if text[text.index("(") + 1 : text.rindex(")")] == "postgres":
            fields = text[text.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return total


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process and its live descendants (all threads)."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = _stat_fields(p)
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime
    return total


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (everything but idle and iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the server -----------------------------------------------------------------------------


@dataclass
class Stream:
    api_key: str
    stream_id: str
    token: str


class BenchServer:
    def __init__(self, db: str, *, label: str, extra_env: dict[str, str] | None = None) -> None:
        self.db = db
        self.extra_env = dict(extra_env or {})
        self.label = label
        self.dir = Path(tempfile.mkdtemp(prefix=f"smsstreams-bench-{label}-"))
        self.port = free_port()
        self.pg_name: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "server.log"
        if db == "postgres":
            name = f"smsstreams_bench_{uuid.uuid4().hex[:12]}"
            try:
                _pg_admin("CREATE DATABASE {}", name)
            except Exception as exc:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise BenchError(f"cannot create PostgreSQL database {name}: {exc}") from None
            self.pg_name = name
            self.database_url = f"{postgres_admin_url().rpartition('/')[0]}/{name}"
        else:
            self.database_url = f"sqlite:///{self.dir / 'smsstreams.db'}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMSSTREAMS_")}
        env.update(
            SMSSTREAMS_DATABASE_URL=self.database_url,
            SMSSTREAMS_DATA_DIR=str(self.dir),
            SMSSTREAMS_HOST=HOST,
            SMSSTREAMS_PORT=str(self.port),
        )
        env.update(self.extra_env)
        return env

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "smsstreams.cli", "serve"],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"server ({self.label}) exited with code {self.process.returncode} "
                    f"during start-up:\n{self.log_tail()}"
                )
            try:
                if request(self.port, "GET", "/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(
            f"server ({self.label}) not healthy after {timeout:.0f} s:\n{self.log_tail()}"
        )

    def setup_stream(self, name: str) -> Stream:
        """Account (CLI) + sender ID + an active demo stream (API); returns its token."""
        out = subprocess.run(
            [sys.executable, "-m", "smsstreams.cli", "account", "create", "--name", "Bench",
             "--email", f"bench-{uuid.uuid4().hex[:8]}@example.test",
             "--password", "bench-password-1", "--json"],
            env=self.env(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            raise BenchError(f"account create failed ({out.returncode}): {out.stderr.strip()}")
        api_key = json.loads(out.stdout)["api_key"]
        auth = {"Authorization": f"Bearer {api_key}"}
        status, body = request(self.port, "POST", "/api/v1/sender-ids", {"value": SENDER}, auth)
        if status != 201:
            raise BenchError(f"POST /api/v1/sender-ids: HTTP {status}: {body!r}")
        stream = {
            "name": name,
            "state": "active",
            "demo": True,
            "direction": "one_way",
            "allowed_ips": [HOST],
            "default_sender": SENDER,
        }
        status, body = request(self.port, "POST", "/api/v1/streams", stream, auth)
        if status != 201:
            raise BenchError(f"POST /api/v1/streams: HTTP {status}: {body!r}")
        return Stream(api_key, body["stream"]["id"], body["token"])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            try:
                if self.pg_name:
                    _pg_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.pg_name)
                    self.pg_name = None
            except Exception as exc:
                print(f"bench: could not drop database {self.pg_name}: {exc}", file=sys.stderr)
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = 10,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, Any]:
    """One JSON request to the local server (setup and polling; not the load)."""
    own = conn is None
    c = conn or http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        c.request(method, path, body=data, headers=hdrs)
        response = c.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")
    finally:
        if own:
            c.close()
