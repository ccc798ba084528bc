"""Tests for the sans-I/O SMPP session: an ESME and an SMSC session paired byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from smsstreams.smpp.pdu import (
    MAX_SEQUENCE,
    BindReceiver,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    CommandId,
    CommandStatus,
    DataSm,
    Decoder,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    LocalProtocolError,
    Outbind,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    encode,
)
from smsstreams.smpp.session import (
    BOUND,
    MAY_SEND,
    TRANSITIONS,
    BindFailed,
    BindOk,
    BindRequested,
    EnquireLinkReceived,
    Event,
    NotificationReceived,
    ProtocolError,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    State,
    Transition,
    Unbound,
    UnexpectedResponse,
    WindowFull,
)


def transfer(src: Session, dst: Session) -> list[Event]:
    """Move everything ``src`` has queued into ``dst``; returns dst's events."""
    return dst.receive_data(src.data_to_send())


def sent_pdus(session: Session) -> list[Pdu]:
    decoder = Decoder()
    decoder.feed(session.data_to_send())
    return list(decoder)


def bound_pair(
    bind: type[BindTransmitter | BindReceiver | BindTransceiver] = BindTransceiver,
    window: int | None = None,
) -> tuple[Session, Session]:
    esme = Session(Role.ESME, window=window)
    smsc = Session(Role.SMSC)
    esme.send(bind(system_id="user", password="secret"))
    (requested,) = transfer(esme, smsc)
    assert isinstance(requested, BindRequested)
    smsc.send(requested.pdu.response(system_id="SMSC"))
    (ok,) = transfer(smsc, esme)
    assert isinstance(ok, BindOk)
    return esme, smsc


# ---------------------------------------------------------------------------------- binding


@pytest.mark.parametrize(
    ("bind", "state"),
    [
        (BindTransmitter, State.BOUND_TX),
        (BindReceiver, State.BOUND_RX),
        (BindTransceiver, State.BOUND_TRX),
    ],
)
def test_bind(bind: type[BindTransceiver], state: State) -> None:
    esme = Session(Role.ESME)
    smsc = Session(Role.SMSC)
    assert esme.state is State.OPEN
    seq = esme.send(bind(system_id="user", password="secret", system_type="VMA"))
    assert seq == 1
    assert esme.state is State.BINDING
    (event,) = transfer(esme, smsc)
    assert isinstance(event, BindRequested)
    assert event.pdu.system_id == "user"
    assert event.pdu.password == "secret"
    assert smsc.state is State.BINDING
    smsc.send(event.pdu.response(system_id="SMSC"))
    assert smsc.state is state
    (ok,) = transfer(smsc, esme)
    assert isinstance(ok, BindOk)
    assert ok.pdu.system_id == "SMSC"
    assert esme.state is state
    assert esme.bound and smsc.bound


def test_bind_refused_then_retried() -> None:
    esme = Session(Role.ESME)
    smsc = Session(Role.SMSC)
    esme.send(BindTransceiver(system_id="user", password="wrong"))
    (req,) = transfer(esme, smsc)
    assert isinstance(req, BindRequested)
    smsc.send(req.pdu.response(CommandStatus.ESME_RINVPASWD))
    assert smsc.state is State.OPEN
    (failed,) = transfer(smsc, esme)
    assert isinstance(failed, BindFailed)
    assert failed.pdu.command_status == CommandStatus.ESME_RINVPASWD
    assert esme.state is State.OPEN
    assert not esme.may_send(CommandId.SUBMIT_SM)
    # a second attempt is allowed
    esme.send(BindTransceiver(system_id="user", password="right"))
    (req,) = transfer(esme, smsc)
    assert isinstance(req, BindRequested)
    smsc.send(req.pdu.response())
    assert isinstance(transfer(smsc, esme)[0], BindOk)


def test_generic_nack_to_a_bind_is_a_failure() -> None:
    esme = Session(Role.ESME)
    esme.send(BindTransmitter(system_id="u"))
    nack = GenericNack(sequence_number=1, command_status=CommandStatus.ESME_RSYSERR)
    (event,) = esme.receive_data(encode(nack))
    assert isinstance(event, BindFailed)
    assert esme.state is State.OPEN


def test_second_bind_is_answered_already_bound() -> None:
    _esme, smsc = bound_pair()
    events = smsc.receive_data(encode(BindTransceiver(sequence_number=50, system_id="x")))
    assert events == []
    (reply,) = sent_pdus(smsc)
    assert reply == BindTransceiverResp(
        sequence_number=50, command_status=CommandStatus.ESME_RALYBND
    )
    assert smsc.state is State.BOUND_TRX


