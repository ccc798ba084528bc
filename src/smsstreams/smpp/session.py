"""The SMPP bind state machine, without I/O (in the manner of h11 / hyper-h2).

A :class:`Session` is one side of one SMPP connection, either the ESME (our client) or the
SMSC (the simulator).  Feed it received bytes with :meth:`Session.receive_data`, which returns
the resulting events (:data:`Event`); give it PDUs to send with :meth:`Session.send`; write
whatever :meth:`Session.data_to_send` returns to the socket.  Because the session answers some
PDUs on its own (``enquire_link``, ``unbind``, garbage), outgoing bytes accumulate in an outbox
(as in hyper-h2) rather than being returned by ``send``.

The session:

* numbers our requests (1 .. 0x7FFFFFFF, then back to 1, skipping numbers still outstanding);
* tracks outstanding requests and, with ``window``, refuses to exceed it (:class:`WindowFull`);
* matches responses to requests (:class:`ResponseReceived`), and only lets us answer requests
  we actually received;
* answers ``enquire_link`` (reporting :class:`EnquireLinkReceived`) and ``unbind`` (reporting
  :class:`Unbound`) itself, answers requests that are not allowed in the
  current state with ``ESME_RINVBNDSTS`` (``ESME_RALYBND`` for a second bind), and answers
  undecodable PDUs with the request's own response or ``generic_nack`` carrying the error
  status; when framing is lost it sends ``generic_nack`` and closes.

States and transitions are the explicit tables :data:`TRANSITIONS` and :data:`MAY_SEND`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Final

from smsstreams.smpp.pdu import (
    DEFAULT_MAX_LENGTH,
    MAX_SEQUENCE,
    RESPONSE_BIT,
    Bind,
    BindReceiver,
    BindResp,
    BindTransceiver,
    BindTransmitter,
    CommandId,
    CommandStatus,
    Decoder,
    GenericNack,
    LocalProtocolError,
    Pdu,
    RemoteProtocolError,
    encode,
    response_class,
)


class Role(StrEnum):
    ESME = "esme"
    SMSC = "smsc"


class State(StrEnum):
    OPEN = "open"  # connected, not bound
    BINDING = "binding"  # bind sent (ESME) / received and not yet answered (SMSC)
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"  # we sent unbind and wait for unbind_resp
    CLOSED = "closed"


class Transition(Enum):
    BIND = "bind"  # bind request sent (ESME) or received (SMSC)
    BIND_OK_TX = "bind_ok_tx"
    BIND_OK_RX = "bind_ok_rx"
    BIND_OK_TRX = "bind_ok_trx"
    BIND_FAILED = "bind_failed"
    UNBIND = "unbind"  # we sent unbind
    UNBIND_DONE = "unbind_done"  # unbind_resp received
    PEER_UNBIND = "peer_unbind"  # peer sent unbind (we answered it)
    LOST = "lost"  # connection lost or framing lost


BOUND: Final = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})
_LIVE: Final = frozenset(State) - {State.CLOSED}

#: (state, transition) -> next state.  Anything missing is a protocol error.
TRANSITIONS: Final[MappingProxyType[tuple[State, Transition], State]] = MappingProxyType(
    {
        (State.OPEN, Transition.BIND): State.BINDING,
        (State.BINDING, Transition.BIND_OK_TX): State.BOUND_TX,
        (State.BINDING, Transition.BIND_OK_RX): State.BOUND_RX,
        (State.BINDING, Transition.BIND_OK_TRX): State.BOUND_TRX,
        (State.BINDING, Transition.BIND_FAILED): State.OPEN,
        **{(s, Transition.UNBIND): State.UNBINDING for s in BOUND},
        (State.UNBINDING, Transition.UNBIND_DONE): State.CLOSED,
        **{(s, Transition.PEER_UNBIND): State.CLOSED for s in _LIVE},
        **{(s, Transition.LOST): State.CLOSED for s in State},
    }
)

_C = CommandId
_BINDS: Final = frozenset({_C.BIND_TRANSMITTER, _C.BIND_RECEIVER, _C.BIND_TRANSCEIVER})
_ESME_TX: Final = frozenset({_C.SUBMIT_SM, _C.DATA_SM, _C.ENQUIRE_LINK, _C.UNBIND})
_SMSC_RX: Final = frozenset(
    {_C.DELIVER_SM, _C.DATA_SM, _C.ALERT_NOTIFICATION, _C.ENQUIRE_LINK, _C.UNBIND}
)
_LINK_ONLY: Final = frozenset({_C.ENQUIRE_LINK, _C.UNBIND})

#: Requests each role may originate in each state (responses are governed by what was received).
MAY_SEND: Final[MappingProxyType[tuple[Role, State], frozenset[int]]] = MappingProxyType(
    {
        (Role.ESME, State.OPEN): _BINDS | {_C.ENQUIRE_LINK},
        (Role.ESME, State.BINDING): frozenset({_C.ENQUIRE_LINK}),
        (Role.ESME, State.BOUND_TX): _ESME_TX,
        (Role.ESME, State.BOUND_RX): _LINK_ONLY,
        (Role.ESME, State.BOUND_TRX): _ESME_TX,
        (Role.ESME, State.UNBINDING): frozenset(),
        (Role.ESME, State.CLOSED): frozenset(),
        (Role.SMSC, State.OPEN): frozenset({_C.OUTBIND, _C.ENQUIRE_LINK}),
        (Role.SMSC, State.BINDING): frozenset({_C.ENQUIRE_LINK}),
        (Role.SMSC, State.BOUND_TX): _LINK_ONLY,
        (Role.SMSC, State.BOUND_RX): _SMSC_RX,
        (Role.SMSC, State.BOUND_TRX): _SMSC_RX,
        (Role.SMSC, State.UNBINDING): frozenset(),
        (Role.SMSC, State.CLOSED): frozenset(),
    }
)

#: Requests counted against the window (link management never waits behind traffic).
WINDOWED: Final = frozenset({_C.SUBMIT_SM, _C.DATA_SM, _C.DELIVER_SM})

_BIND_OK: Final[dict[int, Transition]] = {
    _C.BIND_TRANSMITTER_RESP: Transition.BIND_OK_TX,
    _C.BIND_RECEIVER_RESP: Transition.BIND_OK_RX,
    _C.BIND_TRANSCEIVER_RESP: Transition.BIND_OK_TRX,
}
_OTHER: Final = {Role.ESME: Role.SMSC, Role.SMSC: Role.ESME}


class WindowFull(LocalProtocolError):
    """send() would exceed the window of outstanding requests."""


# ---------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class BindRequested:
    """(SMSC) A bind arrived; answer with ``send(pdu.response(status, system_id=...))``."""

    pdu: Bind


@dataclass(frozen=True, slots=True)
class BindOk:
    """(ESME) The SMSC accepted our bind."""

    pdu: BindResp


@dataclass(frozen=True, slots=True)
class BindFailed:
    """(ESME) The SMSC refused our bind; ``pdu.command_status`` says why."""

    pdu: BindResp | GenericNack


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response (or generic_nack) to one of our requests."""

    pdu: Pdu
    request: Pdu


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request the application must answer (submit_sm, deliver_sm, data_sm)."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class NotificationReceived:
    """A request that takes no response (outbind, alert_notification)."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class EnquireLinkReceived:
    """The peer checked the link; the session has already answered it."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class Unbound:
    """The bind ended: after our unbind was answered, or the peer's unbind (already answered).

    ``pdu`` is the peer's unbind, or its unbind_resp to ours.
    """

    by_peer: bool
    pdu: Pdu


