"""The SMSC simulator on its own event loop in a thread of the test process.

The server under test (a subprocess) binds to it over real TCP on 127.0.0.1; the test
inspects and steers it (inject MO, change fault switches) through :meth:`SimThread.call`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from smsstreams.smpp.smsc_sim import SimConfig, SmscSimulator

T = TypeVar("T")


class SimThread:
    def __init__(
        self, config: SimConfig | None = None, sim_class: type[SmscSimulator] = SmscSimulator
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.sim = sim_class(config or SimConfig())
        self._thread = threading.Thread(target=self.loop.run_forever, name="smsc-sim", daemon=True)
        self._thread.start()
        self.port = self.run(self.sim.start())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout)

    def wait(self, predicate: Callable[[], bool], within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while not self.call(predicate):
            if time.monotonic() > deadline:
                raise AssertionError("the simulator did not reach the expected state in time")
            time.sleep(0.05)

    def bound(self, system_id: str | None = None) -> int:
        """Bound connections now (call it inside ``call`` / ``wait`` predicates)."""
        return sum(
            1
            for c in self.sim.connections
            if c.session.bound and not c.closed and (system_id in (None, c.system_id))
        )

    def close(self) -> None:
        try:
            self.run(self.sim.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()
