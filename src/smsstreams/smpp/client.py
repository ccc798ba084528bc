"""asyncio SMPP client (ESME): the transport, timers, window and pacing around a Session.

:class:`SmppClient` keeps one bind up: it connects (TCP_NODELAY, optional TLS), binds,
answers the SMSC, sends ``enquire_link`` when the link is idle and drops a peer that stops
answering, and reconnects with exponential backoff and jitter after any loss.

Sending (:meth:`SmppClient.submit`, :meth:`SmppClient.data_sm`):

* at most ``window`` requests are outstanding; callers beyond that wait for a slot;
* ``max_per_second`` paces sends with a token bucket;
* each response must arrive within ``response_timeout`` or the call raises
  :class:`ResponseTimeout` (one reaper per connection checks every tenth of the timeout, so
  the error comes between 1.0 and 1.1 times ``response_timeout``);
* ``ESME_RTHROTTLED`` and ``ESME_RMSGQFUL`` pause *all* sending for a back-off that doubles
  on each consecutive throttle (``throttle_delay`` .. ``throttle_max_delay``) and the request
  is retried, at most ``throttle_retries`` times; after that the throttled response is
  returned like any other error status;
* any other status is returned to the caller as is (a ``generic_nack`` is turned into a
  response of the request's type with the nack's status).

What a caller learns when things go wrong -- and whether the carrier may have the message:

* :class:`NotBound`: no bind within the deadline; the request was never sent.
* :class:`ConnectionLost`: the connection dropped after the request was written and before
  its response arrived.  The SMSC may or may not have accepted it; the client never resends
  such a request by itself (that would risk a duplicate).  Retrying is the caller's decision.
* :class:`ResponseTimeout`: likewise unknown; the slot is freed and a late response is
  ignored.
* :class:`ClientClosed`: :meth:`SmppClient.close` was called; not sent.

Requests waiting for a slot or a bind when the connection drops just wait for the next bind.

Receiving: each deliver_sm / data_sm is passed to ``on_deliver``; its response is sent only
after that coroutine has returned, with the status it returns (None means ESME_ROK).  If it
raises, or there is no handler, the answer is ``ESME_RX_T_APPN`` so the SMSC keeps the message
and retries later -- nothing is acknowledged before the application has stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal, cast

from smsstreams.smpp.pdu import (
    DEFAULT_MAX_LENGTH,
    Bind,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    EnquireLink,
    GenericNack,
    LocalProtocolError,
    Pdu,
    PduError,
    RemoteProtocolError,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    response_class,
    status_name,
)
from smsstreams.smpp.session import (
    BindFailed,
    BindOk,
    Event,
    NotificationReceived,
    ProtocolError,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    State,
    Unbound,
    UnexpectedResponse,
)

log = logging.getLogger(__name__)

BindMode = Literal["transceiver", "transmitter", "receiver"]
DeliverHandler = Callable[[DeliverSm | DataSm], Awaitable[int | None]]
StateListener = Callable[["ClientState", str | None], None]

#: Statuses that mean "slow down and try again".
RETRY_STATUSES: Final = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})

_BIND_CLASSES: Final[dict[str, type[Bind]]] = {
    "transceiver": BindTransceiver,
    "transmitter": BindTransmitter,
    "receiver": BindReceiver,
}


class ClientState(StrEnum):
    DOWN = "down"
    CONNECTING = "connecting"
    BOUND = "bound"


class SmppClientError(Exception):
    """Base of the client's errors: the request did not get an SMPP response."""


class NotBound(SmppClientError):
    """No bind was available before the deadline; the request was not sent."""


