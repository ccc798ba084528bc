"""SMPP mode: Send API -> dispatch -> SMPP to the SMSC simulator -> receipts -> delivered.

``python -m bench.smpp`` starts the simulator (``smsstreams smsc-sim``, its own process),
a fresh server on a throwaway database, one connector (window 50 by default) and a route
for every destination, then sends N messages (default 20,000) through the Send API with the
benchmark's load generator (its own process) and waits until every message is
``delivered``. It prints:

* accepted msg/s -- Send API, as the load generator saw it;
* submit msg/s on the bind -- ``sent`` events over the time from the first to the last;
* time until all delivered -- from the first accept, and after the last accept;
* end-to-end msg/s -- messages / (last delivered - first accepted);
* CPU seconds and peak RSS of the server, the simulator and the load generator.

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.loadgen import LoadConfig
from bench.run import Deadline, run_load, wait_idle
from bench.server import (
    BenchError,
    BenchServer,
    cpu_seconds,
    free_port,
    peak_rss_mb,
    postgres_cpu_seconds,
    postgres_unavailable,
    request,
)

ROOT = Path(__file__).resolve().parent.parent
OPERATOR_KEY = "bench-operator-key"
SHAPES = {"single": (1, 50), "batch": (100, 10)}
FINAL = ("delivered", "undelivered", "expired", "rejected", "sent_failed", "no_routes")


class Simulator:
    """``smsstreams smsc-sim`` in its own process."""

    def __init__(self, receipt_delay: float) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smsstreams.cli", "smsc-sim", "--port", str(self.port),
             "--receipt-delay", str(receipt_delay), "--stats-interval", "3600"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening" not in line:
            self.close()
            raise BenchError(f"the simulator did not start: {line!r}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _cli(server: BenchServer, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "smsstreams.cli", *args],
        env=server.env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise BenchError(f"smsstreams {' '.join(args[:2])} failed: {out.stderr.strip()}")
    return out.stdout


def _connector(server: BenchServer) -> dict[str, Any]:
    status, body = request(
        server.port,
        "GET",
        "/api/v1/operator/connectors",
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
    )
    if status != 200:
        raise BenchError(f"operator API: HTTP {status}: {body!r}")
    return dict(body["data"][0])


def _carrier_stream(server: BenchServer) -> tuple[str, str, str]:
    """The benchmark's stream, switched to carrier (non-demo) sending."""
    stream = server.setup_stream("bench-smpp")
    auth = {"Authorization": f"Bearer {stream.api_key}"}
    status, body = request(
        server.port, "PATCH", f"/api/v1/streams/{stream.stream_id}", {"demo": False}, auth
    )
    if status != 200 or body["stream"]["demo"] is not False:
        raise BenchError(f"PATCH stream: HTTP {status}: {body!r}")
    return stream.api_key, stream.stream_id, stream.token


def _timeline(database_url: str) -> dict[str, Any]:
    """First/last time of each status from the events table, and the final counts."""
    from smsstreams.db.engine import make_engine
    from smsstreams.db.models import Message, MessageEvent

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            spans = {
                status: (first, last, n)
                for status, first, last, n in conn.execute(
                    select(
                        MessageEvent.status,
                        func.min(MessageEvent.at),
                        func.max(MessageEvent.at),
                        func.count(),
                    ).group_by(MessageEvent.status)
                )
            }
            first_accept = conn.scalar(select(func.min(Message.created_at)))
            counts = dict(
                conn.execute(select(Message.status, func.count()).group_by(Message.status)).all()
            )
    finally:
        engine.dispose()
    return {"spans": spans, "first_accept": first_accept, "counts": counts}


