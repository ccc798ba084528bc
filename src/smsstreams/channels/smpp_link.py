"""One held connector: its SMPP client(s), submitting a message, receiving deliver_sm.

Runs on the connector manager's event loop (see ``channels/smpp.py``). A submit builds
the parts per the connector's settings (concatenation, packing, TON/NPI, validity period,
``registered_delivery=1``), sends them in the window and sums the answers up in an
:class:`~smsstreams.channels.carrier.Attempt`. Every received deliver_sm / data_sm becomes
a receipt or an MO part and is handed to the manager's writer; ``on_deliver`` returns (and
the client answers the SMSC) only after that has been committed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smsstreams.db.types import utcnow
from smsstreams.services.connectors import ConnectorSettings
from smsstreams.smpp.client import ClientState, NotBound, SmppClient, SmppClientError
from smsstreams.smpp.concat import MessageDecodeError, build_parts, user_data_from_pdu
from smsstreams.smpp.pdu import (
    CommandStatus,
    DataSm,
    DeliverSm,
    LocalProtocolError,
    PduError,
    SubmitSm,
    SubmitSmResp,
    Tag,
    status_name,
)
from smsstreams.smpp.receipts import normalize_message_id, report_from_pdu
from smsstreams.workers import mo_parts, receipts

from .carrier import Attempt, SubmitJob, classify_status, smpp_time, source_address
from .routing import destination_digits
from .throughput import Throughput

if TYPE_CHECKING:
    from .smpp import ConnectorManager

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Meter:
    accepted: int = 0
    at: float = 0.0
    rate: float = 0.0


class ConnectorLink:
    """A held connector: its client(s) and submit logic (runs on the manager's loop)."""

    def __init__(self, settings: ConnectorSettings, manager: ConnectorManager) -> None:
        self.settings = settings
        self.name = settings.name
        self.manager = manager
        opts = manager.options
        loop = asyncio.get_running_loop()
        self.started = loop.time()
        self.unbound_since: float | None = self.started
        self._reference = random.randrange(0x10000)
        self._meter = _Meter(at=self.started)
        self._throughput = Throughput(self.started)
        self.receipts = 0  # receipts and MO parts stored (committed)
        self.mo_parts = 0
        self._shown: tuple[str, str | None] = ("connecting", None)
        self._state_since = self._error_at = utcnow().isoformat(timespec="seconds")
        tls = None
        if settings.tls:
            tls = ssl.create_default_context(cafile=opts.tls_ca_file or None)

        def client(
            bind: Any, on_state: Callable[[ClientState, str | None], None] | None
        ) -> SmppClient:
            return SmppClient(
                settings.host,
                settings.port,
                settings.system_id,
                settings.password,
                system_type=settings.system_type,
                bind=bind,
                window=settings.window,
                max_per_second=settings.max_per_second,
                enquire_link_interval=opts.enquire_link_seconds,
                response_timeout=opts.response_timeout,
                connect_timeout=opts.response_timeout,
                submit_timeout=opts.submit_timeout,
                tls=tls,
                reconnect_delay=opts.reconnect_delay,
                reconnect_max_delay=opts.reconnect_max_seconds,
                on_deliver=self._on_deliver,
                on_state_change=on_state,
            )

        if settings.bind_type == "tx+rx":
            self.tx: SmppClient | None = client("transmitter", self._tx_state)
            self.rx: SmppClient | None = client("receiver", None)
        elif settings.bind_type == "receiver":
            self.tx, self.rx = None, client("receiver", None)
        else:
            self.tx = client(settings.bind_type, self._tx_state)
            self.rx = None

    @property
    def clients(self) -> list[SmppClient]:
        return [c for c in (self.tx, self.rx) if c is not None]

    async def start(self) -> None:
        for c in self.clients:
            await c.start()

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

    def _tx_state(self, state: ClientState, error: str | None) -> None:
        loop = asyncio.get_running_loop()
        if state is ClientState.BOUND:
            self.unbound_since = None
        elif self.unbound_since is None:
            self.unbound_since = loop.time()

    # -- live state ---------------------------------------------------------------------

    def report(self, now: float) -> tuple[str, str | None, dict[str, Any]]:
        clients = self.clients
        states = {c.state for c in clients}
        if states == {ClientState.BOUND}:
            state = "bound"
        elif ClientState.CONNECTING in states:
            state = "connecting"
        else:
            state = "down"
        error = next((c.last_error for c in clients if c.last_error), None)
        keys = (
            "submitted", "responses_ok", "errors", "throttled", "retries", "timeouts",
            "binds", "bind_failures", "disconnects", "delivers_received", "delivers_failed",
        )  # fmt: skip
        stats: dict[str, Any] = {k: sum(getattr(c.stats, k) for c in clients) for k in keys}
        stats["accepted"] = stats.pop("responses_ok")
        stats["peak_outstanding"] = max(c.stats.peak_outstanding for c in clients)
        stats["outstanding"] = sum(c.outstanding for c in clients)
        meter = self._meter
        if now - meter.at >= 0.5:
            meter.rate = (stats["accepted"] - meter.accepted) / (now - meter.at)
            meter.accepted, meter.at = stats["accepted"], now
        stats["submit_per_second"] = round(meter.rate, 1)
        stats["receipts"], stats["mo_parts"] = self.receipts, self.mo_parts
        self._throughput.record(now, stats["accepted"], stats["errors"])
        stats.update(self._throughput.summary(now))
        if (state, error) != self._shown:
            at = utcnow().isoformat(timespec="seconds")
            if (state == "bound") != (self._shown[0] == "bound"):  # bound, or not since when
                self._state_since = at
            if error != self._shown[1]:
                self._error_at = at
            self._shown = (state, error)
        stats["state_since"] = self._state_since
        stats["error_at"] = self._error_at if error else None
        return state, error, stats

    def capacity(self) -> int:
        """In-flight messages worth claiming for this connector: enough to keep the window
        full while earlier results wait for their commit (claim, submit and record form a
        pipeline; with 6 windows the bind idled between passes: 2,050 msg/s end to end on
        PostgreSQL, 2,660 with 40), but no more than ~10 s of its rate limit."""
        cap = self.settings.window * 40
        if self.settings.max_per_second:
            cap = min(cap, max(1, int(self.settings.max_per_second * 10)))
        return cap

    # -- submitting ---------------------------------------------------------------------

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) & 0xFFFF
        return self._reference & (0xFF if self.settings.concat == "udh8" else 0xFFFF)

    async def submit(self, job: SubmitJob) -> Attempt:
        attempt = Attempt(self.name, utcnow())
        tx = self.tx
        if tx is None:
            attempt.error = "receiver-only connector"
            return attempt
        loop = asyncio.get_running_loop()
        try:
            if tx.state is not ClientState.BOUND:
                since = self.unbound_since if self.unbound_since is not None else loop.time()
                grace = self.manager.options.bind_grace_seconds - (loop.time() - since)
                if grace <= 0:
                    raise NotBound(f"connector {self.name} is not bound: {tx.last_error}")
                await tx.wait_bound(grace)
            cfg = self.settings
            ton, npi, source = source_address(job.sender, cfg.source_ton, cfg.source_npi)
            template = SubmitSm(
                source_addr_ton=ton,
                source_addr_npi=npi,
                source_addr=source,
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=destination_digits(job.recipient),
                registered_delivery=1,
                validity_period=smpp_time(job.expires_at),
            )
            parts = build_parts(
                template,
                job.text,
                concat=cfg.concat,
                reference=self._next_reference(),
                packed=cfg.packed,
            )
        except SmppClientError as exc:
            return self._failed(attempt, None, str(exc), transient=True)
        except (ValueError, PduError) as exc:
            return self._failed(attempt, None, f"cannot build the message: {exc}", False)
        results: list[SubmitSmResp | BaseException]
        if len(parts) == 1:  # most messages: no gather (it costs a task per part)
            try:
                results = [await tx.submit(parts[0])]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                results = [exc]
        else:
            results = await asyncio.gather(*(tx.submit(p) for p in parts), return_exceptions=True)
        ids: list[str] = []
        failure: tuple[int | None, str, bool] | None = None
        for number, res in enumerate(results, start=1):
            if isinstance(res, SubmitSmResp) and res.command_status == CommandStatus.ESME_ROK:
                ids.append(res.message_id)
                continue
            this: tuple[int | None, str, bool]
            if isinstance(res, SubmitSmResp):
                status = res.command_status
                this = (status, f"part {number}: {status_name(status)}", classify_status(status))
            elif isinstance(res, LocalProtocolError):
                this = (None, f"part {number}: cannot encode: {res}", False)
            elif isinstance(res, SmppClientError | PduError):
                this = (None, f"part {number}: {type(res).__name__}: {res}", True)
            elif isinstance(res, BaseException):
                if isinstance(res, asyncio.CancelledError):
                    raise res
                this = (None, f"part {number}: {type(res).__name__}: {res}", True)
            else:  # pragma: no cover - gather returns responses or exceptions
                continue
            if failure is None or (failure[2] and not this[2]):
                failure = this  # a permanent error outranks a transient one
        attempt.carrier_ids = ids
        if failure is None:
            attempt.status = CommandStatus.ESME_ROK
            return attempt
        return self._failed(attempt, failure[0], failure[1], failure[2])

    @staticmethod
    def _failed(attempt: Attempt, status: int | None, error: str, transient: bool) -> Attempt:
        attempt.status, attempt.error, attempt.transient = status, error, transient
        return attempt

    # -- receiving ----------------------------------------------------------------------

    async def _on_deliver(self, pdu: DeliverSm | DataSm) -> int | None:
        cfg = self.settings
        tlv_id = pdu.tlv_str(Tag.RECEIPTED_MESSAGE_ID)
        item: receipts.ReceiptIn | mo_parts.MoIn
        if pdu.is_receipt or tlv_id:
            report = report_from_pdu(pdu)
            if tlv_id:
                raw, key = tlv_id, normalize_message_id(tlv_id, cfg.id_format)
            elif report.text_id:
                raw = report.text_id
                key = normalize_message_id(raw, cfg.receipt_id_format)
            else:
                log.warning("receipt without a message id on %s: %r", self.name, pdu.payload[:80])
                return None
            item = receipts.ReceiptIn(
                connector=self.name,
                carrier_id=key[:72],
                raw_id=raw[:72],
                outcome=report.outcome,
                stat=report.stat,
                err=report.err,
                done_date=report.receipt.done_date if report.receipt else None,
                network_error=report.network_error,
            )
        else:
            try:
                ud = user_data_from_pdu(
                    pdu,
                    packed=cfg.packed,
                    default_alphabet=cfg.default_alphabet,
                )
            except MessageDecodeError as exc:
                log.warning("undecodable MO on %s from %s: %s", self.name, pdu.source_addr, exc)
                return int(CommandStatus.ESME_RX_P_APPN)
            item = mo_parts.MoIn(self.name, pdu.source_addr, pdu.destination_addr, ud)
        await self.manager.store(item)
        if isinstance(item, receipts.ReceiptIn):
            self.receipts += 1
        else:
            self.mo_parts += 1
        return None
