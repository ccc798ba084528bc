"""The SMPP channel of a server process: one asyncio loop in its own thread, one
:class:`~smsstreams.smpp.client.SmppClient` per connector this process holds.

Configuration comes from the database (``services.connectors``) and is re-read every
``SMSSTREAMS_CONNECTOR_POLL_SECONDS``; at the same time the process takes or renews its
lease on every enabled connector (``SMSSTREAMS_CONNECTOR_LEASE_SECONDS``) and writes each
held connector's live state and counters, which the CLI and the operator API show. A
connector is bound by the one process whose lease is live, so a carrier's bind limit holds
with any number of server processes on PostgreSQL; a process that cannot renew its leases
(database gone) drops its binds before the lease runs out.

The dispatcher thread hands over messages with :meth:`ConnectorManager.submit_many`;
each is submitted by a task on this loop (``smpp_link.ConnectorLink.submit``, failing over
along the route). Results, receipts and MO parts go to one writer task, which stores
everything waiting in one transaction (group commit) in a worker thread -- submit results
first, through the dispatcher's ``record_carrier_results``, so a receipt right behind its
submit_sm_resp matches at once. The SMSC gets its deliver_sm_resp only after that commit
(``on_deliver`` returns then).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, update

from smsstreams.db.models import QUEUED, messages_table
from smsstreams.db.types import utcnow
from smsstreams.services import connectors as connector_service
from smsstreams.services.connectors import CarrierConfig
from smsstreams.smpp.receipts import normalize_message_id
from smsstreams.workers import mo_parts, receipts

from .carrier import (
    SubmitJob,
    SubmitResult,
)
from .routing import EMPTY, RouteTable
from .smpp_link import ConnectorLink

log = logging.getLogger(__name__)

WRITE_BATCH = 2000


class ResultRecorder(Protocol):
    """The dispatcher, as the SMPP writer sees it."""

    def record_carrier_results(
        self, conn: Connection, results: list[SubmitResult], now: datetime
    ) -> int: ...

    def carrier_results_recorded(self, message_ids: list[str]) -> None: ...


def process_owner() -> str:
    """A lease owner id unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class CarrierOptions:
    """Process-wide settings of the SMPP channel (from ``Settings``)."""

    poll_seconds: float = 1.0
    lease_seconds: float = 15.0
    bind_grace_seconds: float = 5.0
    submit_timeout: float = 30.0
    response_timeout: float = 10.0
    enquire_link_seconds: float = 30.0
    reconnect_max_seconds: float = 30.0
    reconnect_delay: float = 0.5
    tls_ca_file: str = ""
    pending_receipt_seconds: float = 3600.0
    mo_reassembly_seconds: float = 600.0
    reply_window: timedelta = timedelta(days=7)
    webhook_budget: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the dispatcher reads (replaced as a whole, so reading it needs no lock)."""

    routes: RouteTable = EMPTY
    #: enabled connectors that can submit (not receiver-only)
    senders: frozenset[str] = frozenset()
    #: those bound by this process
    held: frozenset[str] = frozenset()
    #: those bound by another live process
    elsewhere: frozenset[str] = frozenset()
    #: how many carrier messages this process may have in flight
    capacity: int = 100


@dataclass(slots=True)
class _Writes:
    items: list[tuple[Any, asyncio.Future[None] | None]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    busy: bool = False
    failures: int = 0  # consecutive failed batches


class ConnectorManager:
    """Holds the connectors of this process; thread-safe entry points are :meth:`start`,
    :meth:`stop`, :meth:`submit` and :attr:`snapshot`."""

    def __init__(
        self,
        engine: Engine,
        options: CarrierOptions | None = None,
        *,
        owner: str | None = None,
        on_webhooks: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.options = options or CarrierOptions()
        self.owner = owner or process_owner()
        self.on_webhooks = on_webhooks
        self.snapshot = Snapshot()
        self.links: dict[str, ConnectorLink] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._writes: _Writes | None = None
        self._last_lease_ok = 0.0
        self._config = CarrierConfig()
        self._jobs: set[asyncio.Task[SubmitResult]] = set()
        self._recorders: dict[int, ResultRecorder] = {}
        self._inbox = mo_parts.Inbox(self.options.reply_window, self.options.webhook_budget)

    # -- thread side --------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the loop thread; returns after the first configuration read."""
        self._thread = threading.Thread(target=self._thread_main, name="smpp", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Unbind every connector (answers awaited, receipts stored), release the leases."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            future.result(timeout)
        except Exception:
            log.exception("stopping the SMPP connectors failed")
        thread.join(timeout)

    def submit_many(self, jobs: list[SubmitJob], recorder: ResultRecorder) -> None:
        """Submit each job; the results are recorded by the writer through ``recorder``
        (in the transaction that also stores the receipts waiting at that moment)."""
        assert self._loop is not None, "manager not started"
        self._loop.call_soon_threadsafe(self._start_jobs, jobs, recorder)

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    # -- loop side ----------------------------------------------------------------------

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._writes = _Writes()
        writer = asyncio.create_task(self._writer(), name="smpp-writer")
        try:
            while not self._stopping.is_set():
                try:
                    await self._refresh()
                except Exception:
                    log.exception("reading the connector configuration failed; retrying")
                    await self._check_lease_age()
                self._ready.set()
                try:
                    async with asyncio.timeout(self.options.poll_seconds):
                        await self._stopping.wait()
                except TimeoutError:
                    pass
        finally:
            await self._close_all()
            await self._flush_writes(within=5.0)  # results of the last submits, too
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await asyncio.to_thread(self._release_all)

    async def _flush_writes(self, within: float) -> None:
        writes = self._writes
        assert writes is not None
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while (writes.items or writes.busy) and loop.time() < give_up:
            writes.wake.set()
            await asyncio.sleep(0.02)
        if writes.items:
            log.warning("%d results/receipts not stored at stop", len(writes.items))

    async def _shutdown(self) -> None:
        assert self._stopping is not None
        self._stopping.set()

    async def _close_all(self) -> None:
        links, self.links = self.links, {}
        self.snapshot = Snapshot(
            self._config.routes, self.snapshot.senders, frozenset(), self.snapshot.elsewhere
        )
        await asyncio.gather(*(link.close() for link in links.values()), return_exceptions=True)

    async def _check_lease_age(self) -> None:
        loop = asyncio.get_running_loop()
        if self.links and loop.time() - self._last_lease_ok > self.options.lease_seconds * 0.8:
            log.error("cannot renew the connector leases; unbinding before they run out")
            await self._close_all()

    async def _refresh(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        states = {name: link.report(now) for name, link in self.links.items()}
        config, held, elsewhere = await asyncio.to_thread(self._sync, states)
        self._last_lease_ok = loop.time()
        self._config = config
        wanted = {c.name: c for c in config.connectors if c.enabled and c.name in held}
        for name, link in list(self.links.items()):
            if wanted.get(name) != link.settings:
                why = "changed" if name in wanted else "disabled, removed or taken over"
                log.info("connector %s %s: unbinding", name, why)
                self.links.pop(name)
                await link.close()
        for name, settings in wanted.items():
            if name not in self.links:
                log.info(
                    "connector %s: binding to %s:%s as %s (%s)",
                    name,
                    settings.host,
                    settings.port,
                    settings.system_id,
                    settings.bind_type,
                )
                link = ConnectorLink(settings, self)
                self.links[name] = link
                await link.start()
        senders = frozenset(
            c.name for c in config.connectors if c.enabled and c.bind_type != "receiver"
        )
        mine = frozenset(n for n in self.links if n in senders)
        capacity = max(100, sum(self.links[n].capacity() for n in mine))
        self.snapshot = Snapshot(config.routes, senders, mine, frozenset(elsewhere), capacity)

    def _sync(
        self, states: dict[str, tuple[str, str | None, dict[str, Any]]]
    ) -> tuple[CarrierConfig, set[str], set[str]]:
        """One transaction: read the configuration, take/renew leases, write live state."""
        now = utcnow()
        lease = timedelta(seconds=self.options.lease_seconds)
        held: set[str] = set()
        with self.engine.begin() as conn:
            config = connector_service.load_config(conn)
            for c in config.connectors:
                if not c.enabled:
                    if c.name in self.links:
                        connector_service.release_lease(conn, c.name, self.owner, now=now)
                    continue
                state, error, stats = states.get(c.name, ("connecting", None, {}))
                if connector_service.take_lease(
                    conn, c.name, self.owner, now=now, lease=lease,
                    state=state, error=error, stats=stats,
                ):  # fmt: skip
                    held.add(c.name)
            elsewhere = connector_service.held_elsewhere(conn, self.owner, now=now)
            live = {f"smpp:{n}" for n in held | elsewhere}
            # a message handed to a connector that nobody binds any more goes back to routing
            m = messages_table
            conn.execute(
                update(m)
                .where(
                    m.c.status == QUEUED,
                    m.c.channel >= "smpp:",
                    m.c.channel < "smpp;",
                    m.c.channel.not_in(live),
                )
                .values(channel=None)
            )
        return config, held, elsewhere

    def _release_all(self) -> None:
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                for c in self._config.connectors:
                    connector_service.release_lease(conn, c.name, self.owner, now=now)
        except Exception:
            log.exception("releasing the connector leases failed (they will run out)")

    # -- submit -------------------------------------------------------------------------

    def _start_jobs(self, jobs: list[SubmitJob], recorder: ResultRecorder) -> None:
        loop = asyncio.get_running_loop()
        for job in jobs:
            task = loop.create_task(self._submit_safely(job))
            self._jobs.add(task)
            task.add_done_callback(partial(self._job_done, recorder))

    def _job_done(self, recorder: ResultRecorder, task: asyncio.Task[SubmitResult]) -> None:
        self._jobs.discard(task)
        if not task.cancelled():
            self._recorders[id(recorder)] = recorder
            self._queue_write((id(recorder), task.result()), None)

    async def _submit_safely(self, job: SubmitJob) -> SubmitResult:
        try:
            return await self._submit(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: retry the message later rather than lose it
            log.exception("submitting message %s failed", job.message_id)
            return SubmitResult(job, note=f"internal error: {type(exc).__name__}: {exc}")

    async def _submit(self, job: SubmitJob) -> SubmitResult:
        result = SubmitResult(job)
        for name in job.connectors:
            link = self.links.get(name)
            if link is None or link.tx is None:
                if name in self.snapshot.elsewhere:
                    result.handoff = name
                    break
                continue  # disabled or lost since the job was made
            attempt = await link.submit(job)
            result.attempts.append(attempt)
            if attempt.ok:
                result.accepted_by = name
                fmt = link.settings.id_format
                result.segments = [
                    (i, normalize_message_id(raw, fmt)[:72], raw[:72])
                    for i, raw in enumerate(attempt.carrier_ids, start=1)
                ]
                break
        return result

    # -- deliveries ---------------------------------------------------------------------

    async def store(self, item: receipts.ReceiptIn | mo_parts.MoIn) -> None:
        """Queue a receipt / MO part for the writer; returns after it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue_write(item, future)
        await future

    def _queue_write(self, item: Any, future: asyncio.Future[None] | None) -> None:
        writes = self._writes
        assert writes is not None
        writes.items.append((item, future))
        writes.wake.set()

    async def _writer(self) -> None:
        """Store submit results, receipts and MO parts: everything waiting, in one
        transaction, results first (so a receipt right behind its resp matches)."""
        writes = self._writes
        assert writes is not None
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:
            try:
                async with asyncio.timeout(max(0.0, next_sweep - loop.time())):
                    await writes.wake.wait()
            except TimeoutError:
                pass
            writes.wake.clear()
            while writes.items:
                batch = writes.items[:WRITE_BATCH]
                del writes.items[:WRITE_BATCH]
                writes.busy = True
                try:
                    webhooks = await asyncio.to_thread(self._store, [i for i, _ in batch])
                except Exception as exc:
                    writes.failures += 1
                    log.exception("storing %d results/receipts/MO failed", len(batch))
                    for _, fut in batch:
                        if fut is not None and not fut.done():
                            fut.set_exception(exc)
                            fut.exception()  # the client answers ESME_RX_T_APPN: resent later
                    # submit results are kept and tried again a few times; after that their
                    # messages go back to the queue when their lease runs out
                    results = [(i, f) for i, f in batch if f is None]
                    if writes.failures < 5:
                        writes.items[:0] = results
                    else:
                        for key, result in (item for item, _ in results):
                            self._recorders[key].carrier_results_recorded([result.job.message_id])
                    await asyncio.sleep(0.5)
                    continue
                finally:
                    writes.busy = False
                writes.failures = 0
                for _, fut in batch:
                    if fut is not None and not fut.done():
                        fut.set_result(None)
                if webhooks:
                    self.on_webhooks()
            if loop.time() >= next_sweep:
                next_sweep = loop.time() + max(1.0, self.options.poll_seconds)
                try:
                    if await asyncio.to_thread(self._sweep, list(self.links)):
                        self.on_webhooks()
                except Exception:
                    log.exception("receipt/MO sweep failed")

    def _store(self, items: list[Any]) -> int:
        now = utcnow()
        results: dict[int, list[SubmitResult]] = defaultdict(list)
        found: list[receipts.ReceiptIn] = []
        mos: list[mo_parts.MoIn] = []
        for item in items:
            if isinstance(item, receipts.ReceiptIn):
                found.append(item)
            elif isinstance(item, mo_parts.MoIn):
                mos.append(item)
            else:
                results[item[0]].append(item[1])
        webhooks = 0
        with self.engine.begin() as conn:
            for key, done in results.items():
                webhooks += self._recorders[key].record_carrier_results(conn, done, now)
            counts = receipts.store_receipts(
                conn, found, now, callback_budget=self.options.webhook_budget
            )
            webhooks += counts.webhooks + mo_parts.store_mo(conn, mos, now, self._inbox)
        for key, done in results.items():
            self._recorders[key].carrier_results_recorded([r.job.message_id for r in done])
        if counts.pending:
            log.debug("%d receipt(s) wait for their message id", counts.pending)
        return webhooks

    def _sweep(self, names: list[str]) -> int:
        now = utcnow()
        with self.engine.begin() as conn:
            counts = receipts.apply_pending(
                conn, now, callback_budget=self.options.webhook_budget, connectors=names
            )
            receipts.drop_stale_pending(
                conn, now - timedelta(seconds=self.options.pending_receipt_seconds)
            )
            expired = mo_parts.expire_sets(
                conn,
                now - timedelta(seconds=self.options.mo_reassembly_seconds),
                now,
                self._inbox,
                connectors=names,
            )
        return counts.webhooks + expired
