"""Interop: our SMPP client and the whole product against ``smpp34`` (an independent,
Rust-based SMPP 3.4 implementation) acting as the SMSC, over real TCP on 127.0.0.1.

``smpp34`` is a dev-only dependency; without it these tests are skipped.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from smsstreams.smpp.client import SmppClient
from smsstreams.smpp.concat import Reassembler, build_parts, user_data_from_pdu
from smsstreams.smpp.pdu import DataSm, DeliverSm, SubmitSm
from smsstreams.smpp.receipts import format_receipt, report_from_pdu
from tests.support.api import Api, msg
from tests.support.server import Server, free_port

smpp34 = pytest.importorskip("smpp34")

pytestmark = pytest.mark.timeout(60)
NUMBER = "12025550142"
PHONE = "15551230000"


class Smsc:
    """An smpp34 server that accepts submits (after ``delay``), counts the outstanding
    ones, and sends a receipt for each submit that asks for one."""

    def __init__(self, port: int, delay: float = 0.0) -> None:
        self.port = port
        self.delay = delay
        self.server = smpp34.Server(host="127.0.0.1", port=port, system_id="interop")
        self.sessions: dict[str, Any] = {}
        self.submits: list[Any] = []
        self.outstanding = self.peak = 0
        self._next_id = 0x5000
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        await self.server.start()
        while True:
            ev = await self.server.next()
            if isinstance(ev, smpp34.Esme):
                self.sessions[ev.session_id] = ev
            elif isinstance(ev, smpp34.SubmitSmEvent):
                self.outstanding += 1
                self.peak = max(self.peak, self.outstanding)
                task = asyncio.create_task(self._answer(ev))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _answer(self, ev: Any) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self._next_id += 1
        message_id = f"{self._next_id:x}"
        self.submits.append(ev)
        self.outstanding -= 1
        ev.accept(message_id=message_id)
        if ev.registered_delivery & 0x03:
            text = format_receipt(
                message_id, "DELIVRD", text=ev.short_message[:20].decode("latin-1")
            )
            await self.sessions[ev.session_id].deliver_sm(
                source_addr=ev.destination_addr,
                destination_addr=ev.source_addr,
                esm_class=0x04,
                short_message=text.encode(),
            )

    async def mo(self, text: str, source: str, destination: str, order: list[int]) -> None:
        """A multipart MO message, parts in ``order``: the UDH is built here, the PDUs by
        smpp34."""
        template = DeliverSm(source_addr=source, destination_addr=destination)
        parts = build_parts(template, text, concat="udh8", reference=42)
        esme = next(iter(self.sessions.values()))
        for i in order:
            resp = await esme.deliver_sm(
                source_addr=source,
                destination_addr=destination,
                source_addr_ton=1,
                source_addr_npi=1,
                esm_class=parts[i].esm_class,
                data_coding=parts[i].data_coding,
                short_message=parts[i].short_message,
            )
            assert resp.command_status == 0


def test_client_window_receipts_and_mo_against_smpp34() -> None:
    async def main() -> None:
        smsc = Smsc(free_port(), delay=0.02)
        serving = asyncio.create_task(smsc.serve())
        reports: list[Any] = []
        texts: list[str] = []
        reassembler = Reassembler()
        all_receipts, mo_done = asyncio.Event(), asyncio.Event()

        async def on_deliver(pdu: DeliverSm | DataSm) -> None:
            if pdu.is_receipt:
                reports.append(report_from_pdu(pdu))
                if len(reports) == 40:
                    all_receipts.set()
            else:
                whole = reassembler.add(pdu.source_addr, user_data_from_pdu(pdu), 0.0)
                if whole is not None:
                    texts.append(whole)
                    mo_done.set()

        try:
            await asyncio.sleep(0.1)
            async with SmppClient(
                "127.0.0.1", smsc.port, "user", "pw", window=5, on_deliver=on_deliver
            ) as client:
                await client.wait_bound(5)
                resps = await asyncio.gather(
                    *(
                        client.submit(
                            SubmitSm(
                                source_addr="Acme",
                                source_addr_ton=5,
                                dest_addr_ton=1,
                                dest_addr_npi=1,
                                destination_addr="491701234567",
                                short_message=f"message {i}".encode(),
                                registered_delivery=1,
                            )
                        )
                        for i in range(40)
                    )
                )
                assert all(r.command_status == 0 for r in resps)
                ids = {r.message_id for r in resps}
                assert len(ids) == 40
                assert smsc.peak <= 5 and client.stats.peak_outstanding == 5
                await asyncio.wait_for(all_receipts.wait(), 5)
                assert {r.message_id for r in reports} == ids
                assert {r.outcome for r in reports} == {"delivered"}
                text = "Hello from a phone. " * 12  # 240 chars: 2 parts
                await smsc.mo(text, PHONE, NUMBER, order=[1, 0])
                await asyncio.wait_for(mo_done.wait(), 5)
                assert texts == [text]
        finally:
            serving.cancel()
            await smsc.server.stop()

    asyncio.run(main())


class SmscThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.smsc = Smsc(free_port())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.task = asyncio.run_coroutine_threadsafe(self.smsc.serve(), self.loop)
        time.sleep(0.2)

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            await self.smsc.server.stop()

        self.task.cancel()
        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def smsc() -> Iterator[SmscThread]:
    s = SmscThread()
    yield s
    s.close()


def test_the_product_delivers_and_receives_through_smpp34(
    server_factory: type[Server], smsc: SmscThread
) -> None:
    server = server_factory(
        env={"SMSSTREAMS_CONNECTOR_POLL_SECONDS": "0.2", "SMSSTREAMS_CONNECTOR_LEASE_SECONDS": "3"}
    ).start()
    server.cli(
        "connector", "add", "rust", "--host", "127.0.0.1", "--port", str(smsc.smsc.port),
        "--system-id", "user", "--password", "pw",
    )  # fmt: skip
    server.cli("route", "add", "+", "rust")
    api = Api(server)
    api.sender(NUMBER)
    _, token = api.stream(demo=False, default_sender=NUMBER, direction="two_way")
    assert token
    long_text = "".join(f"{i:03d} " for i in range(50))  # 200 chars: 2 parts
    r = api.send(token, msg("a"), msg("b", text=long_text))
    assert r.status_code == 202, r.text
    for item in r.json()["messages"]:
        data = api.wait_status(token, item["message_uuid"], {"delivered", "sent_failed"})
        assert data["status"] == "delivered", data
        assert data["channel"] == "smpp:rust"
    assert len(smsc.smsc.submits) == 3
    text = "An answer in two parts, sent out of order by another SMSC. " * 3
    smsc.run(smsc.smsc.mo(text, PHONE, NUMBER, order=[1, 0]))
    deadline = time.monotonic() + 10
    while True:
        got = httpx.get(server.url + "/api/v1/sms/inbound", headers={"Authorization": token})
        data = got.json()["data"]
        if data or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [m["text"] for m in data] == [text]
    api.close()