# ------------------------------------------------------------------------------ messaging


def test_submit_and_response() -> None:
    esme, smsc = bound_pair()
    submit = SubmitSm(source_addr="Shop", destination_addr="4917012345", short_message=b"hi")
    seq = esme.send(submit)
    assert submit.sequence_number == seq == 2
    assert esme.outstanding == 1
    (event,) = transfer(esme, smsc)
    assert isinstance(event, RequestReceived)
    assert event.pdu == submit
    smsc.send(event.pdu.response(message_id="m1"))
    (resp,) = transfer(smsc, esme)
    assert isinstance(resp, ResponseReceived)
    assert resp.request is submit
    assert resp.pdu == SubmitSmResp(sequence_number=seq, message_id="m1")
    assert esme.outstanding == 0


def test_deliver_sm_from_the_smsc() -> None:
    esme, smsc = bound_pair()
    smsc.send(DeliverSm(esm_class=4, short_message=b"id:1 stat:DELIVRD"))
    (event,) = transfer(smsc, esme)
    assert isinstance(event, RequestReceived)
    assert isinstance(event.pdu, DeliverSm)
    esme.send(event.pdu.response())
    (resp,) = transfer(esme, smsc)
    assert isinstance(resp, ResponseReceived)
    assert isinstance(resp.pdu, DeliverSmResp)


def test_data_sm_both_ways() -> None:
    esme, smsc = bound_pair()
    esme.send(DataSm(destination_addr="1"))
    (event,) = transfer(esme, smsc)
    assert isinstance(event, RequestReceived)
    smsc.send(event.pdu.response(message_id="d1"))
    assert isinstance(transfer(smsc, esme)[0], ResponseReceived)
    smsc.send(DataSm(destination_addr="2"))
    (event,) = transfer(smsc, esme)
    assert isinstance(event, RequestReceived)


def test_generic_nack_answers_our_request() -> None:
    esme, _smsc = bound_pair()
    seq = esme.send(SubmitSm())
    nack = GenericNack(sequence_number=seq, command_status=CommandStatus.ESME_RTHROTTLED)
    (event,) = esme.receive_data(encode(nack))
    assert isinstance(event, ResponseReceived)
    assert event.pdu == nack
    assert esme.outstanding == 0


def test_responses_can_arrive_out_of_order() -> None:
    esme, smsc = bound_pair()
    requests = [SubmitSm(short_message=bytes([i])) for i in range(5)]
    for r in requests:
        esme.send(r)
    received = transfer(esme, smsc)
    for event in reversed(received):
        assert isinstance(event, RequestReceived)
        smsc.send(event.pdu.response(message_id=f"id{event.pdu.sequence_number}"))
    events = transfer(smsc, esme)
    assert [e.request for e in events if isinstance(e, ResponseReceived)] == requests[::-1]
    for e in events:
        assert isinstance(e, ResponseReceived)
        assert isinstance(e.pdu, SubmitSmResp)
        assert e.pdu.message_id == f"id{e.request.sequence_number}"


def test_response_with_unknown_sequence_is_unexpected() -> None:
    esme, _ = bound_pair()
    (event,) = esme.receive_data(encode(SubmitSmResp(sequence_number=999, message_id="x")))
    assert isinstance(event, UnexpectedResponse)


def test_response_of_the_wrong_type_is_unexpected_and_keeps_the_request() -> None:
    esme, _ = bound_pair()
    seq = esme.send(SubmitSm())
    (event,) = esme.receive_data(encode(DeliverSmResp(sequence_number=seq)))
    assert isinstance(event, UnexpectedResponse)
    assert esme.outstanding == 1


# ------------------------------------------------------------------------- window, sequence


def test_window_is_enforced() -> None:
    esme, smsc = bound_pair(window=3)
    for _ in range(3):
        esme.send(SubmitSm())
    assert not esme.window_open
    with pytest.raises(WindowFull):
        esme.send(SubmitSm())
    esme.send(EnquireLink())  # link management is not windowed
    events = transfer(esme, smsc)
    first = events[0]
    assert isinstance(first, RequestReceived)
    smsc.send(first.pdu.response(message_id="1"))
    transfer(smsc, esme)
    assert esme.window_open
    esme.send(SubmitSm())
    with pytest.raises(WindowFull):
        esme.send(SubmitSm())


