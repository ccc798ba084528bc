"""SmppClient against the SMSC simulator over real TCP on 127.0.0.1 (ephemeral ports)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from smsstreams.smpp.client import (
    ClientState,
    ConnectionLost,
    NotBound,
    ResponseTimeout,
    SmppClient,
)
from smsstreams.smpp.concat import Reassembler, user_data_from_pdu
from smsstreams.smpp.pdu import (
    BindTransceiver,
    CommandStatus,
    DataSm,
    Decoder,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    LocalProtocolError,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    encode,
)
from smsstreams.smpp.receipts import normalize_message_id, report_from_pdu
from smsstreams.smpp.smsc_sim import SimConfig, SmscSimulator

pytestmark = pytest.mark.timeout(15)

CREDENTIALS = {"user": "secret"}


def run(coro: Coroutine[Any, Any, None], loop: str = "asyncio") -> None:
    async def main() -> None:
        await coro
        # let transports closed at the end finish closing (connection_lost runs on a
        # later loop iteration) before the loop goes, or they warn as unclosed
        await asyncio.sleep(0.05)

    if loop == "uvloop":  # the server's loop (uvicorn[standard]); its transports differ
        uvloop.run(main())
    else:
        asyncio.run(main())


def make_client(sim: SmscSimulator, **overrides: Any) -> SmppClient:
    options: dict[str, Any] = {
        "reconnect_delay": 0.05,
        "reconnect_max_delay": 0.2,
        "response_timeout": 2.0,
        "submit_timeout": 8.0,
    }
    options.update(overrides)
    password = options.pop("password", "secret")
    return SmppClient("127.0.0.1", sim.port, "user", password, **options)


def submit_sm(i: int, receipt: bool = True) -> SubmitSm:
    return SubmitSm(
        source_addr="Shop",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="491701234567",
        short_message=f"message {i}".encode(),
        registered_delivery=1 if receipt else 0,
    )


def accepted_texts(sim: SmscSimulator) -> list[bytes]:
    return [p.short_message for p in sim.messages.values() if isinstance(p, SubmitSm)]


async def until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for a condition that changes on the client side (polled; tests only)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------------------------ binding


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_bind_submit_receipt_and_tcp_nodelay(loop: str) -> None:
    async def main() -> None:
        reports = []

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            reports.append(report_from_pdu(pdu))

        async with (
            SmscSimulator(SimConfig(credentials=CREDENTIALS)) as sim,
            make_client(sim, on_deliver=on_deliver) as client,
        ):
            await client.wait_bound(2)
            assert client.state is ClientState.BOUND
            conn = client._conn
            assert conn is not None and conn.transport is not None
            sock = conn.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            resp = await client.submit(submit_sm(1))
            assert resp.command_status == CommandStatus.ESME_ROK
            assert resp.message_id in sim.messages
            await sim.wait_until(lambda: sim.stats.deliver_resps == 1)
            assert reports[0].message_id == resp.message_id
            assert reports[0].outcome == "delivered"
            assert sim.stats.binds == 1
            assert sim.connections[0].system_id == "user"

    run(main(), loop)


def test_bind_refused_is_a_clear_error_in_the_client_state() -> None:
    async def main() -> None:
        async with SmscSimulator(SimConfig(credentials=CREDENTIALS)) as sim:
            client = make_client(sim, password="wrong")
            await client.start()
            try:
                with pytest.raises(NotBound) as info:
                    await client.wait_bound(0.5)
                assert "ESME_RINVPASWD" in str(info.value)
                assert client.state is not ClientState.BOUND
                assert client.last_error == "bind refused: ESME_RINVPASWD (0x0E)"
                assert client.last_bind_status == CommandStatus.ESME_RINVPASWD
                assert client.stats.bind_failures >= 2  # it keeps retrying with backoff
                with pytest.raises(NotBound):
                    await client.submit(submit_sm(1), wait_for_bind=False)
                with pytest.raises(NotBound):
                    await client.submit(submit_sm(1), wait_timeout=0.2)
                assert sim.stats.submits == 0
            finally:
                await client.close()
            assert client.state is ClientState.DOWN

    run(main())


def test_bind_rejected_by_switch_and_unknown_system_id() -> None:
    async def main() -> None:
        cfg = SimConfig(reject_binds=CommandStatus.ESME_RBINDFAIL)
        async with SmscSimulator(cfg) as sim, make_client(sim) as client:
            await until(lambda: client.last_bind_status is not None)
            assert "ESME_RBINDFAIL" in (client.last_error or "")
        async with (
            SmscSimulator(SimConfig(credentials={"other": "x"})) as sim,
            make_client(sim) as client,
        ):
            await until(lambda: client.last_bind_status is not None)
            assert client.last_bind_status == CommandStatus.ESME_RINVSYSID

    run(main())


def test_connection_refused_is_reported() -> None:
    async def main() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = SmppClient("127.0.0.1", port, "u", "p", reconnect_delay=0.05)
        await client.start()
        await until(lambda: client.last_error is not None)
        assert "cannot connect" in (client.last_error or "")
        assert client.state is not ClientState.BOUND
        await client.close()

    run(main())


# ------------------------------------------------------------------------------------ window


def test_window_is_respected() -> None:
    async def main() -> None:
        async with (
            SmscSimulator(SimConfig(response_delay=0.05)) as sim,
            make_client(sim, window=5) as client,
        ):
            await client.wait_bound(2)
            resps = await asyncio.gather(*(client.submit(submit_sm(i)) for i in range(40)))
            assert all(r.command_status == 0 for r in resps)
            assert len({r.message_id for r in resps}) == 40
            assert sim.peak_outstanding == 5  # the window was used, never exceeded
            assert client.stats.peak_outstanding == 5
            assert client.outstanding == 0

    run(main())


# -------------------------------------------------------------------------------- throttling


def test_throttling_slows_down_and_loses_nothing() -> None:
    async def main() -> None:
        cfg = SimConfig(throttle_every=3, receipts=False)
        async with (
            SmscSimulator(cfg) as sim,
            make_client(sim, window=1, throttle_delay=0.1) as client,
        ):
            await client.wait_bound(2)
            started = time.monotonic()
            for i in range(12):
                resp = await client.submit(submit_sm(i, receipt=False))
                assert resp.command_status == CommandStatus.ESME_ROK
            elapsed = time.monotonic() - started
            throttles = sim.stats.throttled
            assert throttles >= 5
            assert client.stats.throttled == client.stats.retries == throttles
            assert elapsed >= throttles * 0.1 * 0.9  # each throttle paused sending
            texts = accepted_texts(sim)
            assert sorted(texts) == sorted(f"message {i}".encode() for i in range(12))

    run(main())


def test_throttling_with_a_full_window_and_queue_full() -> None:
    async def main() -> None:
        cfg = SimConfig(throttle_every=4, queue_full_every=7, response_delay=0.01)
        async with SmscSimulator(cfg) as sim:
            client = make_client(sim, window=10, throttle_delay=0.02, throttle_max_delay=0.1)
            async with client:
                await client.wait_bound(2)
                resps = await asyncio.gather(*(client.submit(submit_sm(i)) for i in range(40)))
                assert all(r.command_status == CommandStatus.ESME_ROK for r in resps)
                texts = accepted_texts(sim)
                assert len(texts) == len(set(texts)) == 40  # each accepted exactly once
                assert client.stats.throttled == sim.stats.throttled > 0

    run(main())


def test_throttle_retries_are_bounded() -> None:
    async def main() -> None:
        async with SmscSimulator(SimConfig(throttle_every=1)) as sim:
            client = make_client(sim, throttle_retries=2, throttle_delay=0.01)
            async with client:
                await client.wait_bound(2)
                resp = await client.submit(submit_sm(1))
                assert resp.command_status == CommandStatus.ESME_RTHROTTLED
                assert sim.stats.submits == 3
                assert client.stats.errors == 1

    run(main())


# -------------------------------------------------------------------------- failures, timeouts


def test_drop_mid_window_reconnects_and_callers_learn_what_happened() -> None:
    """Documented behaviour: a request written before the drop fails with ConnectionLost
    (the SMSC may have it; the client never resends it); requests still waiting for a
    window slot go out on the new bind."""

    async def main() -> None:
        cfg = SimConfig(drop_after=11, response_delay=0.1, receipts=False)
        async with SmscSimulator(cfg) as sim, make_client(sim, window=10) as client:
            await client.wait_bound(2)
            results = await asyncio.gather(
                *(client.submit(submit_sm(i, receipt=False)) for i in range(30)),
                return_exceptions=True,
            )
            ok = [r for r in results if isinstance(r, SubmitSmResp)]
            lost = [r for r in results if isinstance(r, ConnectionLost)]
            assert len(ok) + len(lost) == 30
            assert len(lost) == 10  # the whole window was in flight
            assert all(r.command_status == CommandStatus.ESME_ROK for r in ok)
            assert client.stats.binds == 2
            assert client.stats.disconnects == 1
            assert sim.stats.binds == 2
            texts = accepted_texts(sim)
            assert len(texts) == len(set(texts))  # nothing submitted twice
            ok_ids = {r.message_id for r in ok}
            assert ok_ids <= set(sim.messages)
            assert len(ok_ids) == 20

    run(main())


def test_response_timeout_frees_the_slot() -> None:
    async def main() -> None:
        async with (
            SmscSimulator(SimConfig(response_delay=0.6, receipts=False)) as sim,
            make_client(sim, window=1, response_timeout=0.2) as client,
        ):
            await client.wait_bound(2)
            started = time.monotonic()
            with pytest.raises(ResponseTimeout):
                await client.submit(submit_sm(1))
            assert 0.2 <= time.monotonic() - started < 0.5
            assert client.stats.timeouts == 1
            assert client.outstanding == 0
            # the slot is free again; the late response is ignored
            with pytest.raises(ResponseTimeout):
                await client.submit(submit_sm(2))
            assert client.state is ClientState.BOUND

    run(main())


def test_rate_limit() -> None:
    async def main() -> None:
        async with (
            SmscSimulator(SimConfig(receipts=False)) as sim,
            make_client(sim, max_per_second=50) as client,
        ):
            await client.wait_bound(2)
            started = time.monotonic()
            await asyncio.gather(*(client.submit(submit_sm(i)) for i in range(25)))
            elapsed = time.monotonic() - started
            # a burst of 5 (rate / 10), then 20 more at 50/s
            assert elapsed >= 20 / 50 * 0.9
            stamps = [r.at for r in sim.received_of(SubmitSm)]
            assert len(stamps) == 25

    run(main())


# ------------------------------------------------------------------------------ keep-alive


def test_enquire_link_keeps_an_idle_bind_alive() -> None:
    async def main() -> None:
        async with (
            SmscSimulator(SimConfig(inactivity_timeout=0.3)) as sim,
            make_client(sim, enquire_link_interval=0.1) as client,
        ):
            await client.wait_bound(2)
            await asyncio.sleep(1.0)
            assert client.state is ClientState.BOUND
            assert client.stats.binds == 1
            assert sim.stats.connections == 1
            assert len(sim.received_of(EnquireLink)) >= 5

    run(main())


def test_without_enquire_link_the_idle_bind_is_dropped() -> None:
    """The control for the test above: the simulator's idle timer does drop silent binds."""

    async def main() -> None:
        async with (
            SmscSimulator(SimConfig(inactivity_timeout=0.2)) as sim,
            make_client(sim, enquire_link_interval=30) as client,
        ):
            await client.wait_bound(2)
            await sim.wait_until(lambda: sim.stats.connections >= 2, 3)
            assert sim.received_of(EnquireLink) == []

    run(main())


