"""A real smsstreams server in a subprocess on 127.0.0.1, for integration and browser tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    database_url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMSSTREAMS_")}
        env.update(
            {
                "SMSSTREAMS_DATABASE_URL": self.database_url,
                "SMSSTREAMS_DATA_DIR": str(self.data_dir),
                "SMSSTREAMS_HOST": "127.0.0.1",
                "SMSSTREAMS_PORT": str(self.port),
                "SMSSTREAMS_DEMO_RECEIPT_DELAY_MIN": "0.2",
                "SMSSTREAMS_DEMO_RECEIPT_DELAY_MAX": "0.4",
                "SMSSTREAMS_DEMO_UNDELIVERED_RATE": "0",
                "SMSSTREAMS_POLL_INTERVAL_SECONDS": "0.1",
            }
        )
        env.update(self.env)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "smsstreams.cli", *args],
            env=self._env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def start(self, timeout: float = 30) -> Server:
        if not self.port:
            self.port = free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "smsstreams.cli", "serve"],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def children(self) -> list[int]:
        """The server's child processes (the worker process, when configured)."""
        if self.process is None:
            return []
        found: list[int] = []
        # each thread lists the children it started (the watcher thread starts replacements)
        for path in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the thread ended meanwhile
                found += [int(p) for p in path.read_text().split()]
        return sorted(found)

    def create_account(self, name: str = "Acme", email: str | None = None) -> dict[str, Any]:
        email = email or f"{name.lower()}-{time.monotonic_ns()}@example.test"
        out = self.cli(
            "account",
            "create",
            "--name",
            name,
            "--email",
            email,
            "--password",
            "correct horse",
            "--json",
        )
        data: dict[str, Any] = json.loads(out.stdout)
        data["email"] = email
        return data


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` has exited (it is not our child: poll /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False
