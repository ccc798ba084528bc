"""The load generator: a small asyncio HTTP/1.1 keep-alive client, run in its own process.

``python -m bench.loadgen`` reads one JSON line of :class:`LoadConfig` on stdin, pre-builds
every request's bytes, prints ``ready``, waits for a ``go`` line, sends, and prints one JSON
line of results. The handshake lets the orchestrator read the server's CPU counters exactly
when the load starts and ends.

It speaks just enough HTTP/1.1 for the Send route (status line, ``Content-Length`` or
chunked body, ``Connection: close``) over raw ``asyncio`` streams: an HTTP library would
spend a large share of the two cores the server needs. Concurrency is the number of
connections; each sends its next request when the previous response has been read.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

SEND_PATH = "/api/v1/sms/send"
#: Demo numbers that are always delivered: +1 202 555 0100 .. 0149 (digits without ``+``).
FIRST_NUMBER = 12025550100
NUMBERS = 50
MAX_SAMPLES = 5
SLOWEST = 10


@dataclass(frozen=True)
class LoadConfig:
    port: int
    token: str
    messages: int
    per_request: int
    concurrency: int
    tag: str
    request_timeout: float = 30.0
    overall_timeout: float = 300.0
    host: str = "127.0.0.1"


@dataclass
class LoadResult:
    requests: int = 0
    responses: int = 0
    accepted: int = 0
    refused_messages: int = 0
    http_errors: int = 0
    transport_errors: int = 0
    timed_out: bool = False
    duration_s: float = 0.0
    start_mono: float = 0.0
    last_accept_mono: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    per_second: list[int] = field(default_factory=list)
    slowest: list[tuple[float, float]] = field(default_factory=list)  # (ms, s after start)
    cpu_s: float = 0.0

    @property
    def errors(self) -> int:
        return self.http_errors + self.transport_errors


def build_requests(cfg: LoadConfig) -> list[bytes]:
    """Every request's bytes, built before the clock starts; ``internal_id`` is unique."""
    head = (
        f"POST {SEND_PATH} HTTP/1.1\r\nHost: {cfg.host}:{cfg.port}\r\n"
        f"Authorization: {cfg.token}\r\nContent-Type: application/json\r\n"
    ).encode()
    out: list[bytes] = []
    for start in range(0, cfg.messages, cfg.per_request):
        items = [
            {
                "internal_id": f"{cfg.tag}-{k}",
                "recipient_phone": str(FIRST_NUMBER + k % NUMBERS),
                "message_content": f"Your code is {k * 7919 % 1000000:06d}",
            }
            for k in range(start, min(start + cfg.per_request, cfg.messages))
        ]
        body = json.dumps({"messages": items}, separators=(",", ":")).encode()
        out.append(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return out


def parse_head(head: bytes) -> tuple[int, int | None, bool]:
    """(status, Content-Length or None for chunked, connection closes) from a response head."""
    if not head.startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP/1.x response: {head[:40]!r}")
    status = int(head[9:12])
    lower = head.lower()
    close = b"\r\nconnection: close" in lower
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.find(b"\r\n", at + 2)
        return status, int(lower[at + 17 : end]), close
    if b"\r\ntransfer-encoding: chunked" in lower:
        return status, None, close
    raise ValueError("response has neither Content-Length nor chunked encoding")


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from our server
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class LoadRun:
    def __init__(self, cfg: LoadConfig, requests: list[bytes]) -> None:
        self.cfg = cfg
        self.requests = requests
        self.next = 0
        self.latencies: list[float] = []
        self.starts: list[float] = []
        self.accept_times: list[tuple[float, int]] = []
        self.result = LoadResult()

    def _sample(self, text: str) -> None:
        if len(self.result.error_samples) < MAX_SAMPLES:
            self.result.error_samples.append(text[:300])

    def _answer(self, status: int, body: bytes, now: float) -> None:
        r = self.result
        r.responses += 1
        r.status_counts[str(status)] = r.status_counts.get(str(status), 0) + 1
        if status != 202:
            r.http_errors += 1
            self._sample(f"HTTP {status}: {body.decode(errors='replace')}")
            return
        accepted = 0
        for message in json.loads(body)["messages"]:
            if message.get("message_uuid"):
                accepted += 1
            else:
                r.refused_messages += 1
                self._sample(f"refused: {json.dumps(message)}")
        if accepted:
            r.accepted += accepted
            r.last_accept_mono = now
            self.accept_times.append((now, accepted))

    async def _client(self) -> None:
        cfg, perf = self.cfg, time.perf_counter
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while self.next < len(self.requests):
            request = self.requests[self.next]
            self.next += 1
            self.result.requests += 1
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(cfg.host, cfg.port)
                started = perf()
                async with asyncio.timeout(cfg.request_timeout):
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    status, length, close = parse_head(head)
                    body = await (
                        read_chunked(reader) if length is None else reader.readexactly(length)
                    )
                self.latencies.append(perf() - started)
                self.starts.append(started)
                self._answer(status, body, time.monotonic())
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
                self.result.transport_errors += 1
                self._sample(f"transport: {type(exc).__name__}: {exc}")
                close = True
                await asyncio.sleep(0.05)  # no tight loop against a server that is gone
            if close and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def run(self) -> LoadResult:
        r, cfg = self.result, self.cfg
        usage = resource.getrusage(resource.RUSAGE_SELF)
        r.start_mono = time.monotonic()
        started = time.perf_counter()
        clients = [asyncio.ensure_future(self._client()) for _ in range(cfg.concurrency)]
        try:
            async with asyncio.timeout(cfg.overall_timeout):
                await asyncio.gather(*clients)
        except TimeoutError:
            r.timed_out = True
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
        r.duration_s = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        r.cpu_s = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
        ordered = sorted(self.latencies)
        r.latency_ms = {
            name: percentile(ordered, q) * 1000
            for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        }
        worst = sorted(range(len(self.latencies)), key=self.latencies.__getitem__)[-SLOWEST:]
        r.slowest = [(self.latencies[i] * 1000, self.starts[i] - started) for i in reversed(worst)]
        seconds = int(r.duration_s) + 1
        r.per_second = [0] * seconds
        for at, n in self.accept_times:
            r.per_second[min(seconds - 1, int(at - r.start_mono))] += n
        return r


def _use_uvloop() -> None:
    try:
        import uvloop  # the server's own dependency (uvicorn[standard])
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> int:
    cfg = LoadConfig(**json.loads(sys.stdin.readline()))
    requests = build_requests(cfg)
    _use_uvloop()
    gc.collect()
    gc.freeze()  # the pre-built requests never need scanning
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    result = asyncio.run(LoadRun(cfg, requests).run())
    out: dict[str, Any] = asdict(result)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