def test_abandon_frees_the_slot_and_a_late_response_is_unexpected() -> None:
    esme, _ = bound_pair(window=1)
    seq = esme.send(SubmitSm())
    assert esme.abandon(seq) is not None
    assert esme.window_open
    (event,) = esme.receive_data(encode(SubmitSmResp(sequence_number=seq, message_id="late")))
    assert isinstance(event, UnexpectedResponse)


def test_sequence_numbers_wrap_to_one() -> None:
    esme = Session(Role.ESME, first_sequence=MAX_SEQUENCE - 1)
    smsc = Session(Role.SMSC)
    assert esme.send(BindTransceiver()) == MAX_SEQUENCE - 1
    (req,) = transfer(esme, smsc)
    assert isinstance(req, BindRequested)
    smsc.send(req.pdu.response())
    transfer(smsc, esme)
    assert esme.send(SubmitSm()) == MAX_SEQUENCE
    assert esme.send(SubmitSm()) == 1
    assert esme.send(SubmitSm()) == 2


def test_sequence_skips_numbers_still_outstanding() -> None:
    esme, _ = bound_pair()
    stuck = esme.send(SubmitSm())  # 2, never answered
    esme._next_seq = stuck  # as if the counter had wrapped all the way round
    assert esme.send(SubmitSm()) == stuck + 1


def test_first_sequence_is_validated() -> None:
    with pytest.raises(ValueError):
        Session(first_sequence=0)
    with pytest.raises(ValueError):
        Session(first_sequence=MAX_SEQUENCE + 1)
    with pytest.raises(ValueError):
        Session(window=0)


# ---------------------------------------------------------------------- link management


def test_enquire_link_is_answered_automatically() -> None:
    esme, smsc = bound_pair()
    seq = esme.send(EnquireLink())
    (event,) = transfer(esme, smsc)
    assert isinstance(event, EnquireLinkReceived)
    (resp,) = transfer(smsc, esme)
    assert isinstance(resp, ResponseReceived)
    assert resp.pdu == EnquireLinkResp(sequence_number=seq)


def test_enquire_link_is_answered_before_binding() -> None:
    smsc = Session(Role.SMSC)
    smsc.receive_data(encode(EnquireLink(sequence_number=3)))
    assert sent_pdus(smsc) == [EnquireLinkResp(sequence_number=3)]


def test_unbind_by_the_esme() -> None:
    esme, smsc = bound_pair()
    esme.send(Unbind())
    assert esme.state is State.UNBINDING
    assert not esme.may_send(CommandId.SUBMIT_SM)
    with pytest.raises(LocalProtocolError):
        esme.send(SubmitSm())
    (event,) = transfer(esme, smsc)
    assert event == Unbound(by_peer=True, pdu=Unbind(sequence_number=2))
    assert smsc.state is State.CLOSED
    (event,) = transfer(smsc, esme)
    assert event == Unbound(by_peer=False, pdu=UnbindResp(sequence_number=2))
    assert esme.state is State.CLOSED


def test_unbind_by_the_smsc_is_answered() -> None:
    esme, smsc = bound_pair()
    smsc.send(Unbind())
    (event,) = transfer(smsc, esme)
    assert event == Unbound(by_peer=True, pdu=Unbind(sequence_number=1))
    assert esme.state is State.CLOSED
    pdus = sent_pdus(esme)
    assert pdus == [UnbindResp(sequence_number=1)]  # the SMSC numbers its own requests
    smsc.receive_data(encode(pdus[0]))
    assert smsc.state is State.CLOSED


def test_responses_still_arrive_while_unbinding() -> None:
    esme, smsc = bound_pair()
    esme.send(SubmitSm())
    (req,) = transfer(esme, smsc)
    assert isinstance(req, RequestReceived)
    esme.send(Unbind())
    smsc.send(req.pdu.response(message_id="x"))
    (event,) = transfer(smsc, esme)
    assert isinstance(event, ResponseReceived)


def test_outbind_is_a_notification_for_the_esme() -> None:
    esme = Session(Role.ESME)
    smsc = Session(Role.SMSC)
    smsc.send(Outbind(system_id="smsc", password="pw"))
    (event,) = transfer(smsc, esme)
    assert isinstance(event, NotificationReceived)
    assert isinstance(event.pdu, Outbind)
    esme.send(BindReceiver())  # what an ESME does next


# ------------------------------------------------------------------------- state checks


def test_esme_cannot_submit_before_binding() -> None:
    with pytest.raises(LocalProtocolError):
        Session(Role.ESME).send(SubmitSm())


