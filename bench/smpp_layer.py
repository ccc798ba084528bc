"""SMPP layer alone: our asyncio client (codec + session) against the SMSC simulator.

``python -m bench.smpp_layer`` starts the simulator (``smsstreams smsc-sim``, its own
process, receipts at once unless ``--receipt-delay``), binds one transceiver with a window
(50 by default) and sends N submit_sm (default 20,000) with ``registered_delivery``,
keeping the window full. A round trip is submit_sm -> submit_sm_resp -> the receipt's
deliver_sm -> our deliver_sm_resp. It prints a table: round trips per second (first submit
to last receipt), submit_sm_resp per second, submit latency p50/p99, CPU seconds of the
client and the simulator, and the peak window use.

No database and no HTTP: this is the ceiling the carrier path works under (issue 6 asks
for at least 10,000 round trips per second on a 2-core machine). Traffic stays on
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.loadgen import _use_uvloop
from bench.server import BenchError, cpu_seconds
from bench.smpp import Simulator
from smsstreams.smpp.client import SmppClient
from smsstreams.smpp.pdu import DataSm, DeliverSm, SubmitSm


def _submit_sm(i: int) -> SubmitSm:
    return SubmitSm(
        source_addr="12025550100",
        source_addr_ton=1,
        source_addr_npi=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=f"4917{i % 10_000_000:08d}",
        short_message=f"Your code is {i % 1_000_000:06d}".encode(),
        registered_delivery=1,
    )


async def run_layer(port: int, messages: int, window: int, give_up_s: float) -> dict[str, Any]:
    receipts = 0
    all_receipts = asyncio.Event()
    latencies: list[float] = []
    peak = 0

    async def on_deliver(pdu: DeliverSm | DataSm) -> None:
        nonlocal receipts
        receipts += 1
        if receipts >= messages:
            all_receipts.set()

    client = SmppClient(
        "127.0.0.1", port, "bench", "bench", window=window, on_deliver=on_deliver,
        response_timeout=30.0, submit_timeout=give_up_s,
    )  # fmt: skip
    async with client:
        await client.wait_bound(10.0)
        pdus = [_submit_sm(i) for i in range(messages)]
        next_index = 0
        cpu_before = time.process_time()
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal next_index, peak
            while next_index < messages:
                pdu = pdus[next_index]
                next_index += 1
                sent = time.perf_counter()
                resp = await client.submit(pdu)
                latencies.append(time.perf_counter() - sent)
                peak = max(peak, client.outstanding + 1)
                if resp.command_status != 0:
                    raise BenchError(f"submit refused: status {resp.command_status:#x}")

        # as many senders as the window: the client's own window keeps the rest waiting
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(window))), give_up_s)
        resps_done = time.perf_counter()
        await asyncio.wait_for(all_receipts.wait(), give_up_s)
        finished = time.perf_counter()
        client_cpu = time.process_time() - cpu_before
    latencies.sort()
    return {
        "messages": messages,
        "window": window,
        "round_trips_per_s": messages / (finished - started),
        "resps_per_s": messages / (resps_done - started),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "seconds": finished - started,
        "client_cpu_s": client_cpu,
        "peak_window": min(peak, window),
        "receipts": receipts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.smpp_layer",
        description="SMPP layer alone: client (codec + session) to the SMSC simulator.",
    )
    parser.add_argument("--messages", type=int, default=20_000, help="submits (default 20,000)")
    parser.add_argument("--window", type=int, default=50, help="outstanding requests (50)")
    parser.add_argument("--receipt-delay", type=float, default=0.0, metavar="S")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after S seconds")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 1_000_000 or not 1 <= args.window <= 1000:
        parser.error("--messages must be 1..1,000,000 and --window 1..1000")
    _use_uvloop()
    sim = Simulator(args.receipt_delay)
    try:
        sim_cpu_before = cpu_seconds(sim.pid)
        result = asyncio.run(run_layer(sim.port, args.messages, args.window, args.timeout))
        result["simulator_cpu_s"] = cpu_seconds(sim.pid) - sim_cpu_before
    except (BenchError, TimeoutError) as exc:
        print(f"bench.smpp_layer: {exc or 'timed out'}", file=sys.stderr)
        return 1
    finally:
        sim.close()
    result["client_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    header = (
        f"{'msgs':>6}  {'window':>6}  {'round trips/s':>13}  {'resps/s':>8}  {'p50 ms':>6}  "
        f"{'p99 ms':>6}  {'client cpu s':>12}  {'sim cpu s':>9}  {'peak window':>11}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{result['messages']:>6}  {result['window']:>6}  {result['round_trips_per_s']:>13,.0f}  "
        f"{result['resps_per_s']:>8,.0f}  {result['p50_ms']:>6.2f}  {result['p99_ms']:>6.2f}  "
        f"{result['client_cpu_s']:>12.2f}  {result['simulator_cpu_s']:>9.2f}  "
        f"{result['peak_window']:>11}"
    )
    met = "yes" if result["round_trips_per_s"] >= 10_000 else "NO"
    print(f"\ntarget (issue 6): >= 10,000 round trips/s on this machine: {met}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