class BindRefused(SmppClientError):
    """The SMSC answered our bind with an error status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused: {status_name(status)}")
        self.status = status


class ConnectionLost(SmppClientError):
    """The connection dropped after the request was sent; the SMSC may have it."""


class ResponseTimeout(SmppClientError):
    """No response within response_timeout; the SMSC may have the request."""


class ClientClosed(SmppClientError):
    """The client was closed before the request could be sent."""


@dataclass(slots=True)
class ClientStats:
    """Counters since the client was created."""

    submitted: int = 0  # requests written (retries included)
    responses_ok: int = 0
    errors: int = 0  # error statuses, timeouts, lost connections
    throttled: int = 0  # ESME_RTHROTTLED / ESME_RMSGQFUL responses
    retries: int = 0
    timeouts: int = 0
    peak_outstanding: int = 0
    binds: int = 0
    bind_failures: int = 0
    disconnects: int = 0
    delivers_received: int = 0
    delivers_failed: int = 0  # handler raised or missing: answered ESME_RX_T_APPN
    enquire_links_sent: int = 0


class TokenBucket:
    """Pure token bucket: ``rate`` tokens per second, up to ``burst`` stored."""

    def __init__(self, rate: float, burst: float | None = None, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.burst
        self._stamp = now

    def take(self, now: float) -> float:
        """Take a token and return 0, or return how long to wait (taking nothing)."""
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


def backoff_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Reconnect delay: ``min(cap, base * 2**attempt)`` scaled by a jitter factor in [0.5, 1)."""
    return min(cap, base * (2 ** min(attempt, 30))) * (0.5 + rand() / 2)


