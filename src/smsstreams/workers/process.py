"""The worker process (``SMSSTREAMS_WORKER_PROCESS=true``): the dispatcher, the carrier
connectors and the webhook worker run in a child of the server, so the HTTP side and the
workers each have a core instead of sharing one GIL.

The two processes share only the database (the queue) and one pipe. The server writes a
byte to the pipe after each commit that gave the workers something to do (``d``: queued
messages, ``w``: queued webhook deliveries); the child wakes the matching worker. The
pipe also ties the child to the server: when the server goes away, even by SIGKILL, the
child reads end-of-file, stops its workers as on a normal shutdown (graceful unbind,
leases released) and exits. A child that dies is started again after a second. Whatever
either process held when it died is taken over through the leases, as with several servers.

On SQLite the two processes queue for the write lock with ``flock`` (see db/engine.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading

from smsstreams.config import Settings

log = logging.getLogger(__name__)

#: Environment variable carrying the server's settings (JSON) to the child.
SETTINGS_ENV = "SMSSTREAMS_WORKER_SETTINGS_JSON"
WAKE_DISPATCHER = b"d"
WAKE_WEBHOOKS = b"w"
#: How long stop() waits for the child's graceful shutdown before killing it.
STOP_SECONDS = 20.0
RESTART_SECONDS = 1.0


class WorkerProcess:
    """The server's handle on its worker process: start, wake, watch, stop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        env = {**os.environ, SETTINGS_ENV: self.settings.model_dump_json()}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "smsstreams.cli", "worker", "--wake-fd", str(read_fd)],
                pass_fds=(read_fd,),
                env=env,
            )
        finally:
            os.close(read_fd)
        with self._lock:
            old, self._wake_fd = self._wake_fd, write_fd
            self._process = process
        if old is not None:
            os.close(old)
        log.info("worker process %d started", process.pid)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            log.error("worker process %d exited with %s; starting another", process.pid, code)
            if self._stopping.wait(RESTART_SECONDS):
                return
            self._spawn()

    def _send(self, signal_byte: bytes) -> None:
        with self._lock:
            fd = self._wake_fd
            if fd is None:
                return
            try:
                os.write(fd, signal_byte)
            except BlockingIOError:
                pass  # the pipe is full of wake-ups the child has not read: it is awake
            except OSError:
                pass  # the child is gone; the watcher starts another, which polls first

    def wake_dispatcher(self) -> None:
        self._send(WAKE_DISPATCHER)

    def wake_webhooks(self) -> None:
        self._send(WAKE_WEBHOOKS)

    def stop(self) -> None:
        """Close the pipe (the child stops its workers and exits) and wait for it."""
        self._stopping.set()
        with self._lock:
            fd, self._wake_fd = self._wake_fd, None
            process = self._process
        if fd is not None:
            os.close(fd)
        if process is None:
            return
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.error("worker process %d did not stop in time; killing it", process.pid)
            process.kill()
            process.wait()
        if self._watcher is not None:
            self._watcher.join(timeout=5)


def run_child(wake_fd: int) -> int:
    """The child's main: the workers, woken through ``wake_fd``, until it reads EOF (the
    server is gone or stopping) or gets SIGTERM/SIGINT."""
    settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s [worker]: %(message)s",
    )
    asyncio.run(_child_main(settings, wake_fd))
    return 0


async def _child_main(settings: Settings, wake_fd: int) -> None:
    from smsstreams.db.engine import make_engine
    from smsstreams.runtime import Workers
    from smsstreams.webhooks import guard

    guard.allow_private = settings.webhook_allow_private
    engine = make_engine(settings.resolved_database_url())
    workers = Workers.build(settings, engine)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def on_wake() -> None:
        try:
            data = os.read(wake_fd, 4096)
        except BlockingIOError:
            return
        if not data:  # the server closed its end, or died
            loop.remove_reader(wake_fd)
            done.set()
            return
        if WAKE_DISPATCHER in data:
            workers.dispatcher.wake()
        if WAKE_WEBHOOKS in data:
            workers.webhooks.wake()

    os.set_blocking(wake_fd, False)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, done.set)
    await workers.start()
    loop.add_reader(wake_fd, on_wake)
    workers.dispatcher.wake()  # whatever was queued before we started
    log.info("worker process %d running", os.getpid())
    try:
        await done.wait()
    finally:
        log.info("worker process %d stopping", os.getpid())
        loop.remove_reader(wake_fd)
        await workers.stop()
        engine.dispose()
        os.close(wake_fd)
