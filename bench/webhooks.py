"""Webhook benchmark (issue 5): inbound messages → signed webhook requests.

``python -m bench.webhooks`` starts the server (SQLite, and PostgreSQL when reachable), a
webhook receiver on 127.0.0.1 in this process, and a two-way demo stream whose webhook points
at it. Then:

1. **latency**: inbound messages injected through the demo channel
   (``POST /api/v1/demo/inbound``) at a fixed rate; for each, the time from its
   ``received_at`` (when the server stored it) until the receiver has the request;
2. **throughput**: a burst is injected while the receiver holds every request; then it
   answers, taking 50 ms per request, with the server allowed 100 concurrent deliveries:
   deliveries per second from the release to the last arrival.

Everything goes to 127.0.0.1, bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import threading
import time
from datetime import datetime
from typing import Any

from bench.report import table
from bench.server import HOST, BenchError, BenchServer, postgres_unavailable, request

NUMBER = "12025550142"


class Receiver:
    """A minimal keep-alive HTTP/1.1 server that records when each event arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, str]] = {}  # id -> (arrival time, received_at)
        self.delay = 0.0
        self.port = 0
        self.gate = asyncio.Event()  # set: answer; clear: hold requests
        self.gate.set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, HOST, 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                await self.gate.wait()
                now = time.time()
                event = json.loads(body)
                self.arrivals[event["id"]] = (now, event["received_at"])
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def hold(self) -> None:
        self._loop.call_soon_threadsafe(self.gate.clear)

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self.gate.set)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


def _setup(server: BenchServer, receiver: Receiver) -> str:
    import subprocess
    import sys
    import uuid

    out = subprocess.run(
        [sys.executable, "-m", "smsstreams.cli", "account", "create", "--name", "Hooks",
         "--email", f"hooks-{uuid.uuid4().hex[:8]}@example.test", "--password",
         "bench-password-1", "--json"],
        env=server.env(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    auth = {"Authorization": f"Bearer {json.loads(out.stdout)['api_key']}"}
    request(server.port, "POST", "/api/v1/sender-ids", {"value": NUMBER}, auth)
    status, body = request(
        server.port,
        "POST",
        "/api/v1/streams",
        {
            "name": "webhook bench",
            "state": "active",
            "demo": True,
            "direction": "two_way",
            "allowed_ips": [HOST],
            "default_sender": NUMBER,
            "webhook": {"method": "POST", "url": f"http://{HOST}:{receiver.port}/hook"},
        },
        auth,
    )
    if status != 201:
        raise BenchError(f"POST /api/v1/streams: HTTP {status}: {body!r}")
    return str(body["token"])


def _inject(port: int, token: str, count: int, rate: float | None, tag: str) -> list[str]:
    """Inject ``count`` inbound messages, ``rate`` per second (None: as fast as possible)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Authorization": token, "Content-Type": "application/json"}
    ids = []
    start = time.monotonic()
    for i in range(count):
        if rate:
            wait = start + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        body = json.dumps({"from": "+15551230000", "to": NUMBER, "text": f"{tag} {i}"})
        conn.request("POST", "/api/v1/demo/inbound", body, headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 201:
            raise BenchError(f"inject: HTTP {response.status}: {data[:200]!r}")
        ids.append(json.loads(data)["id"])
    conn.close()
    return ids


def _wait(receiver: Receiver, ids: list[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(i in receiver.arrivals for i in ids):
            return True
        time.sleep(0.05)
    return False


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(db: str, args: argparse.Namespace) -> dict[str, Any]:
    receiver = Receiver()
    server = BenchServer(
        db,
        label=f"webhooks-{db}",
        extra_env={
            "SMSSTREAMS_WEBHOOK_ALLOW_PRIVATE": "true",
            "SMSSTREAMS_WEBHOOK_CONCURRENCY": "100",
            "SMSSTREAMS_WEBHOOK_STREAM_CONCURRENCY": "100",
            "SMSSTREAMS_WEBHOOK_TIMEOUT_SECONDS": "60",
        },
    )
    try:
        server.start(timeout=60)
        token = _setup(server, receiver)
        ids = _inject(server.port, token, args.latency_messages, args.rate, "latency")
        if not _wait(receiver, ids, 60):
            raise BenchError("latency phase: not every webhook arrived within 60 s")
        latencies = [
            (receiver.arrivals[i][0] - datetime.fromisoformat(receiver.arrivals[i][1]).timestamp())
            * 1000
            for i in ids
        ]
        receiver.delay = args.receiver_delay
        receiver.hold()
        burst = _inject(server.port, token, args.burst_messages, None, "burst")
        released = time.time()
        receiver.release()
        if not _wait(receiver, burst, 120):
            raise BenchError("throughput phase: not every webhook arrived within 120 s")
        last = max(receiver.arrivals[i][0] for i in burst)
        return {
            "db": db,
            "rate": args.rate,
            "latency_n": len(ids),
            "p50": _percentile(latencies, 0.5),
            "p99": _percentile(latencies, 0.99),
            "max": max(latencies),
            "burst": len(burst),
            "per_s": len(burst) / max(last - released, 1e-6),
        }
    finally:
        server.close()
        receiver.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=200.0, help="latency phase: messages/s")
    parser.add_argument("--latency-messages", type=int, default=1000)
    parser.add_argument("--burst-messages", type=int, default=3000)
    parser.add_argument(
        "--receiver-delay", type=float, default=0.05, help="throughput phase: s per request"
    )
    args = parser.parse_args(argv)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and (why := postgres_unavailable()):
        print(f"PostgreSQL skipped: {why}")
        dbs.remove("postgres")
    rows = []
    for db in dbs:
        r = run(db, args)
        rows.append(
            [
                r["db"], f"{r['rate']:.0f}/s", str(r["latency_n"]), f"{r['p50']:.1f}",
                f"{r['p99']:.1f}", f"{r['max']:.1f}", str(r["burst"]), f"{r['per_s']:,.0f}",
            ]
        )  # fmt: skip
    print(
        table(
            ["db", "inject", "msgs", "p50 ms", "p99 ms", "max ms", "burst", "deliveries/s"],
            rows,
            right_from=1,
        )
    )
    print("latency: from the server storing the inbound message to the receiver reading it;")
    print("deliveries/s: burst with a receiver taking 50 ms each, 100 concurrent deliveries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