def test_dead_peer_is_detected_by_enquire_link() -> None:
    """A peer that accepts the bind and then answers nothing: the client gives up on it."""

    async def main() -> None:
        binds = 0

        async def silent_smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal binds
            decoder = Decoder()
            try:
                while data := await reader.read(4096):
                    decoder.feed(data)
                    for pdu in decoder:
                        if isinstance(pdu, BindTransceiver):
                            binds += 1
                            writer.write(encode(pdu.response(system_id="dead")))
            finally:
                writer.close()

        server = await asyncio.start_server(silent_smsc, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = SmppClient(
            "127.0.0.1",
            port,
            "u",
            "p",
            enquire_link_interval=0.1,
            response_timeout=0.2,
            reconnect_delay=0.05,
        )
        async with client:
            await until(lambda: binds >= 2, 3)
            assert "enquire_link" in (client.last_error or "")
            assert client.stats.disconnects >= 1
        server.close()
        await server.wait_closed()

    run(main())


# ------------------------------------------------------------------------- receipts, delivery


def test_receipt_before_the_submit_resp_reaches_on_deliver_first() -> None:
    async def main() -> None:
        log: list[tuple[str, str]] = []

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            report = report_from_pdu(pdu)
            assert report.message_id is not None
            log.append(("receipt", normalize_message_id(report.message_id)))

        async with (
            SmscSimulator(SimConfig(receipt_before_resp=True)) as sim,
            make_client(sim, on_deliver=on_deliver) as client,
        ):
            await client.wait_bound(2)
            for i in range(5):
                resp = await client.submit(submit_sm(i))
                log.append(("resp", normalize_message_id(resp.message_id)))
            await sim.wait_until(lambda: sim.stats.deliver_resps == 5)
        for i in range(5):
            receipt, resp = log[2 * i], log[2 * i + 1]
            assert receipt[0] == "receipt" and resp[0] == "resp"
            assert receipt[1] == resp[1]

    run(main())


def test_deliver_sm_resp_is_sent_only_after_on_deliver_completes() -> None:
    async def main() -> None:
        entered = asyncio.Event()
        release = asyncio.Event()
        finished_at: list[float] = []

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            entered.set()
            await release.wait()  # e.g. the receipt being written to the database
            finished_at.append(asyncio.get_running_loop().time())

        async with (
            SmscSimulator(SimConfig()) as sim,
            make_client(sim, on_deliver=on_deliver) as client,
        ):
            await client.wait_bound(2)
            await client.submit(submit_sm(1))
            await asyncio.wait_for(entered.wait(), 2)
            await asyncio.sleep(0.2)
            assert sim.received_of(DeliverSmResp) == []
            release.set()
            await sim.wait_until(lambda: bool(sim.received_of(DeliverSmResp)), 2)
            (received,) = sim.received_of(DeliverSmResp)
            assert received.pdu.command_status == CommandStatus.ESME_ROK
            assert received.at >= finished_at[0]

    run(main())


def test_failing_on_deliver_makes_the_smsc_redeliver() -> None:
    async def main() -> None:
        calls: list[str | None] = []

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            calls.append(report_from_pdu(pdu).message_id)
            if len(calls) == 1:
                raise RuntimeError("database unavailable")

        async with (
            SmscSimulator(SimConfig(redeliver_delay=0.05)) as sim,
            make_client(sim, on_deliver=on_deliver) as client,
        ):
            await client.wait_bound(2)
            resp = await client.submit(submit_sm(1))
            await sim.wait_until(lambda: sim.stats.deliver_resps == 2, 3)
        statuses = [r.pdu.command_status for r in sim.received_of(DeliverSmResp)]
        assert statuses == [CommandStatus.ESME_RX_T_APPN, CommandStatus.ESME_ROK]
        assert calls == [resp.message_id, resp.message_id]
        assert client.stats.delivers_failed == 1

    run(main())


@pytest.mark.parametrize("concat", ["udh8", "udh16", "sar"])
def test_mo_multipart_out_of_order_is_reassembled(concat: str) -> None:
    text = "Grüße aus Köln! 😀 " * 12  # UCS-2, 4 parts

    async def main() -> None:
        reassembler = Reassembler(timeout=60)
        done: list[str] = []

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            assert isinstance(pdu, DeliverSm)
            assert not pdu.is_receipt
            whole = reassembler.add(
                (pdu.source_addr, pdu.destination_addr), user_data_from_pdu(pdu), now=0
            )
            if whole is not None:
                done.append(whole)

        async with (
            SmscSimulator() as sim,
            make_client(sim, on_deliver=on_deliver) as client,
        ):
            await client.wait_bound(2)
            parts = await sim.inject_mo(
                text,
                concat=concat,
                reference=77,
                order=[2, 0, 3, 1],  # type: ignore[arg-type]
            )
            assert len(parts) == 4
            await sim.wait_until(lambda: sim.stats.deliver_resps == 4)
        assert done == [text]
        assert reassembler.pending == 0

    run(main())


def test_mo_parts_are_redelivered_after_a_reconnect() -> None:
    """A deliver_sm left unanswered when the connection drops comes back on the new bind."""

    async def main() -> None:
        seen: list[bytes] = []
        first = asyncio.Event()

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            assert isinstance(pdu, DeliverSm)
            seen.append(pdu.short_message)
            if len(seen) == 1:
                first.set()
                await asyncio.sleep(10)  # never finishes on this connection

        async with (
            SmscSimulator(SimConfig(redeliver_delay=0.05)) as sim,
            make_client(sim, on_deliver=on_deliver) as client,
        ):
            await client.wait_bound(2)
            await sim.inject_mo("hello")
            await asyncio.wait_for(first.wait(), 2)
            sim.connections[0].abort()
            await sim.wait_until(lambda: sim.stats.deliver_resps == 1, 3)
        assert seen == [b"hello", b"hello"]

    run(main())


def test_separate_transmitter_and_receiver_binds() -> None:
    """Carriers that want two binds: submits on the transmitter, receipts on the receiver."""

    async def main() -> None:
        received: list[str | None] = []

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            received.append(report_from_pdu(pdu).message_id)

        async with (
            SmscSimulator(SimConfig(credentials=CREDENTIALS)) as sim,
            make_client(sim, bind="transmitter") as tx,
            make_client(sim, bind="receiver", on_deliver=on_deliver) as rx,
        ):
            await tx.wait_bound(2)
            await rx.wait_bound(2)
            resp = await tx.submit(submit_sm(1))
            await sim.wait_until(lambda: sim.stats.deliver_resps == 1)
            assert received == [resp.message_id]
            assert tx.stats.delivers_received == 0
            with pytest.raises(LocalProtocolError):
                await rx.submit(submit_sm(2))

    run(main())


# --------------------------------------------------------------------------- unbind, close


def test_peer_unbind_is_answered_and_the_client_binds_again() -> None:
    async def main() -> None:
        async with SmscSimulator() as sim, make_client(sim) as client:
            await client.wait_bound(2)
            assert sim.unbind_all() == 1
            await sim.wait_until(lambda: sim.stats.binds == 2, 3)
            assert sim.connections[0].session.state.value == "closed"
            assert client.last_error == "the SMSC unbound"
            await client.wait_bound(2)
            resp = await client.submit(submit_sm(1))
            assert resp.command_status == CommandStatus.ESME_ROK

    run(main())


def test_close_waits_for_answers_then_unbinds() -> None:
    async def main() -> None:
        async with SmscSimulator(SimConfig(response_delay=0.2, receipts=False)) as sim:
            client = make_client(sim)
            await client.start()
            await client.wait_bound(2)
            pending = asyncio.ensure_future(client.submit(submit_sm(1)))
            await sim.wait_until(lambda: sim.stats.submits == 1)
            await client.close()
            resp = await pending
            assert resp.command_status == CommandStatus.ESME_ROK
            submit, unbind = sim.received[-2:]
            assert isinstance(submit.pdu, SubmitSm)
            assert isinstance(unbind.pdu, Unbind)
            assert unbind.at - submit.at >= 0.2 * 0.9  # only after the answer came
            assert client.state is ClientState.DOWN
            with pytest.raises(Exception, match="closed"):
                await client.submit(submit_sm(2))

    run(main())


# ------------------------------------------------------------------------------------- TLS


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return key, cert


def test_tls(tmp_path: Path) -> None:
    key, cert = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        sim = SmscSimulator()
        await sim.start(tls=server_ctx)
        try:
            async with make_client(sim, tls=client_ctx) as client:
                await client.wait_bound(3)
                resp = await client.submit(submit_sm(1, receipt=False))
                assert resp.command_status == CommandStatus.ESME_ROK
                conn = client._conn
                assert conn is not None and conn.transport is not None
                assert conn.transport.get_extra_info("ssl_object") is not None
        finally:
            await sim.stop()

    run(main())


# ------------------------------------------------------------------------------ simulator CLI


def test_simulator_runs_as_a_module() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsstreams.smpp.smsc_sim", "--port", str(port),
         "--system-id", "user", "--password", "secret", "--stats-interval", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert b"listening" in proc.stdout.readline()

        async def main() -> None:
            client = SmppClient("127.0.0.1", port, "user", "secret", reconnect_delay=0.05)
            async with client:
                await client.wait_bound(3)
                resp = await client.submit(submit_sm(1, receipt=False))
                assert resp.command_status == CommandStatus.ESME_ROK

        run(main())
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
        assert proc.stdout is not None
        proc.stdout.close()
