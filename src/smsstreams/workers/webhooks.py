"""The webhook worker: delivers queued events to streams' URLs, signed, with retries.

It runs in the server's event loop: claims (a database call in a thread) lease due
deliveries, each delivery is one httpx request, and its attempt and new state are stored
before the lease is let go. At most ``per_stream`` deliveries of one stream are in flight,
so a slow receiver cannot starve the others; ``concurrency`` bounds them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from smsstreams import __version__
from smsstreams.config import Settings
from smsstreams.db.types import utcnow
from smsstreams.services import webhook_deliveries
from smsstreams.services.webhook_deliveries import Claimed
from smsstreams.webhooks import guard, policy, signing

log = logging.getLogger(__name__)

USER_AGENT = f"smsstreams-webhook/{__version__}"
EXCERPT = 500
CLAIM_PAUSE_SECONDS = 0.01
POOL_SIZE = 8


class WebhookWorker:
    def __init__(self, engine: Engine, settings: Settings, client: httpx.AsyncClient | None = None):
        self.engine = engine
        self.settings = settings
        self.worker_id = f"wh-{uuid.uuid4().hex[:12]}"
        # Long enough for one request and storing its result; after a crash, deliveries in
        # flight are retried this soon (receivers dedupe on the event id).
        self.lease = timedelta(seconds=settings.webhook_timeout_seconds + 5)
        self._client = client  # injected (tests): used for every stream
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._postgres = engine.dialect.name == "postgresql"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unrecorded: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Thread-safe: called after commits that queued deliveries."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._runner = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._runner is not None:
            await self._runner
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.webhook_timeout_seconds + 1)
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _client_for(self, d: Claimed) -> httpx.AsyncClient:
        """Small connection pools, a few per stream: httpcore matches waiting requests to
        connections in time proportional to their product, so one big pool costs more CPU
        the busier it gets (measured: most of the loop's time at 100 in flight)."""
        if self._client is not None:
            return self._client
        per_pool = min(POOL_SIZE, self.settings.webhook_stream_concurrency)
        pools = -(-self.settings.webhook_stream_concurrency // per_pool)
        key = f"{d.stream_id}/{d.id % pools}"
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = httpx.AsyncClient(
                timeout=self.settings.webhook_timeout_seconds,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool),
                headers={"User-Agent": USER_AGENT},
            )
        return client

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            claimed: list[Claimed] = []
            slots = self.settings.webhook_concurrency - sum(self._in_flight.values())
            if slots > 0:
                try:
                    claimed = await asyncio.to_thread(self._claim, slots)
                except Exception:
                    log.exception("claiming webhook deliveries failed; retrying")
            for delivery in claimed:
                self._in_flight[delivery.stream_id] += 1
                task = asyncio.create_task(self._deliver(delivery))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if len(claimed) < max(slots, 1):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self.settings.poll_interval_seconds
                    )
                # let slots and new events gather: one claim (one commit) for many
                await asyncio.sleep(CLAIM_PAUSE_SECONDS)

    def _claim(self, slots: int) -> list[Claimed]:
        with self.engine.begin() as conn:
            return webhook_deliveries.claim(
                conn,
                worker_id=self.worker_id,
                now=utcnow(),
                lease=self.lease,
                slots=slots,
                per_stream=self.settings.webhook_stream_concurrency,
                busy=dict(self._in_flight),
                postgres=self._postgres,
            )

    async def _deliver(self, d: Claimed) -> None:
        try:
            await self._attempt(d)
        except Exception:
            log.exception(
                "webhook delivery %s crashed; its lease will expire and it is retried", d.id
            )
        finally:
            self._in_flight[d.stream_id] -= 1
            if self._in_flight[d.stream_id] <= 0:
                del self._in_flight[d.stream_id]
            self._wake.set()

    def build_request(self, d: Claimed, now_ts: int) -> httpx.Request:
        headers = {h["name"]: h["value"] for h in d.headers}
        headers["X-Smsstreams-Event"] = d.kind
        headers["X-Smsstreams-Delivery"] = str(d.id)
        if d.method == "GET":
            query = signing.canonical_query(d.payload)
            headers.update(signing.signed_headers(d.secret, now_ts, query.encode()))
            sep = "&" if "?" in d.url else "?"
            return httpx.Request("GET", d.url + sep + query, headers=headers)
        body = json.dumps(d.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
        headers.update(signing.signed_headers(d.secret, now_ts, body))
        return httpx.Request("POST", d.url, headers=headers, content=body)

    async def _attempt(self, d: Claimed) -> None:
        s = self.settings
        started = time.monotonic()
        status_code: int | None = None
        retry_after: str | None = None
        error: str | None = None
        excerpt: str | None = None
        blocked = False
        try:
            await asyncio.to_thread(
                guard.check_resolved, d.url, allow_private=s.webhook_allow_private
            )
            request = self.build_request(d, int(time.time()))
            response = await self._client_for(d).send(request)
            status_code = response.status_code
            retry_after = response.headers.get("retry-after")
            excerpt = response.text[:EXCERPT] if response.content else None
        except guard.BlockedDestination as exc:
            blocked, error = True, f"blocked: {exc}"
        except httpx.TimeoutException:
            error = f"timeout after {s.webhook_timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = int((time.monotonic() - started) * 1000)
        now = utcnow()
        if blocked:
            outcome = policy.Outcome("failed")
        else:
            outcome = policy.decide(
                status_code=status_code,
                retry_after=retry_after,
                attempt=d.attempts + 1,
                max_attempts=s.webhook_max_attempts,
                give_up_at=d.give_up_at,
                now=now,
                base=s.webhook_retry_base_seconds,
                cap=s.webhook_retry_cap_seconds,
            )
        if status_code is not None and error is None and outcome.state != "delivered":
            error = f"HTTP {status_code}"

        await self._record(
            {
                "delivery_id": d.id,
                "worker_id": self.worker_id,
                "at": now,
                "status_code": status_code,
                "latency_ms": latency,
                "error": error,
                "excerpt": excerpt,
                "state": outcome.state,
                "next_attempt_at": outcome.next_attempt_at,
            }
        )

    async def _record(self, attempt: dict[str, Any]) -> None:
        """Store an attempt. Attempts finishing together share one transaction (one fsync
        on SQLite), and the delivery's slot is given back only once it is stored."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unrecorded.append((attempt, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_pending())
        await done

    async def _record_pending(self) -> None:
        while self._unrecorded:
            batch, self._unrecorded = self._unrecorded, []

            def store(attempts: list[dict[str, Any]]) -> list[bool]:
                with self.engine.begin() as conn:
                    return [webhook_deliveries.record_attempt(conn, **a) for a in attempts]

            try:
                kept = await asyncio.to_thread(store, [a for a, _ in batch])
            except Exception as exc:
                log.exception("storing %d webhook attempts failed; they are retried", len(batch))
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for (attempt, done), ok in zip(batch, kept, strict=True):
                if not ok:
                    log.warning(
                        "webhook delivery %s was taken over by another worker",
                        attempt["delivery_id"],
                    )
                done.set_result(None)
