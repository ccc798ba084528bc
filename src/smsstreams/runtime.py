"""What one server process holds: settings, the engine, the write path and the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from smsstreams.channels.demo import DemoChannel
from smsstreams.channels.smpp import CarrierOptions, ConnectorManager
from smsstreams.config import Settings
from smsstreams.db.engine import make_engine, make_sessionmaker
from smsstreams.services import token_cache
from smsstreams.services.sending import SendWriter
from smsstreams.webhooks import guard
from smsstreams.workers.dispatch import Dispatcher
from smsstreams.workers.process import WorkerProcess
from smsstreams.workers.webhooks import WebhookWorker

log = logging.getLogger(__name__)


@dataclass
class Workers:
    """The background workers: dispatcher, carrier connectors, webhook deliveries."""

    dispatcher: Dispatcher
    webhooks: WebhookWorker
    carriers: ConnectorManager

    @classmethod
    def build(cls, settings: Settings, engine: Engine) -> Workers:
        webhooks = WebhookWorker(engine, settings)
        carriers = ConnectorManager(engine, carrier_options(settings), on_webhooks=webhooks.wake)
        dispatcher = Dispatcher(
            engine,
            DemoChannel(
                delay_min=settings.demo_receipt_delay_min,
                delay_max=settings.demo_receipt_delay_max,
                undelivered_rate=settings.demo_undelivered_rate,
                reply_rate=settings.demo_reply_rate,
            ),
            batch=settings.dispatch_batch,
            lease=timedelta(seconds=settings.dispatch_lease_seconds),
            poll_interval=settings.poll_interval_seconds,
            carriers=carriers,
            max_attempts=settings.submit_max_attempts,
            retry_base=settings.submit_retry_base_seconds,
            retry_cap=settings.submit_retry_cap_seconds,
            reply_window=timedelta(days=settings.reply_window_days),
            webhook_budget=timedelta(seconds=settings.webhook_budget_seconds),
            on_webhooks=webhooks.wake,
        )
        return cls(dispatcher, webhooks, carriers)

    async def start(self) -> None:
        await asyncio.to_thread(self.carriers.start)
        self.dispatcher.start()
        await self.webhooks.start()

    async def stop(self) -> None:
        await self.webhooks.stop()
        await asyncio.to_thread(self.dispatcher.stop)
        await asyncio.to_thread(self.carriers.stop)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writer: SendWriter
    #: workers in this process, or the handle of the worker process (SMSSTREAMS_WORKER_PROCESS)
    workers: Workers | None = None
    worker_process: WorkerProcess | None = None
    started: bool = field(default=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.resolved_database_url())
        guard.allow_private = settings.webhook_allow_private
        workers = worker_process = None
        on_commit: Callable[[], None] = lambda: None  # noqa: E731
        if settings.run_workers and settings.worker_process:
            worker_process = WorkerProcess(settings)
            on_commit = worker_process.wake_dispatcher
        elif settings.run_workers:
            workers = Workers.build(settings, engine)
            on_commit = workers.dispatcher.wake
        writer = SendWriter(engine, on_commit=on_commit)
        token_cache.ttl_seconds = settings.token_cache_seconds
        return cls(settings, engine, make_sessionmaker(engine), writer, workers, worker_process)

    @property
    def dispatcher(self) -> Dispatcher | None:
        return self.workers.dispatcher if self.workers else None

    @property
    def carriers(self) -> ConnectorManager | None:
        return self.workers.carriers if self.workers else None

    @property
    def webhook_budget(self) -> timedelta:
        return timedelta(seconds=self.settings.webhook_budget_seconds)

    @property
    def reply_window(self) -> timedelta:
        return timedelta(days=self.settings.reply_window_days)

    def wake_webhooks(self) -> None:
        if self.workers is not None:
            self.workers.webhooks.wake()
        elif self.worker_process is not None:
            self.worker_process.wake_webhooks()

    async def start(self) -> None:
        self.writer.start()
        if self.workers is not None:
            await self.workers.start()
        if self.worker_process is not None:
            self.worker_process.start()
        self.started = True

    async def stop(self) -> None:
        if self.worker_process is not None:
            await asyncio.to_thread(self.worker_process.stop)
        if self.workers is not None:
            await self.workers.stop()
        self.writer.stop()
        self.engine.dispose()
        self.started = False


def carrier_options(settings: Settings) -> CarrierOptions:
    return CarrierOptions(
        poll_seconds=settings.connector_poll_seconds,
        lease_seconds=settings.connector_lease_seconds,
        bind_grace_seconds=settings.smpp_bind_grace_seconds,
        submit_timeout=settings.smpp_submit_timeout_seconds,
        response_timeout=settings.smpp_response_timeout_seconds,
        enquire_link_seconds=settings.smpp_enquire_link_seconds,
        reconnect_max_seconds=settings.smpp_reconnect_max_seconds,
        tls_ca_file=settings.smpp_tls_ca_file,
        pending_receipt_seconds=settings.pending_receipt_seconds,
        mo_reassembly_seconds=settings.mo_reassembly_seconds,
        reply_window=timedelta(days=settings.reply_window_days),
        webhook_budget=timedelta(seconds=settings.webhook_budget_seconds),
    )
