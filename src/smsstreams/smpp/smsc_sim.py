"""An SMSC simulator: an SMPP server for development, tests and benchmarks.

As a library (tests)::

    async with SmscSimulator(SimConfig(credentials={"user": "secret"})) as sim:
        client = SmppClient("127.0.0.1", sim.port, "user", "secret")
        ...
        assert sim.peak_outstanding <= 10

From the shell::

    python -m smsstreams.smpp.smsc_sim --port 2775 --system-id user --password secret \\
        --receipt-delay 1 --outcomes DELIVRD=0.9,UNDELIV=0.1

It accepts binds (any credentials, or the configured ones), answers submit_sm / data_sm with
hex message ids, sends delivery receipts (deliver_sm with esm_class 0x04, the
receipted_message_id and message_state TLVs and the standard text) after ``receipt_delay``
with outcomes drawn from ``outcomes``, and can inject MO messages, multipart ones in any part
order.  Like a real SMSC it re-sends a deliver_sm that was refused or left unanswered when
the connection dropped (after ``redeliver_delay``).

Fault switches (:class:`SimConfig`): ``reject_binds``, ``throttle_every`` /
``queue_full_every`` (every Nth submit answered ESME_RTHROTTLED / ESME_RMSGQFUL),
``drop_after`` (abort the connection when the Nth PDU arrives, unanswered; enquire_link not
counted; ``drop_times`` connections), ``response_delay``, ``receipt_before_resp``,
``inactivity_timeout`` (drop a connection that sends nothing for that long).

Every connection counts its peak of outstanding submits (received, not yet answered), and
everything received is recorded in :attr:`SmscSimulator.received` unless ``record=False``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from smsstreams.smpp.concat import Concat, build_parts
from smsstreams.smpp.pdu import (
    ESM_TYPE_DELIVERY_RECEIPT,
    REGISTERED_DELIVERY_FAILURE,
    Bind,
    BindTransmitter,
    CommandStatus,
    DataSm,
    DeliverSm,
    NetworkErrorCode,
    Pdu,
    SubmitSm,
    Tag,
    Tlv,
    Unbind,
)
from smsstreams.smpp.receipts import STATE_FOR_STAT, format_receipt, outcome_for_stat
from smsstreams.smpp.session import (
    BindRequested,
    EnquireLinkReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    State,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SimConfig:
    """Behaviour of the simulator; see the module docstring."""

    system_id: str = "smsc-sim"
    #: system_id -> password; None accepts any credentials.
    credentials: dict[str, str] | None = None
    #: When non-zero, every bind is refused with this status.
    reject_binds: int = 0
    receipts: bool = True
    receipt_delay: float = 0.0
    #: (stat, weight) pairs, e.g. (("DELIVRD", 0.9), ("UNDELIV", 0.1)).
    outcomes: tuple[tuple[str, float], ...] = (("DELIVRD", 1.0),)
    #: How the id is written in the receipt text (the TLV always carries the hex id).
    receipt_id_format: Literal["hex", "decimal"] = "hex"
    throttle_every: int = 0
    queue_full_every: int = 0
    drop_after: int = 0
    drop_times: int = 1
    response_delay: float = 0.0
    receipt_before_resp: bool = False
    inactivity_timeout: float | None = None
    redeliver_delay: float = 1.0
    record: bool = True
    seed: int | None = None
    first_message_id: int = 0xA0000000


@dataclass(frozen=True, slots=True)
class Received:
    """One PDU received by the simulator."""

    at: float  # loop time
    connection: int
    pdu: Pdu


@dataclass(slots=True)
class SimStats:
    connections: int = 0
    binds: int = 0
    bind_rejects: int = 0
    submits: int = 0
    throttled: int = 0
    receipts_sent: int = 0
    mo_sent: int = 0
    deliver_resps: int = 0
    deliver_refused: int = 0
    drops: int = 0


@dataclass(slots=True)
class _Delivery:
    system_id: str
    pdu: DeliverSm
    attempts: int = 0


class SimConnection(asyncio.Protocol):
    """One ESME connection to the simulator."""

    def __init__(self, sim: SmscSimulator, number: int) -> None:
        self.sim = sim
        self.number = number
        self.session = Session(Role.SMSC)
        self.transport: asyncio.Transport | None = None
        self.system_id: str | None = None
        self.pdus_received = 0
        self.outstanding = 0  # submits received and not yet answered
        self.peak_outstanding = 0
        self.unacked: dict[int, _Delivery] = {}
        self.closed = False
        self._last_rx = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._flush_pending = False

    @property
    def can_receive(self) -> bool:
        return self.session.state in (State.BOUND_RX, State.BOUND_TRX) and not self.closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transports are not asyncio.Transport subclasses: no isinstance
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._last_rx = self.sim.loop.time()
        if self.sim.config.inactivity_timeout:
            self._idle_timer = self.sim.loop.call_later(
                self.sim.config.inactivity_timeout, self._check_idle
            )

    def _check_idle(self) -> None:
        timeout = self.sim.config.inactivity_timeout
        assert timeout is not None
        idle = self.sim.loop.time() - self._last_rx
        if idle >= timeout:
            log.info("sim: connection %d idle for %.2fs, dropping", self.number, idle)
            self.abort()
        else:
            self._idle_timer = self.sim.loop.call_later(timeout - idle, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self._last_rx = self.sim.loop.time()
        self.sim.changed.set()
        for event in self.session.receive_data(data):
            if self.closed:
                return
            self.sim._on_event(self, event)
        self.flush()
        if self.session.state is State.CLOSED and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.sim.changed.set()
        self.session.connection_lost()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for delivery in self.unacked.values():
            self.sim._queue_delivery(delivery, self.sim.config.redeliver_delay)
        self.unacked.clear()

    def send(self, pdu: Pdu) -> None:
        if self.closed or self.session.state is State.CLOSED:
            return
        self.session.send(pdu)

    def flush(self) -> None:
        self._flush_pending = False
        data = self.session.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def schedule_flush(self) -> None:
        """Flush once the current batch of work is done (one write for many PDUs)."""
        if not self._flush_pending:
            self._flush_pending = True
            self.sim.loop.call_soon(self.flush)

    def deliver(self, delivery: _Delivery) -> None:
        delivery.attempts += 1
        self.session.send(delivery.pdu)
        self.unacked[delivery.pdu.sequence_number] = delivery
        self.schedule_flush()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class SmscSimulator:
    """The simulator server.  ``await start()`` (or ``async with``), then use :attr:`port`."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.stats = SimStats()
        self.connections: list[SimConnection] = []
        self.received: list[Received] = []
        #: message_id -> the submit_sm that got it (kept when ``record``)
        self.messages: dict[str, SubmitSm | DataSm] = {}
        self._rng = random.Random(self.config.seed)
        self._next_id = self.config.first_message_id
        self._server: asyncio.Server | None = None
        self._pending: deque[_Delivery] = deque()
        self._drops_done = 0
        self._stamp = (0, "")
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Set whenever a PDU arrives or a connection opens or closes (see wait_until).
        self.changed = asyncio.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "simulator not started"
        return self._loop

    @property
    def peak_outstanding(self) -> int:
        """The highest number of unanswered submits seen on any one connection."""
        return max((c.peak_outstanding for c in self.connections), default=0)

    def received_of(self, kind: type[Pdu]) -> list[Received]:
        return [r for r in self.received if isinstance(r.pdu, kind)]

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
    ) -> int:
        """Listen (port 0: an ephemeral port); returns the port."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(self._new_connection, host, port, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in self.connections:
                conn.abort()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> SmscSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def unbind_all(self) -> int:
        """Send unbind on every bound connection (an SMSC going for maintenance)."""
        count = 0
        for conn in self.connections:
            if conn.session.bound and not conn.closed:
                conn.send(Unbind())
                conn.flush()
                count += 1
        return count

    def _new_connection(self) -> SimConnection:
        conn = SimConnection(self, len(self.connections))
        self.connections.append(conn)
        self.stats.connections += 1
        return conn

    # ------------------------------------------------------------------------------ events

    def _on_event(self, conn: SimConnection, event: Event) -> None:
        cfg = self.config
        pdu = getattr(event, "pdu", None)
        if isinstance(pdu, Pdu):
            if cfg.record:
                self.received.append(Received(self.loop.time(), conn.number, pdu))
            if not isinstance(event, EnquireLinkReceived):
                conn.pdus_received += 1
                if (
                    cfg.drop_after
                    and conn.pdus_received >= cfg.drop_after
                    and self._drops_done < cfg.drop_times
                ):
                    self._drops_done += 1
                    self.stats.drops += 1
                    log.info(
                        "sim: dropping connection %d after %d PDUs", conn.number, cfg.drop_after
                    )
                    conn.abort()
                    return
        if isinstance(event, BindRequested):
            self._on_bind(conn, event.pdu)
        elif isinstance(event, RequestReceived):
            if isinstance(event.pdu, SubmitSm | DataSm):
                self._on_submit(conn, event.pdu)
            else:
                conn.send(event.pdu.response(CommandStatus.ESME_RINVCMDID))
        elif isinstance(event, ResponseReceived) and isinstance(event.request, DeliverSm):
            delivery = conn.unacked.pop(event.request.sequence_number, None)
            self.stats.deliver_resps += 1
            if delivery is not None and event.pdu.command_status != CommandStatus.ESME_ROK:
                self.stats.deliver_refused += 1
                self._queue_delivery(delivery, cfg.redeliver_delay)

    def _on_bind(self, conn: SimConnection, bind: Bind) -> None:
        cfg = self.config
        status: int = CommandStatus.ESME_ROK
        if cfg.reject_binds:
            status = cfg.reject_binds
        elif cfg.credentials is not None:
            expected = cfg.credentials.get(bind.system_id)
            if expected is None:
                status = CommandStatus.ESME_RINVSYSID
            elif expected != bind.password:
                status = CommandStatus.ESME_RINVPASWD
        if status != CommandStatus.ESME_ROK:
            self.stats.bind_rejects += 1
            conn.send(bind.response(status))
            return
        self.stats.binds += 1
        conn.system_id = bind.system_id
        conn.send(bind.response(system_id=cfg.system_id))
        if not isinstance(bind, BindTransmitter):
            self.loop.call_soon(self._drain_pending)

    def _on_submit(self, conn: SimConnection, pdu: SubmitSm | DataSm) -> None:
        cfg = self.config
        self.stats.submits += 1
        n = self.stats.submits
        conn.outstanding += 1
        conn.peak_outstanding = max(conn.peak_outstanding, conn.outstanding)
        status: int = CommandStatus.ESME_ROK
        if cfg.throttle_every and n % cfg.throttle_every == 0:
            status = CommandStatus.ESME_RTHROTTLED
        elif cfg.queue_full_every and n % cfg.queue_full_every == 0:
            status = CommandStatus.ESME_RMSGQFUL
        if status != CommandStatus.ESME_ROK:
            self.stats.throttled += 1
            self._respond(conn, pdu.response(status))
            return
        message_id = f"{self._next_id:x}"
        self._next_id += 1
        if cfg.record:
            self.messages[message_id] = pdu
        resp = pdu.response(message_id=message_id)
        wants_receipt = cfg.receipts and pdu.registered_delivery & 0x03
        if wants_receipt and conn.system_id is not None:
            stat = self._pick_outcome()
            final_ok = outcome_for_stat(stat) == "delivered"
            if not (pdu.registered_delivery & 0x03 == REGISTERED_DELIVERY_FAILURE and final_ok):
                receipt = self._receipt(pdu, message_id, stat)
                if cfg.receipt_before_resp:
                    self._queue_delivery(_Delivery(conn.system_id, receipt), 0.0, prefer=conn)
                    self._respond(conn, resp)
                    return
                self._respond(conn, resp)
                delay = cfg.response_delay + cfg.receipt_delay  # the receipt follows the resp
                self._queue_delivery(_Delivery(conn.system_id, receipt), delay, prefer=conn)
                return
        self._respond(conn, resp)

    def _respond(self, conn: SimConnection, resp: Pdu) -> None:
        delay = self.config.response_delay

        def send() -> None:
            conn.outstanding -= 1
            conn.send(resp)
            conn.schedule_flush()

        if delay > 0:
            self.loop.call_later(delay, send)
        else:
            conn.outstanding -= 1
            conn.send(resp)

    def _pick_outcome(self) -> str:
        outcomes = self.config.outcomes
        if len(outcomes) == 1:
            return outcomes[0][0]
        stats, weights = zip(*outcomes, strict=True)
        return self._rng.choices(stats, weights)[0]

    def _receipt(self, submit: SubmitSm | DataSm, message_id: str, stat: str) -> DeliverSm:
        text_id = message_id
        if self.config.receipt_id_format == "decimal":
            text_id = str(int(message_id, 16))
        delivered = outcome_for_stat(stat) == "delivered"
        now = int(time.time())
        if now != self._stamp[0]:
            self._stamp = (now, time.strftime("%y%m%d%H%M", time.gmtime(now)))
        text = format_receipt(
            text_id,
            stat,
            err="000" if delivered else "001",
            submit_date=self._stamp[1],
            done_date=self._stamp[1],
            text=submit.short_message[:20].decode("latin-1")
            if isinstance(submit, SubmitSm)
            else "",
        )
        tlvs = [
            Tlv(Tag.RECEIPTED_MESSAGE_ID, message_id),
            Tlv(Tag.MESSAGE_STATE, STATE_FOR_STAT.get(stat, 7)),
        ]
        if not delivered:
            tlvs.append(Tlv(Tag.NETWORK_ERROR_CODE, NetworkErrorCode(3, 1)))
        return DeliverSm(
            source_addr_ton=submit.dest_addr_ton,
            source_addr_npi=submit.dest_addr_npi,
            source_addr=submit.destination_addr[:20],
            dest_addr_ton=submit.source_addr_ton,
            dest_addr_npi=submit.source_addr_npi,
            destination_addr=submit.source_addr[:20],
            esm_class=ESM_TYPE_DELIVERY_RECEIPT,
            short_message=text.encode("latin-1"),
            tlvs=tuple(tlvs),
        )

    # -------------------------------------------------------------------------- deliveries

    def _queue_delivery(
        self, delivery: _Delivery, delay: float, prefer: SimConnection | None = None
    ) -> None:
        if delay <= 0:
            self._deliver_now(delivery, prefer)
        else:
            self.loop.call_later(delay, self._deliver_now, delivery, prefer)

    def _deliver_now(self, delivery: _Delivery, prefer: SimConnection | None = None) -> None:
        if self._server is None:
            return
        conn = prefer if prefer is not None and prefer.can_receive else None
        if conn is None:
            conn = next(
                (
                    c
                    for c in self.connections
                    if c.can_receive and c.system_id == delivery.system_id
                ),
                None,
            )
        if conn is None:
            self._pending.append(delivery)
            return
        if delivery.pdu.is_receipt:
            self.stats.receipts_sent += 1
        conn.deliver(delivery)

    def _drain_pending(self) -> None:
        pending, self._pending = self._pending, deque()
        for delivery in pending:
            self._deliver_now(delivery)

    async def inject_mo(
        self,
        text: str,
        *,
        source: str = "491701234567",
        destination: str = "12345",
        concat: Concat = "udh8",
        reference: int = 1,
        order: Sequence[int] | None = None,
        system_id: str | None = None,
        packed: bool = False,
    ) -> list[DeliverSm]:
        """Send ``text`` as MO deliver_sm(s) to a bound receiver; ``order`` lists the part
        indices (0-based) in sending order.  Returns the PDUs in the order sent."""
        template = DeliverSm(
            source_addr_ton=1, source_addr_npi=1, source_addr=source, destination_addr=destination
        )
        parts = build_parts(template, text, concat=concat, reference=reference, packed=packed)
        if order is not None:
            if sorted(order) != list(range(len(parts))):
                raise ValueError(f"order must be a permutation of 0..{len(parts) - 1}")
            parts = [parts[i] for i in order]
        target = system_id or next(
            (c.system_id for c in self.connections if c.can_receive and c.system_id), None
        )
        if target is None:
            raise RuntimeError("no bound receiver to deliver to")
        for pdu in parts:
            self.stats.mo_sent += 1
            self._deliver_now(_Delivery(target, pdu))
        return parts

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``predicate()`` holds, re-checking whenever the simulator received
        something or a connection changed (TimeoutError after ``within`` seconds)."""
        async with asyncio.timeout(within):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