@dataclass(frozen=True, slots=True)
class UnexpectedResponse:
    """A response whose sequence number matches none of our outstanding requests."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """The peer sent something invalid; it was answered (and the session closed if fatal).

    ``request`` is our outstanding request when the bad PDU was its response (now failed).
    """

    error: RemoteProtocolError
    request: Pdu | None = None


Event = (
    BindRequested
    | BindOk
    | BindFailed
    | ResponseReceived
    | RequestReceived
    | NotificationReceived
    | EnquireLinkReceived
    | Unbound
    | UnexpectedResponse
    | ProtocolError
)


# --------------------------------------------------------------------------------------- session


class Session:
    """One side of an SMPP connection.  See the module docstring."""

    def __init__(
        self,
        role: Role = Role.ESME,
        *,
        window: int | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        first_sequence: int = 1,
    ) -> None:
        if window is not None and window < 1:
            raise ValueError("window must be at least 1")
        if not 1 <= first_sequence <= MAX_SEQUENCE:
            raise ValueError(f"first_sequence must be within 1..{MAX_SEQUENCE}")
        self.role = role
        self.window = window
        self.state = State.OPEN
        self._decoder = Decoder(max_length)
        self._next_seq = first_sequence
        self._outstanding: dict[int, Pdu] = {}  # our requests awaiting a response
        self._windowed = 0  # how many of those count against the window
        self._to_answer: dict[int, int] = {}  # peer's requests: sequence -> command_id
        self._outbox = bytearray()
        self._bind_kind: int | None = None

    # ---------------------------------------------------------------------------- properties

    @property
    def bound(self) -> bool:
        return self.state in BOUND

    @property
    def outstanding(self) -> int:
        """Our requests that count against the window and are still unanswered."""
        return self._windowed

    @property
    def window_open(self) -> bool:
        return self.window is None or self._windowed < self.window

    def request_for(self, sequence_number: int) -> Pdu | None:
        """Our outstanding request with this sequence number, if any."""
        return self._outstanding.get(sequence_number)

    def outstanding_requests(self) -> list[Pdu]:
        """Every request of ours still waiting for a response (including link management)."""
        return list(self._outstanding.values())

    def may_send(self, command_id: int) -> bool:
        """Whether a request with ``command_id`` may be sent in the current state."""
        return command_id in MAY_SEND[self.role, self.state]

    # ------------------------------------------------------------------------------- sending

    def send(self, pdu: Pdu) -> int:
        """Queue ``pdu`` for sending; returns its sequence number.

        Requests get the next sequence number (``pdu.sequence_number`` is set).  Responses must
        answer a request we received, with its sequence number.  Raises
        :class:`LocalProtocolError` when the state does not allow it, :class:`WindowFull` when
        the window is full.
        """
        if self.state is State.CLOSED:
            raise LocalProtocolError("the session is closed")
        command_id = pdu.command_id
        if command_id & RESPONSE_BIT:
            self._send_response(pdu)
        else:
            if command_id not in MAY_SEND[self.role, self.state]:
                raise LocalProtocolError(
                    f"{self.role} may not send {type(pdu).__name__} in state {self.state}"
                )
            windowed = command_id in WINDOWED
            if windowed and self.window is not None and self._windowed >= self.window:
                raise WindowFull(f"{self._windowed} requests outstanding (window {self.window})")
            seq = self._take_sequence()
            pdu.sequence_number = seq
            data = encode(pdu)  # may raise LocalProtocolError: nothing recorded yet
            if response_class(command_id) is not None:
                self._outstanding[seq] = pdu
                if windowed:
                    self._windowed += 1
            if command_id in _BINDS:
                self._bind_kind = command_id
                self._move(Transition.BIND)
            elif command_id == _C.UNBIND:
                self._move(Transition.UNBIND)
            self._outbox += data
        return pdu.sequence_number

    def _send_response(self, pdu: Pdu) -> None:
        seq = pdu.sequence_number
        expected = self._to_answer.get(seq)
        if pdu.command_id == _C.GENERIC_NACK:
            self._outbox += encode(pdu)
            self._to_answer.pop(seq, None)
            return
        if expected is None or expected | RESPONSE_BIT != pdu.command_id:
            raise LocalProtocolError(
                f"{type(pdu).__name__} #{seq} answers no request received from the peer"
            )
        data = encode(pdu)
        del self._to_answer[seq]
        if expected in _BINDS:
            ok = pdu.command_status == CommandStatus.ESME_ROK
            self._move(_BIND_OK[pdu.command_id] if ok else Transition.BIND_FAILED)
        self._outbox += data

    def _take_sequence(self) -> int:
        seq = self._next_seq
        while seq in self._outstanding:  # only possible after a full wrap
            seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        self._next_seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        return seq

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call."""
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    def abandon(self, sequence_number: int) -> Pdu | None:
        """Forget an outstanding request (its response timed out); frees its window slot.

        A late response for it then shows up as :class:`UnexpectedResponse`.
        """
        request = self._outstanding.pop(sequence_number, None)
        if request is not None and request.command_id in WINDOWED:
            self._windowed -= 1
        return request

    def connection_lost(self) -> list[Pdu]:
        """The transport is gone: close, and return the requests that got no response."""
        lost = list(self._outstanding.values())
        self._outstanding.clear()
        self._windowed = 0
        self._to_answer.clear()
        self.state = State.CLOSED
        return lost

    # ----------------------------------------------------------------------------- receiving

    def receive_data(self, data: bytes) -> list[Event]:
        """Process received bytes; returns the events they produced (maybe none)."""
        if self.state is State.CLOSED:
            return []
        decoder = self._decoder
        decoder.feed(data)
        events: list[Event] = []
        while self.state is not State.CLOSED:
            try:
                pdu = decoder.next_pdu()
            except RemoteProtocolError as exc:
                self._on_bad_pdu(exc, events)
                continue
            if pdu is None:
                break
            if pdu.command_id & RESPONSE_BIT:
                self._on_response(pdu, events)
            else:
                self._on_request(pdu, events)
        return events

    def _on_response(self, pdu: Pdu, events: list[Event]) -> None:
        seq = pdu.sequence_number
        request = self._outstanding.get(seq)
        if request is None or pdu.command_id not in (
            request.command_id | RESPONSE_BIT,
            _C.GENERIC_NACK,
        ):
            events.append(UnexpectedResponse(pdu))
            return
        del self._outstanding[seq]
        if request.command_id in WINDOWED:
            self._windowed -= 1
        command_id = request.command_id
        if command_id in _BINDS:
            ok = pdu.command_status == CommandStatus.ESME_ROK and isinstance(pdu, BindResp)
            if ok:
                self._move(_BIND_OK[pdu.command_id])
                assert isinstance(pdu, BindResp)
                events.append(BindOk(pdu))
            else:
                self._move(Transition.BIND_FAILED)
                assert isinstance(pdu, BindResp | GenericNack)
                events.append(BindFailed(pdu))
        elif command_id == _C.UNBIND:
            self._move(Transition.UNBIND_DONE)
            events.append(Unbound(by_peer=False, pdu=pdu))
        else:
            events.append(ResponseReceived(pdu, request))

    def _on_request(self, pdu: Pdu, events: list[Event]) -> None:
        command_id = pdu.command_id
        seq = pdu.sequence_number
        if command_id == _C.ENQUIRE_LINK:
            self._outbox += encode(pdu.response())
            events.append(EnquireLinkReceived(pdu))
            return
        if command_id == _C.UNBIND:
            self._outbox += encode(pdu.response())
            self._fail_all()
            self._move(Transition.PEER_UNBIND)
            events.append(Unbound(by_peer=True, pdu=pdu))
            return
        allowed = command_id in MAY_SEND[_OTHER[self.role], self.state]
        if not allowed:
            status = CommandStatus.ESME_RINVBNDSTS
            if command_id in _BINDS and self.state is not State.OPEN:
                status = CommandStatus.ESME_RALYBND
            self._reject(command_id, seq, status)
            return
        if command_id in _BINDS:
            self._to_answer[seq] = command_id
            self._move(Transition.BIND)
            assert isinstance(pdu, BindTransmitter | BindReceiver | BindTransceiver)
            events.append(BindRequested(pdu))
        elif response_class(command_id) is None:
            events.append(NotificationReceived(pdu))
        else:
            self._to_answer[seq] = command_id
            events.append(RequestReceived(pdu))

    def _on_bad_pdu(self, exc: RemoteProtocolError, events: list[Event]) -> None:
        seq = exc.sequence_number or 0
        command_id = exc.command_id
        request = None
        if exc.fatal:
            self._outbox += encode(GenericNack(sequence_number=seq, command_status=exc.status))
            self._fail_all()
            self._move(Transition.LOST)
        elif command_id is not None and command_id & RESPONSE_BIT:
            # A malformed response: it still ends the matching request, as a failure.
            candidate = self._outstanding.get(seq)
            if candidate is not None and command_id in (
                candidate.command_id | RESPONSE_BIT,
                _C.GENERIC_NACK,
            ):
                request = self.abandon(seq)
                if candidate.command_id in _BINDS:
                    self._move(Transition.BIND_FAILED)
        elif command_id is not None and response_class(command_id) is not None:
            self._reject(command_id, seq, exc.status)
        else:
            self._outbox += encode(GenericNack(sequence_number=seq, command_status=exc.status))
        events.append(ProtocolError(exc, request))

    def _reject(self, command_id: int, seq: int, status: int) -> None:
        resp_cls = response_class(command_id)
        if resp_cls is None:
            reply: Pdu = GenericNack(sequence_number=seq, command_status=status)
        else:
            reply = resp_cls(sequence_number=seq, command_status=status)
        self._outbox += encode(reply)

    def _fail_all(self) -> None:
        # Our own outstanding requests stay listed: connection_lost() hands them back.
        self._to_answer.clear()

    def _move(self, transition: Transition) -> None:
        target = TRANSITIONS.get((self.state, transition))
        if target is None:
            raise LocalProtocolError(f"no transition {transition.value} from state {self.state}")
        self.state = target
