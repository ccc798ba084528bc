"""The Carriers page in Chromium, against a real server bound to the SMSC simulator.

An operator signs in, opens Carriers from the sidebar and sees one connector bound to the
simulator and one that cannot connect, with its error; traffic shows up in the counters,
the rate and the sparkline without a reload. Disable and Enable work from the buttons
(flash, unbind, bind again), and when the simulator stops, the connector's state changes on
the open page. A customer who is not an operator has no Carriers link and gets 404.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from smsstreams.smpp.smsc_sim import SimConfig
from tests.support.api import Api, msg
from tests.support.databases import sqlite_url
from tests.support.server import Server, free_port
from tests.support.smsc import SimThread

from .conftest import Console, console_tabs

pytestmark = pytest.mark.timeout(180)

PASSWORD = "correct horse"
NUMBER = "12025550142"
CARRIER_ENV = {
    "SMSSTREAMS_CONNECTOR_POLL_SECONDS": "0.2",
    "SMSSTREAMS_CONNECTOR_LEASE_SECONDS": "3",
    "SMSSTREAMS_SMPP_BIND_GRACE_SECONDS": "0.5",
    "SMSSTREAMS_SMPP_RESPONSE_TIMEOUT_SECONDS": "2",
    "SMSSTREAMS_SMPP_RECONNECT_MAX_SECONDS": "1",
}


@pytest.fixture(scope="module")
def carrier_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("carriers")
    server = Server(sqlite_url(root), root / "data", dict(CARRIER_ENV)).start()
    yield server
    server.kill()


@pytest.fixture
def sim() -> Iterator[SimThread]:
    s = SimThread(SimConfig(credentials={"user": "secret"}, receipt_delay=0.3))
    yield s
    s.close()


@pytest.fixture
def open_console(browser: Browser, carrier_server: Server) -> Iterator[Callable[..., Console]]:
    yield from console_tabs(browser, carrier_server)


def _operator(server: Server) -> dict[str, Any]:
    email = f"ops-{time.monotonic_ns()}@example.test"
    out = server.cli(
        "account", "create", "--name", "Platform Ops", "--email", email,
        "--password", PASSWORD, "--operator", "--json",
    )  # fmt: skip
    account: dict[str, Any] = json.loads(out.stdout)
    account["email"] = email
    return account


def _traffic(api: Api, token: str, seconds: float, stop: threading.Event) -> None:
    """A few messages every half second, in waves, so the sparkline has a shape."""
    started = time.monotonic()
    n = 0
    while not stop.is_set() and time.monotonic() - started < seconds:
        wave = 2 + int(6 * abs(((time.monotonic() - started) % 10) - 5) / 5)
        batch = [msg(f"m{n + i}") for i in range(wave)]
        n += wave
        assert api.send(token, *batch).status_code == 202
        time.sleep(0.5)


def test_operator_watches_and_switches_connectors(
    open_console: Callable[[], Console],
    carrier_server: Server,
    sim: SimThread,
    screenshots: Path,
) -> None:
    server = carrier_server
    account = _operator(server)
    down_port = free_port()  # nothing listens there
    for name, port in (("carrier-a", sim.port), ("carrier-b", down_port)):
        server.cli(
            "connector", "add", name, "--host", "127.0.0.1", "--port", str(port),
            "--system-id", "user", "--password", "secret", "--window", "20",
        )  # fmt: skip
    server.cli("route", "add", "+", "carrier-a", "carrier-b")
    server.cli("route", "add", "+44", "carrier-b")
    sim.wait(lambda: sim.bound("user") == 1)

    console = open_console()
    page = console.page
    console.sign_in(account["email"], PASSWORD)
    expect(page).to_have_url(console.url + "/streams")
    page.get_by_role("link", name="Carriers").click()
    expect(page).to_have_url(console.url + "/operator/connectors")
    expect(page.get_by_role("heading", name="Carriers", exact=True)).to_be_visible()

    a = page.locator("#connector-carrier-a")
    b = page.locator("#connector-carrier-b")
    expect(a.locator(".badge")).to_have_text("Bound")
    expect(a).to_contain_text(f"127.0.0.1:{sim.port}")
    expect(a).to_contain_text("transceiver")
    expect(b.locator(".badge")).to_have_text(re.compile("Down|Connecting"))
    expect(b.locator(".cell-error")).to_contain_text("cannot connect")
    routes = page.get_by_role("region", name="Routes")
    expect(routes.locator("tr", has_text="every destination")).to_contain_text("carrier-a")
    expect(routes).to_contain_text("+44")
    assert "secret" not in page.content()

    # -- traffic shows up on the open page: counters, rate, sparkline -------------------------
    page.evaluate("window.__sameDocument = true")
    api = Api(server, account)
    api.sender(NUMBER)
    _, token = api.stream(demo=False, default_sender=NUMBER)
    assert token
    stop = threading.Event()
    sender = threading.Thread(target=_traffic, args=(api, token, 16, stop), daemon=True)
    sender.start()
    try:
        expect(a.locator("[data-counter=sent] strong")).not_to_have_text("0", timeout=15_000)
        expect(a.locator(".rate strong")).not_to_have_text(re.compile(r"^0(\.0+)?$"))
        sender.join(30)
    finally:
        stop.set()
        sender.join(10)
        api.close()
    expect(a.locator("svg.spark")).to_have_attribute(
        "aria-label", re.compile(r"peak [1-9]"), timeout=15_000
    )
    sent = int(a.locator("[data-counter=sent] strong").inner_text().replace(",", ""))
    assert sent > 20
    expect(a.locator("[data-counter=receipts] strong")).not_to_have_text("0")
    expect(a.locator("[data-counter=failed] strong")).to_have_text("0")
    assert page.evaluate("window.__sameDocument") is True  # no reload: htmx polling
    page.mouse.move(0, 0)
    console.screenshot(screenshots / "7-carriers.png")

    # -- Disable: flash, unbound, routes skip it ------------------------------------------------
    page.get_by_role("button", name="Disable carrier-a").click()
    expect(page.locator(".flash-success")).to_contain_text("Connector carrier-a disabled")
    expect(a.locator(".badge")).to_have_text("Disabled")
    expect(a.locator(".rate")).to_have_count(0)
    sim.wait(lambda: sim.bound("user") == 0)

    # -- Enable: the state goes to Bound by itself ---------------------------------------------
    page.get_by_role("button", name="Enable carrier-a").click()
    expect(page.locator(".flash-success")).to_contain_text("Connector carrier-a enabled")
    page.evaluate("window.__sameDocument = true")
    expect(a.locator(".badge")).to_have_text("Bound", timeout=15_000)
    sim.wait(lambda: sim.bound("user") == 1)
    expect(page.get_by_role("button", name="Disable carrier-a")).to_be_visible()

    # -- the SMSC goes away: the open page shows it -------------------------------------------
    sim.run(sim.sim.stop())
    expect(a.locator(".badge")).to_have_text(re.compile("Down|Connecting"), timeout=15_000)
    expect(a.locator(".cell-error")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True

    # -- the remove dialog stays open while the table refreshes behind it ----------------------
    page.get_by_role("button", name="Remove carrier-b").click()
    dialog = page.get_by_role("dialog", name="Remove carrier-b?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Routes +, +44 use it")
    page.wait_for_timeout(2500)  # longer than a poll
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Remove connector").click()
    expect(page.locator(".flash-error")).to_contain_text("used by route(s) +, +44")


def test_customers_have_no_carriers_page(
    open_console: Callable[[], Console], carrier_server: Server
) -> None:
    account = carrier_server.create_account("Customer")
    console = open_console()
    page = console.page
    console.sign_in(account["email"], PASSWORD)
    expect(page).to_have_url(console.url + "/streams")
    expect(page.get_by_role("link", name="Streams API")).to_be_visible()
    expect(page.get_by_role("link", name="Carriers")).to_have_count(0)
    response = console.goto("/operator/connectors")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