def run(db: str, args: argparse.Namespace, deadline: Deadline) -> dict[str, Any]:
    per_request, concurrency = SHAPES[args.shape]
    out: dict[str, Any] = {"db": db, "shape": args.shape, "window": args.window}
    if args.wait_idle > 0:
        wait_idle(args.wait_idle, deadline)
    sim = Simulator(args.receipt_delay)
    server = None
    try:
        env = {
            "SMSSTREAMS_OPERATOR_KEY": OPERATOR_KEY,
            "SMSSTREAMS_CONNECTOR_POLL_SECONDS": "0.5",
            **args.server_env,
        }
        server = BenchServer(db, label=f"smpp-{db}", extra_env=env)
        server.start(timeout=deadline.left(60))
        _cli(server, "connector", "add", "sim", "--host", "127.0.0.1", "--port",
             str(sim.port), "--system-id", "bench", "--password", "bench",
             "--window", str(args.window))  # fmt: skip
        _cli(server, "route", "add", "+", "sim")
        _, _, token = _carrier_stream(server)
        give_up = time.monotonic() + 15
        while _connector(server)["state"] != "bound":
            if time.monotonic() > give_up:
                raise BenchError(f"the connector did not bind: {_connector(server)}")
            time.sleep(0.2)
        time.sleep(2.5)  # the Send API's token cache forgets the stream's demo flag
        cfg = LoadConfig(
            port=server.port,
            token=token,
            messages=args.messages,
            per_request=per_request,
            concurrency=concurrency,
            tag=f"smpp-{os.getpid()}",
            overall_timeout=deadline.left(args.run_timeout),
        )
        cpu0 = {
            "server": cpu_seconds(server.pid),
            "sim": cpu_seconds(sim.pid),
            "postgres": postgres_cpu_seconds() if db == "postgres" else 0.0,
        }
        load, _, _ = run_load(cfg, server.pid, deadline)
        accepted = load["accepted"]
        give_up = time.monotonic() + args.delivery_timeout
        counts: dict[str, int] = {}
        while time.monotonic() < min(give_up, deadline.at):
            counts = _timeline(server.database_url)["counts"]
            if sum(counts.get(s, 0) for s in FINAL) >= accepted:
                break
            time.sleep(0.5)
        stats = _connector(server)["stats"]
        line = _timeline(server.database_url)
        spans = line["spans"]
        first_accept = line["first_accept"]
        sent_first, sent_last, sent_n = spans.get("sent", (None, None, 0))
        _, dlv_last, dlv_n = spans.get("delivered", (None, None, 0))
        duration = load["duration_s"] or float("nan")
        out.update(
            messages=args.messages,
            accepted=accepted,
            errors=load["http_errors"] + load["transport_errors"],
            accepted_per_s=accepted / duration,
            load_s=duration,
            sent=sent_n,
            submit_per_s=sent_n / (sent_last - sent_first).total_seconds() if sent_n > 1 else None,
            delivered=dlv_n,
            counts=line["counts"],
            all_delivered_s=(dlv_last - first_accept).total_seconds() if dlv_n else None,
            after_last_accept_s=(dlv_last - first_accept).total_seconds() - duration
            if dlv_n
            else None,
            end_to_end_per_s=dlv_n / (dlv_last - first_accept).total_seconds() if dlv_n else None,
            peak_outstanding=stats.get("peak_outstanding"),
            throttled=stats.get("throttled"),
            cpu_s={
                "server": cpu_seconds(server.pid) - cpu0["server"],
                "simulator": cpu_seconds(sim.pid) - cpu0["sim"],
                "loadgen": load["cpu_s"],
                **(
                    {"postgres": postgres_cpu_seconds() - cpu0["postgres"]}
                    if db == "postgres"
                    else {}
                ),
            },
            peak_rss_mb={"server": peak_rss_mb(server.pid), "simulator": peak_rss_mb(sim.pid)},
        )
        if dlv_n < accepted:
            out["error"] = f"only {dlv_n} of {accepted} delivered: {line['counts']}"
    except BenchError as exc:
        out["error"] = str(exc)
    finally:
        if server is not None:
            if "error" in out:
                out["server_log"] = server.log_tail(20)
            server.close()
        sim.close()
    return out


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(r: dict[str, Any]) -> str:
    if "accepted" not in r:
        return f"{r['db']}: {r.get('error')}\n{r.get('server_log', '')}"
    cpu, rss = r["cpu_s"], r["peak_rss_mb"]
    lines = [
        f"SMPP benchmark: {r['db']}, {r['shape']} requests, window {r['window']}, "
        f"{r['accepted']:,} of {r['messages']:,} messages accepted ({r['errors']} errors)",
        f"  accepted (Send API)          {_fmt(r['accepted_per_s'], ',.0f')} msg/s "
        f"over {r['load_s']:.2f} s",
        f"  submitted on the bind        {_fmt(r['submit_per_s'], ',.0f')} msg/s "
        f"(first to last submit_sm_resp recorded; peak window use {r['peak_outstanding']})",
        f"  all delivered after          {_fmt(r['all_delivered_s'], '.2f')} s from the first "
        f"accept ({_fmt(r['after_last_accept_s'], '.2f')} s after the last)",
        f"  end to end                   {_fmt(r['end_to_end_per_s'], ',.0f')} msg/s "
        f"(delivered / (last receipt - first accept))",
        f"  statuses                     {r['counts']}",
        f"  CPU s (load to delivered)    server {cpu['server']:.1f}, simulator "
        f"{cpu['simulator']:.1f}, load generator {cpu['loadgen']:.2f}"
        + (f", postgres {cpu['postgres']:.1f}" if "postgres" in cpu else ""),
        f"  peak RSS MB                  server {rss['server']:.0f}, simulator "
        f"{rss['simulator']:.0f}",
    ]
    if r.get("error"):
        lines.append(f"  ERROR: {r['error']}\n{r.get('server_log', '')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.smpp", description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--shape", choices=sorted(SHAPES), default="batch",
                   help="batch: 100 messages per request at 10 connections (default); "
                   "single: 1 at 50")  # fmt: skip
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument("--window", type=int, default=50)
    p.add_argument("--receipt-delay", type=float, default=0.0, metavar="S")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--run-timeout", type=float, default=300)
    p.add_argument("--delivery-timeout", type=float, default=180)
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="S",
        help="first wait up to S seconds for other processes to leave the CPUs idle",
    )
    p.add_argument("--server-env", action="append", default=[], metavar="SMSSTREAMS_X=V")
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    args = p.parse_args(argv)
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and (why := postgres_unavailable()):
        print(f"PostgreSQL skipped: {why}", file=sys.stderr)
        dbs.remove("postgres")
    deadline = Deadline(args.timeout)
    results = []
    for db in dbs:
        result = run(db, args, deadline)
        results.append(result)
        print(report(result), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