def test_receiver_cannot_submit_and_smsc_cannot_deliver_to_a_transmitter() -> None:
    esme, _smsc = bound_pair(BindReceiver)
    with pytest.raises(LocalProtocolError):
        esme.send(SubmitSm())
    _esme2, smsc2 = bound_pair(BindTransmitter)
    with pytest.raises(LocalProtocolError):
        smsc2.send(DeliverSm())


def test_request_in_the_wrong_state_is_answered_invalid_bind_status() -> None:
    smsc = Session(Role.SMSC)
    assert smsc.receive_data(encode(SubmitSm(sequence_number=5))) == []
    assert sent_pdus(smsc) == [
        SubmitSmResp(sequence_number=5, command_status=CommandStatus.ESME_RINVBNDSTS)
    ]
    esme, _ = bound_pair(BindTransmitter)
    assert esme.receive_data(encode(DeliverSm(sequence_number=8))) == []
    assert sent_pdus(esme) == [
        DeliverSmResp(sequence_number=8, command_status=CommandStatus.ESME_RINVBNDSTS)
    ]


def test_only_received_requests_can_be_answered() -> None:
    esme, smsc = bound_pair()
    with pytest.raises(LocalProtocolError):
        esme.send(DeliverSmResp(sequence_number=77))
    smsc.send(DeliverSm())
    (event,) = transfer(smsc, esme)
    assert isinstance(event, RequestReceived)
    with pytest.raises(LocalProtocolError):  # wrong response type
        esme.send(SubmitSmResp(sequence_number=event.pdu.sequence_number))
    esme.send(event.pdu.response())
    with pytest.raises(LocalProtocolError):  # answered twice
        esme.send(event.pdu.response())


def test_closed_session_refuses_everything() -> None:
    esme, _ = bound_pair()
    esme.send(SubmitSm())
    lost = esme.connection_lost()
    assert [type(p) for p in lost] == [SubmitSm]
    assert esme.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        esme.send(EnquireLink())
    assert esme.receive_data(encode(EnquireLink(sequence_number=1))) == []


# ------------------------------------------------------------------------------- garbage


def test_unknown_command_gets_generic_nack() -> None:
    _, smsc = bound_pair()
    query_sm = bytes.fromhex("00000018 00000003 00000000 0000000c 61626300 00 00 00 00")
    query_sm = len(query_sm).to_bytes(4, "big") + query_sm[4:]
    (event,) = smsc.receive_data(query_sm)
    assert isinstance(event, ProtocolError)
    assert sent_pdus(smsc) == [
        GenericNack(sequence_number=12, command_status=CommandStatus.ESME_RINVCMDID)
    ]
    assert smsc.bound  # not fatal


def test_malformed_request_gets_its_own_response_with_the_error() -> None:
    _, smsc = bound_pair()
    body = b"\x00\x01\x01" + b"9" * 30 + b"\x00"  # source_addr far too long
    wire = (16 + len(body)).to_bytes(4, "big") + bytes.fromhex("00000004 00000000 00000021")
    (event,) = smsc.receive_data(wire + body)
    assert isinstance(event, ProtocolError)
    assert sent_pdus(smsc) == [
        SubmitSmResp(sequence_number=0x21, command_status=CommandStatus.ESME_RINVSRCADR)
    ]
    # and the session goes on
    smsc.receive_data(encode(SubmitSm(sequence_number=0x22)))
    assert smsc.bound


def test_malformed_response_fails_the_request() -> None:
    esme, _ = bound_pair()
    seq = esme.send(SubmitSm())
    esme.data_to_send()
    wire = bytes.fromhex("00000015 80000004 00000000") + seq.to_bytes(4, "big") + b"abcde"
    (event,) = esme.receive_data(wire)  # message_id without its NUL
    assert isinstance(event, ProtocolError)
    assert isinstance(event.request, SubmitSm)
    assert esme.outstanding == 0
    assert sent_pdus(esme) == []  # a response is never answered


def test_framing_error_sends_generic_nack_and_closes() -> None:
    esme, _smsc = bound_pair()
    esme.send(SubmitSm())
    esme.data_to_send()
    (event,) = esme.receive_data(bytes.fromhex("00000008 00000004 00000000 00000003"))
    assert isinstance(event, ProtocolError)
    assert event.error.fatal
    assert esme.state is State.CLOSED
    assert sent_pdus(esme) == [
        GenericNack(sequence_number=3, command_status=CommandStatus.ESME_RINVCMDLEN)
    ]
    assert len(esme.connection_lost()) == 1  # the submit never got its answer