class _Connection(asyncio.Protocol):
    """One TCP connection and its Session."""

    def __init__(self, client: SmppClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop
        self.session = Session(Role.ESME, window=client.window, max_length=client.max_pdu_length)
        self.transport: asyncio.Transport | None = None
        self.waiters: dict[int, asyncio.Future[Pdu]] = {}
        # (deadline, sequence) in send order; all requests share one timeout, so the
        # deadlines are ordered and the reaper only looks at the head.
        self.deadlines: deque[tuple[float, int]] = deque()
        self.tasks: set[asyncio.Task[None]] = set()  # on_deliver calls for this connection
        self.bind_result: asyncio.Future[BindOk | BindFailed] = loop.create_future()
        self.unbound: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.last_rx = self.last_tx = loop.time()
        self._flush_pending = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transports are not asyncio.Transport subclasses: no isinstance
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.last_rx = self.loop.time()
        events = self.session.receive_data(data)
        for event in events:
            self.client._on_event(self, event)
        self.flush()
        if self.session.state is State.CLOSED and self.transport is not None:
            self.transport.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.session.connection_lost()
        error = ConnectionLost(f"connection lost: {exc}" if exc else "connection closed")
        for fut in self.waiters.values():
            if not fut.done():
                fut.set_exception(error)
        self.waiters.clear()
        for pending in (self.bind_result, self.unbound):
            if not pending.done():
                pending.set_exception(error)
                pending.exception()  # mark retrieved: nobody may be waiting any more
        if not self.closed.done():
            self.closed.set_result(None)

    # used by the client
    @property
    def alive(self) -> bool:
        return not self.closed.done()

    def request(self, pdu: Pdu) -> asyncio.Future[Pdu]:
        """Send a request; the future gets its response, or ResponseTimeout / ConnectionLost."""
        seq = self.session.send(pdu)
        fut: asyncio.Future[Pdu] = self.loop.create_future()
        self.waiters[seq] = fut
        self.deadlines.append((self.loop.time() + self.client.response_timeout, seq))
        self._schedule_flush()
        return fut

    def expire(self, now: float) -> None:
        """Fail the requests whose response is overdue (called by the reaper)."""
        deadlines = self.deadlines
        while deadlines and deadlines[0][0] <= now:
            _, seq = deadlines.popleft()
            fut = self.waiters.pop(seq, None)
            if fut is None:
                continue  # answered in time
            self.session.abandon(seq)
            if not fut.done():
                fut.set_exception(
                    ResponseTimeout(f"no response to #{seq} within {self.client.response_timeout}s")
                )

    def respond(self, pdu: Pdu) -> None:
        if self.alive and self.session.state is not State.CLOSED:
            self.session.send(pdu)
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_pending = False
        data = self.session.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            self.last_tx = self.loop.time()

    def close(self) -> None:
        self.flush()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class SmppClient:
    """An ESME bind that stays up.  Use ``async with SmppClient(...) as client`` or
    :meth:`start` / :meth:`close`.  See the module docstring for the sending rules."""

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        system_type: str = "",
        bind: BindMode = "transceiver",
        addr_ton: int = 0,
        addr_npi: int = 0,
        address_range: str = "",
        window: int = 10,
        max_per_second: float | None = None,
        enquire_link_interval: float = 30.0,
        response_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        submit_timeout: float | None = 60.0,
        tls: ssl.SSLContext | None = None,
        reconnect_delay: float = 0.5,
        reconnect_max_delay: float = 30.0,
        throttle_delay: float = 0.1,
        throttle_max_delay: float = 5.0,
        throttle_retries: int = 5,
        on_deliver: DeliverHandler | None = None,
        on_state_change: StateListener | None = None,
        max_pdu_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        if bind not in _BIND_CLASSES:
            raise ValueError(f"bind must be one of {sorted(_BIND_CLASSES)}")
        if window < 1:
            raise ValueError("window must be at least 1")
        self.host = host
        self.port = port
        self.system_id = system_id
        self.password = password
        self.system_type = system_type
        self.bind_mode: BindMode = bind
        self.addr_ton = addr_ton
        self.addr_npi = addr_npi
        self.address_range = address_range
        self.window = window
        self.max_per_second = max_per_second
        self.enquire_link_interval = enquire_link_interval
        self.response_timeout = response_timeout
        self.connect_timeout = connect_timeout
        self.submit_timeout = submit_timeout
        self.tls = tls
        self.reconnect_delay = reconnect_delay
        self.reconnect_max_delay = reconnect_max_delay
        self.throttle_delay = throttle_delay
        self.throttle_max_delay = throttle_max_delay
        self.throttle_retries = throttle_retries
        self.on_deliver = on_deliver
        self.on_state_change = on_state_change
        self.max_pdu_length = max_pdu_length

        self.stats = ClientStats()
        self.last_error: str | None = None
        #: The status of the last refused bind (None after a successful bind).
        self.last_bind_status: int | None = None
        self._state = ClientState.DOWN
        self._conn: _Connection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._bound = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()
        self._slots = asyncio.Semaphore(window)
        self._in_flight = 0
        self._bucket: TokenBucket | None = None
        self._pause_until = 0.0
        self._throttle_level = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def outstanding(self) -> int:
        """Requests sent and not yet answered."""
        return self._in_flight

    async def start(self) -> None:
        """Start connecting in the background (returns at once; see :meth:`wait_bound`)."""
        if self._runner is not None:
            raise RuntimeError("client already started")
        loop = asyncio.get_running_loop()
        if self.max_per_second:
            self._bucket = TokenBucket(self.max_per_second, now=loop.time())
        self._runner = asyncio.create_task(self._run(), name=f"smpp-client-{self.system_id}")

    async def wait_bound(self, wait_timeout: float | None = None) -> None:
        """Wait until bound; raises :class:`NotBound` (with the last error) on timeout."""
        try:
            async with asyncio.timeout(wait_timeout):
                await self._wait_bound_or_closed()
        except TimeoutError:
            raise NotBound(f"not bound after {wait_timeout}s: {self.last_error}") from None

    async def close(self, grace: float = 5.0) -> None:
        """Stop: no new requests; let the responses we wait for and the on_deliver calls of
        this connection finish (at most ``grace / 2``), unbind (waiting for unbind_resp at
        most ``response_timeout``), close.  Handlers still running after that are cancelled
        (their deliver_sm was not acknowledged, so the SMSC will send it again)."""
        if self._closing:
            return
        self._closing = True
        self._closed.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        conn = self._conn
        if conn is not None and conn.alive:
            pending: list[asyncio.Future[Any]] = [
                fut
                for seq, fut in conn.waiters.items()
                if not isinstance(conn.session.request_for(seq), EnquireLink)
            ]
            pending += conn.tasks
            if pending:
                await asyncio.wait(pending, timeout=max(0.0, (deadline - loop.time()) / 2))
            if conn.session.bound:
                try:
                    conn.session.send(Unbind())
                    conn.flush()
                    wait = min(self.response_timeout, max(0.0, deadline - loop.time()))
                    async with asyncio.timeout(wait):
                        await asyncio.shield(conn.unbound)
                except (TimeoutError, SmppClientError, LocalProtocolError):
                    pass
            conn.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._tasks):
            task.cancel()
        self._set_state(ClientState.DOWN, self.last_error)

    async def __aenter__(self) -> SmppClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _set_state(self, state: ClientState, error: str | None = None) -> None:
        self._state = state
        if self.on_state_change is not None:
            try:
                self.on_state_change(state, error)
            except Exception:  # a listener must not break the connection loop
                log.exception("on_state_change listener failed")

    # ------------------------------------------------------------------------ connection loop

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            self._set_state(ClientState.CONNECTING, self.last_error)
            try:
                conn = await self._connect_and_bind()
            except (OSError, TimeoutError, SmppClientError, PduError) as exc:
                self.last_error = _describe(exc)
                log.warning("SMPP %s:%s: %s", self.host, self.port, self.last_error)
                self._set_state(ClientState.DOWN, self.last_error)
                await asyncio.sleep(
                    backoff_delay(attempt, self.reconnect_delay, self.reconnect_max_delay)
                )
                attempt += 1
                continue
            attempt = 0
            self._conn = conn
            self.stats.binds += 1
            self.last_bind_status = None
            self._set_state(ClientState.BOUND)
            self._bound.set()
            helpers = (
                asyncio.create_task(self._keepalive(conn)),
                asyncio.create_task(self._reaper(conn)),
            )
            try:
                await conn.closed
            finally:
                for helper in helpers:
                    helper.cancel()
                self._bound.clear()
                self._conn = None
            if self._closing:
                break
            self.stats.disconnects += 1
            self._set_state(ClientState.DOWN, self.last_error)
            await asyncio.sleep(backoff_delay(0, self.reconnect_delay, self.reconnect_max_delay))

    async def _connect_and_bind(self) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(self, loop)
        async with asyncio.timeout(self.connect_timeout):
            await loop.create_connection(
                lambda: conn,
                self.host,
                self.port,
                ssl=self.tls,
                server_hostname=self.host if self.tls is not None else None,
            )
        bind = _BIND_CLASSES[self.bind_mode](
            system_id=self.system_id,
            password=self.password,
            system_type=self.system_type,
            addr_ton=self.addr_ton,
            addr_npi=self.addr_npi,
            address_range=self.address_range,
        )
        try:
            conn.session.send(bind)
            conn.flush()
            async with asyncio.timeout(self.response_timeout):
                result = await asyncio.shield(conn.bind_result)
        except BaseException:
            conn.abort()
            raise
        if isinstance(result, BindFailed):
            self.stats.bind_failures += 1
            self.last_bind_status = result.pdu.command_status
            conn.close()
            raise BindRefused(result.pdu.command_status)
        return conn

    async def _keepalive(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        interval = self.enquire_link_interval
        while conn.alive:
            idle = loop.time() - min(conn.last_rx, conn.last_tx)
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            try:
                fut = conn.request(EnquireLink())
                self.stats.enquire_links_sent += 1
                await fut
            except ResponseTimeout:
                self.last_error = f"no enquire_link_resp within {self.response_timeout}s"
                log.warning("SMPP %s:%s: %s; dropping", self.host, self.port, self.last_error)
                conn.abort()
                return
            except (SmppClientError, PduError):
                return

    async def _reaper(self, conn: _Connection) -> None:
        """Time out overdue requests: one timer per connection instead of one per request.

        A response is declared overdue between ``response_timeout`` and 1.1 times that.
        """
        loop = asyncio.get_running_loop()
        tick = max(0.01, self.response_timeout / 10)
        while conn.alive:
            await asyncio.sleep(tick)
            conn.expire(loop.time())

    # ----------------------------------------------------------------------------- events

    def _on_event(self, conn: _Connection, event: Event) -> None:
        if isinstance(event, ResponseReceived):
            fut = conn.waiters.pop(event.pdu.sequence_number, None)
            if fut is not None and not fut.done():
                fut.set_result(event.pdu)
        elif isinstance(event, RequestReceived):
            pdu = event.pdu
            if isinstance(pdu, DeliverSm | DataSm):
                self.stats.delivers_received += 1
                task = asyncio.create_task(self._handle_deliver(conn, pdu))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                conn.tasks.add(task)
                task.add_done_callback(conn.tasks.discard)
            else:  # not reachable for an ESME session; answer rather than hang the peer
                conn.respond(pdu.response(CommandStatus.ESME_RINVCMDID))
        elif isinstance(event, BindOk | BindFailed):
            if not conn.bind_result.done():
                conn.bind_result.set_result(event)
        elif isinstance(event, Unbound):
            if event.by_peer:
                self.last_error = "the SMSC unbound"
                log.info("SMPP %s:%s: the SMSC unbound", self.host, self.port)
            elif not conn.unbound.done():
                conn.unbound.set_result(None)
        elif isinstance(event, ProtocolError):
            error = event.error
            self.last_error = f"protocol error from the SMSC: {error}"
            log.warning("SMPP %s:%s: %s", self.host, self.port, self.last_error)
            if event.request is not None:
                fut = conn.waiters.pop(event.request.sequence_number, None)
                if fut is not None and not fut.done():
                    fut.set_exception(error)
                if isinstance(event.request, Bind) and not conn.bind_result.done():
                    conn.bind_result.set_exception(error)
        elif isinstance(event, UnexpectedResponse):
            log.debug("SMPP %s:%s: unexpected response %r", self.host, self.port, event.pdu)
        elif isinstance(event, NotificationReceived):
            log.info("SMPP %s:%s: %s", self.host, self.port, type(event.pdu).__name__)

    async def _handle_deliver(self, conn: _Connection, pdu: DeliverSm | DataSm) -> None:
        status: int = CommandStatus.ESME_ROK
        if self.on_deliver is None:
            status = CommandStatus.ESME_RX_T_APPN
            self.stats.delivers_failed += 1
        else:
            try:
                result = await self.on_deliver(pdu)
                if result is not None:
                    status = result
            except Exception:
                log.exception("on_deliver failed; asking the SMSC to retry")
                status = CommandStatus.ESME_RX_T_APPN
                self.stats.delivers_failed += 1
        conn.respond(pdu.response(status))

    # ---------------------------------------------------------------------------- sending

    async def submit(
        self, pdu: SubmitSm, *, wait_timeout: float | None = None, wait_for_bind: bool = True
    ) -> SubmitSmResp:
        """Send a submit_sm and return its submit_sm_resp (any status).

        ``wait_timeout`` bounds waiting for a bind, a window slot and throttling (default
        ``submit_timeout``); each response has ``response_timeout``.  With
        ``wait_for_bind=False`` a client that is not bound raises :class:`NotBound` at once.
        """
        resp = await self.request(pdu, wait_timeout=wait_timeout, wait_for_bind=wait_for_bind)
        assert isinstance(resp, SubmitSmResp)
        return resp

    async def data_sm(
        self, pdu: DataSm, *, wait_timeout: float | None = None, wait_for_bind: bool = True
    ) -> DataSmResp:
        """Send a data_sm and return its data_sm_resp (any status)."""
        resp = await self.request(pdu, wait_timeout=wait_timeout, wait_for_bind=wait_for_bind)
        assert isinstance(resp, DataSmResp)
        return resp

    async def request(
        self, pdu: Pdu, *, wait_timeout: float | None = None, wait_for_bind: bool = True
    ) -> Pdu:
        """Send a windowed request and return its response (see :meth:`submit`)."""
        loop = asyncio.get_running_loop()
        resp_cls = response_class(pdu.command_id)
        if resp_cls is None:
            raise LocalProtocolError(f"{type(pdu).__name__} gets no response")
        if wait_timeout is None:
            wait_timeout = self.submit_timeout
        deadline = None if wait_timeout is None else loop.time() + wait_timeout
        if not wait_for_bind and self._state is not ClientState.BOUND:
            raise NotBound(f"not bound ({self._state}): {self.last_error}")
        retries = 0
        while True:
            resp = await self._request_once(pdu, deadline)
            if isinstance(resp, GenericNack):
                resp = resp_cls(
                    sequence_number=resp.sequence_number, command_status=resp.command_status
                )
            status = resp.command_status
            if status == CommandStatus.ESME_ROK:
                self.stats.responses_ok += 1
                self._throttle_level = 0
                return resp
            if status in RETRY_STATUSES:
                self.stats.throttled += 1
                self._slow_down(loop.time())
                if retries < self.throttle_retries:
                    retries += 1
                    self.stats.retries += 1
                    continue
            self.stats.errors += 1
            return resp

    def _slow_down(self, now: float) -> None:
        delay = min(self.throttle_max_delay, self.throttle_delay * 2**self._throttle_level)
        self._throttle_level = min(self._throttle_level + 1, 30)
        self._pause_until = max(self._pause_until, now + delay)

    async def _wait_bound_or_closed(self) -> _Connection:
        while True:
            if self._closing:
                raise ClientClosed("the client is closed")
            conn = self._conn
            if conn is not None and conn.alive and conn.session.bound:
                return conn
            bound = asyncio.ensure_future(self._bound.wait())
            closed = asyncio.ensure_future(self._closed.wait())
            try:
                await asyncio.wait((bound, closed), return_when=asyncio.FIRST_COMPLETED)
            finally:
                bound.cancel()
                closed.cancel()

    async def _request_once(self, pdu: Pdu, deadline: float | None) -> Pdu:
        loop = asyncio.get_running_loop()
        slots = self._slots
        if slots.locked():
            try:
                async with asyncio.timeout_at(deadline):
                    await slots.acquire()
            except TimeoutError:
                raise NotBound(f"no window slot before the deadline: {self.last_error}") from None
        else:
            await slots.acquire()  # returns at once
        try:
            conn = self._bound_conn()
            if conn is None or self._bucket is not None or self._pause_until > loop.time():
                conn = await self._wait_ready(deadline)
            fut = conn.request(pdu)
            self.stats.submitted += 1
            self._in_flight += 1
            if self._in_flight > self.stats.peak_outstanding:
                self.stats.peak_outstanding = self._in_flight
            try:
                return await fut
            except ResponseTimeout:
                self.stats.timeouts += 1
                self.stats.errors += 1
                raise
            except (ConnectionLost, RemoteProtocolError):
                self.stats.errors += 1
                raise
            finally:
                self._in_flight -= 1
        finally:
            slots.release()

    async def _wait_ready(self, deadline: float | None) -> _Connection:
        """Wait for a bind and for pacing (throttle pause, token bucket)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    conn = self._bound_conn() or await self._wait_bound_or_closed()
                    await self._pace(loop)
                    if conn.alive and conn.session.bound:
                        return conn
        except TimeoutError:
            raise NotBound(f"not bound before the deadline: {self.last_error}") from None

    def _bound_conn(self) -> _Connection | None:
        conn = self._conn
        if conn is not None and conn.alive and conn.session.bound and not self._closing:
            return conn
        return None

    async def _pace(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            now = loop.time()
            delay = self._pause_until - now
            if delay <= 0 and self._bucket is not None:
                delay = self._bucket.take(now)
            if delay <= 0:
                return
            await asyncio.sleep(delay)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out connecting or binding"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    return str(exc)
