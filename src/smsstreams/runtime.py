"""What one server process holds: settings, the engine, the write path and the workers."""

from __future__ import annotations

import asyncio
import logging
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
from smsstreams.workers.webhooks import WebhookWorker

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writer: SendWriter
    dispatcher: Dispatcher | None = None
    webhooks: WebhookWorker | None = None
    carriers: ConnectorManager | None = None
    started: bool = field(default=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.resolved_database_url())
        guard.allow_private = settings.webhook_allow_private
        dispatcher = webhooks = carriers = None
        if settings.run_workers:
            webhooks = WebhookWorker(engine, settings)
            carriers = ConnectorManager(
                engine, carrier_options(settings), on_webhooks=webhooks.wake
            )
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
        writer = SendWriter(engine, on_commit=dispatcher.wake if dispatcher else lambda: None)
        token_cache.ttl_seconds = settings.token_cache_seconds
        return cls(
            settings, engine, make_sessionmaker(engine), writer, dispatcher, webhooks, carriers
        )

    @property
    def webhook_budget(self) -> timedelta:
        return timedelta(seconds=self.settings.webhook_budget_seconds)

    @property
    def reply_window(self) -> timedelta:
        return timedelta(days=self.settings.reply_window_days)

    def wake_webhooks(self) -> None:
        if self.webhooks is not None:
            self.webhooks.wake()

    async def start(self) -> None:
        self.writer.start()
        if self.carriers is not None:
            await asyncio.to_thread(self.carriers.start)
        if self.dispatcher is not None:
            self.dispatcher.start()
        if self.webhooks is not None:
            await self.webhooks.start()
        self.started = True

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.stop()
        if self.dispatcher is not None:
            await asyncio.to_thread(self.dispatcher.stop)
        if self.carriers is not None:
            await asyncio.to_thread(self.carriers.stop)
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