def test_bytes_after_a_fatal_error_are_ignored() -> None:
    _, smsc = bound_pair()
    events = smsc.receive_data(
        bytes.fromhex("ffffffff 00000004 00000000 00000003") + encode(EnquireLink())
    )
    assert len(events) == 1
    assert smsc.receive_data(encode(EnquireLink())) == []


# -------------------------------------------------------------------------- tables


def test_transition_table_shape() -> None:
    for state in State:
        assert TRANSITIONS[state, Transition.LOST] is State.CLOSED
    for (state, _), target in TRANSITIONS.items():
        if state is State.CLOSED:
            assert target is State.CLOSED
    reachable = {State.OPEN}
    for _ in State:
        reachable |= {t for (s, _), t in TRANSITIONS.items() if s in reachable}
    assert reachable == set(State)
    for role in Role:
        for state in State:
            assert (role, state) in MAY_SEND
        for state in BOUND:
            assert CommandId.UNBIND in MAY_SEND[role, state]
            assert CommandId.ENQUIRE_LINK in MAY_SEND[role, state]


# ----------------------------------------------------- property: random traffic, random chunks


class PairedSessions(RuleBasedStateMachine):
    """ESME and SMSC exchanging traffic over a byte pipe cut at random points."""

    def __init__(self) -> None:
        super().__init__()
        self.esme, self.smsc = bound_pair(window=5)
        self.to_smsc = bytearray()
        self.to_esme = bytearray()
        self.sent_submits: dict[int, SubmitSm] = {}
        self.answered: set[int] = set()
        self.smsc_pending: list[Pdu] = []
        self.esme_pending: list[Pdu] = []
        self.delivers_answered = 0
        self.delivers_sent = 0

    def _pump(self) -> None:
        self.to_smsc += self.esme.data_to_send()
        self.to_esme += self.smsc.data_to_send()

    @precondition(lambda self: self.esme.window_open)
    @rule(body=st.binary(max_size=20))
    def submit(self, body: bytes) -> None:
        pdu = SubmitSm(short_message=body)
        seq = self.esme.send(pdu)
        self.sent_submits[seq] = pdu
        self._pump()

    @rule()
    def deliver(self) -> None:
        self.smsc.send(DeliverSm(esm_class=4))
        self.delivers_sent += 1
        self._pump()

    @rule()
    def enquire(self) -> None:
        self.esme.send(EnquireLink())
        self._pump()

    @rule(n=st.integers(0, 200))
    def carry_to_smsc(self, n: int) -> None:
        chunk, self.to_smsc[:] = bytes(self.to_smsc[:n]), self.to_smsc[n:]
        for event in self.smsc.receive_data(chunk):
            assert not isinstance(event, ProtocolError | UnexpectedResponse)
            if isinstance(event, RequestReceived):
                self.smsc_pending.append(event.pdu)
            elif isinstance(event, ResponseReceived):
                self.delivers_answered += 1
        self._pump()

    @rule(n=st.integers(0, 200))
    def carry_to_esme(self, n: int) -> None:
        chunk, self.to_esme[:] = bytes(self.to_esme[:n]), self.to_esme[n:]
        for event in self.esme.receive_data(chunk):
            assert not isinstance(event, ProtocolError | UnexpectedResponse)
            if isinstance(event, ResponseReceived) and isinstance(event.pdu, SubmitSmResp):
                seq = event.pdu.sequence_number
                assert event.request is self.sent_submits[seq]
                assert event.pdu.message_id == f"m{seq}"
                assert seq not in self.answered
                self.answered.add(seq)
            elif isinstance(event, RequestReceived):
                self.esme_pending.append(event.pdu)
        self._pump()

    @precondition(lambda self: self.smsc_pending)
    @rule(i=st.integers(0, 100))
    def smsc_answers(self, i: int) -> None:
        pdu = self.smsc_pending.pop(i % len(self.smsc_pending))
        self.smsc.send(pdu.response(message_id=f"m{pdu.sequence_number}"))
        self._pump()

    @precondition(lambda self: self.esme_pending)
    @rule(i=st.integers(0, 100))
    def esme_answers(self, i: int) -> None:
        pdu = self.esme_pending.pop(i % len(self.esme_pending))
        self.esme.send(pdu.response())
        self._pump()

    @invariant()
    def window_accounting(self) -> None:
        assert 0 <= self.esme.outstanding <= 5
        unanswered = len(self.sent_submits) - len(self.answered)
        assert self.esme.outstanding == unanswered
        assert self.esme.bound and self.smsc.bound


TestPairedSessions = PairedSessions.TestCase
TestPairedSessions.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