# --------------------------------------------------------------------------------------- CLI


def _parse_outcomes(text: str) -> tuple[tuple[str, float], ...]:
    out = []
    for item in text.split(","):
        stat, _, weight = item.partition("=")
        out.append((stat.strip().upper(), float(weight) if weight else 1.0))
    return tuple(out)


def build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m smsstreams.smpp.smsc_sim", description="SMPP 3.4 SMSC simulator"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2775)
    p.add_argument("--system-id", help="accepted system_id (default: accept any credentials)")
    p.add_argument("--password", default="", help="password for --system-id")
    p.add_argument("--receipt-delay", type=float, default=0.0, metavar="SECONDS")
    p.add_argument(
        "--outcomes",
        type=_parse_outcomes,
        default=(("DELIVRD", 1.0),),
        help="receipt stats with weights, e.g. DELIVRD=0.9,UNDELIV=0.1",
    )
    p.add_argument("--receipt-id-format", choices=("hex", "decimal"), default="hex")
    p.add_argument("--no-receipts", action="store_true")
    p.add_argument("--reject-binds", type=lambda s: int(s, 0), default=0, metavar="STATUS")
    p.add_argument("--throttle-every", type=int, default=0, metavar="N")
    p.add_argument("--queue-full-every", type=int, default=0, metavar="N")
    p.add_argument("--drop-after", type=int, default=0, metavar="N")
    p.add_argument("--drop-times", type=int, default=1, metavar="N")
    p.add_argument("--response-delay", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--receipt-before-resp", action="store_true")
    p.add_argument("--inactivity-timeout", type=float, default=None, metavar="SECONDS")
    p.add_argument("--mo-text", help="inject this MO text every --mo-interval seconds")
    p.add_argument("--mo-interval", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--stats-interval", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--seed", type=int, default=None)
    return p


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        credentials={args.system_id: args.password} if args.system_id else None,
        reject_binds=args.reject_binds,
        receipts=not args.no_receipts,
        receipt_delay=args.receipt_delay,
        outcomes=args.outcomes,
        receipt_id_format=args.receipt_id_format,
        throttle_every=args.throttle_every,
        queue_full_every=args.queue_full_every,
        drop_after=args.drop_after,
        drop_times=args.drop_times,
        response_delay=args.response_delay,
        receipt_before_resp=args.receipt_before_resp,
        inactivity_timeout=args.inactivity_timeout,
        record=False,
        seed=args.seed,
    )


async def serve(args: argparse.Namespace) -> None:
    sim = SmscSimulator(config_from_args(args))
    port = await sim.start(args.host, args.port)
    print(f"SMSC simulator listening on {args.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    async def ticker() -> None:
        next_mo = loop.time() + args.mo_interval
        next_stats = loop.time() + args.stats_interval
        while True:
            now = loop.time()
            if args.mo_text and now >= next_mo:
                next_mo = now + args.mo_interval
                with contextlib.suppress(RuntimeError):  # nobody bound to receive it
                    await sim.inject_mo(args.mo_text)
            if now >= next_stats:
                next_stats = now + args.stats_interval
                print(f"stats: {sim.stats}", flush=True)
            wake = min(next_stats, next_mo if args.mo_text else next_stats)
            await asyncio.sleep(max(0.0, wake - loop.time()))

    task = asyncio.create_task(ticker())
    await stop.wait()
    task.cancel()
    await sim.stop()


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_arg_parser().parse_args(argv)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
