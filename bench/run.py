"""Orchestration: for each database x shape, a fresh server, one load run, then the receipts.

The orchestrator itself stays idle while the load runs (it waits on the load generator's
pipe), so the two cores belong to the server and the load generator.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

from .loadgen import LoadConfig
from .report import evaluate, results_table, targets_table
from .server import (
    BenchError,
    BenchServer,
    Stream,
    cpu_seconds,
    machine_busy_seconds,
    peak_rss_mb,
    postgres_admin_url,
    postgres_cpu_seconds,
    postgres_unavailable,
    request,
)

ROOT = Path(__file__).resolve().parent.parent
#: shape -> (messages per request, concurrent connections), as the issue sets them.
SHAPES = {"single": (1, 50), "batch": (100, 10)}
POLL_S = 0.1
DELIVERY_GIVE_UP_S = 120.0
RESERVED_ENV = {
    "SMSSTREAMS_DATABASE_URL",
    "SMSSTREAMS_DATA_DIR",
    "SMSSTREAMS_HOST",
    "SMSSTREAMS_PORT",
    "SMSSTREAMS_CONFIG",
}
QUIET_SAMPLE_S = 1.0
QUIET_MAX_CORES = 0.15
FINAL = ("delivered", "undelivered", "expired", "rejected", "sent_failed", "no_routes")


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self, cap: float = float("inf")) -> float:
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise BenchError("overall time limit reached (--timeout)")
        return min(remaining, cap)


def run_load(
    cfg: LoadConfig, server_pid: int, deadline: Deadline
) -> tuple[dict[str, Any], float, float]:
    """Run the load generator; returns its result, and the CPU s of the server and of the whole
    machine during the load (the result also gets ``postgres_cpu_s``: all postgres processes).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(deadline.left(cfg.overall_timeout + 60), proc.kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(asdict(cfg)) + "\n")
        proc.stdin.flush()
        if proc.stdout.readline().strip() != "ready":
            raise BenchError(f"load generator did not start (exit code {proc.wait(5)})")
        before = cpu_seconds(server_pid), machine_busy_seconds(), postgres_cpu_seconds()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        after = cpu_seconds(server_pid), machine_busy_seconds(), postgres_cpu_seconds()
        if not line:
            raise BenchError(f"load generator died (exit code {proc.wait(5)}; killed at timeout?)")
        proc.wait(timeout=10)
        server_cpu, busy, pg_cpu = (a - b for a, b in zip(after, before, strict=True))
        result: dict[str, Any] = json.loads(line)
        result["postgres_cpu_s"] = pg_cpu
        return result, server_cpu, busy
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # interrupted or failed: stop the load at once
            proc.kill()
            proc.wait()


def wait_delivered(
    server: BenchServer,
    stream: Stream,
    accepted: int,
    last_accept: float,
    deadline: Deadline,
    limit: float = DELIVERY_GIVE_UP_S,
) -> dict[str, Any]:
    """Poll the stream's counts every 100 ms until all accepted messages are delivered."""
    out: dict[str, Any] = {"delivery_s": None, "dispatched_s": None, "counts": {}}
    if not accepted:
        return out
    give_up = last_accept + limit
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    headers = {"Authorization": f"Bearer {stream.api_key}"}
    try:
        while time.monotonic() < min(give_up, deadline.at):
            try:
                status, body = request(
                    server.port, "GET", f"/api/v1/streams/{stream.stream_id}/stats",
                    headers=headers, conn=conn,
                )  # fmt: skip
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                time.sleep(POLL_S)
                continue
            now = time.monotonic()
            if status == 200:
                counts = out["counts"] = body["counts"]
                if out["dispatched_s"] is None and counts.get("queued", 0) == 0:
                    out["dispatched_s"] = now - last_accept
                if counts.get("delivered", 0) >= accepted:
                    out["delivery_s"] = now - last_accept
                    break
                if sum(counts.get(s, 0) for s in FINAL) >= accepted:
                    break  # all final, some not delivered
            time.sleep(POLL_S)
    finally:
        conn.close()
    return out


def wait_idle(limit: float, deadline: Deadline) -> float:
    """Wait up to ``limit`` s until other processes leave the CPUs idle; returns busy cores."""
    give_up = time.monotonic() + min(limit, deadline.left())
    while True:
        before = machine_busy_seconds()
        time.sleep(QUIET_SAMPLE_S)
        cores = (machine_busy_seconds() - before) / QUIET_SAMPLE_S
        if cores <= QUIET_MAX_CORES or time.monotonic() >= give_up:
            return cores


def run_one(db: str, shape: str, args: argparse.Namespace, deadline: Deadline) -> dict[str, Any]:
    per_request, concurrency = SHAPES[shape]
    run: dict[str, Any] = {"db": db, "shape": shape, "concurrency": concurrency}
    server: BenchServer | None = None
    try:
        if args.wait_idle > 0:
            wait_idle(args.wait_idle, deadline)
        server = BenchServer(db, label=f"{db}-{shape}", extra_env=args.server_env)
        server.start(timeout=deadline.left(60))
        stream = server.setup_stream(f"bench-{shape}")
        cfg = LoadConfig(
            port=server.port,
            token=stream.token,
            messages=args.messages,
            per_request=per_request,
            concurrency=concurrency,
            tag=f"{shape}-{os.getpid()}",
            overall_timeout=deadline.left(args.run_timeout),
        )
        busy_before = machine_busy_seconds()
        time.sleep(QUIET_SAMPLE_S)  # the server is idle now: whatever runs is someone else's
        quiet_cores = (machine_busy_seconds() - busy_before) / QUIET_SAMPLE_S
        if quiet_cores > QUIET_MAX_CORES:
            run["note"] = (
                f"the machine was not idle before the load ({quiet_cores:.2f} cores busy "
                "with the server idle): other processes share the CPUs, numbers are disturbed"
            )
        cpu_start = cpu_seconds(server.pid)
        load, cpu_load, machine_busy = run_load(cfg, server.pid, deadline)
        pg_cpu = load["postgres_cpu_s"]
        done = wait_delivered(
            server,
            stream,
            load["accepted"],
            load["last_accept_mono"],
            deadline,
            args.delivery_timeout,
        )
        duration = load["duration_s"] or float("nan")
        run.update(
            requested=args.messages,
            accepted=load["accepted"],
            requests=load["requests"],
            req_per_s=load["responses"] / duration,
            msg_per_s=load["accepted"] / duration,
            duration_s=load["duration_s"],
            p50_ms=load["latency_ms"]["p50"],
            p95_ms=load["latency_ms"]["p95"],
            p99_ms=load["latency_ms"]["p99"],
            max_ms=load["latency_ms"]["max"],
            errors=load["http_errors"] + load["transport_errors"],
            http_errors=load["http_errors"],
            transport_errors=load["transport_errors"],
            refused_messages=load["refused_messages"],
            load_timed_out=load["timed_out"],
            status_counts=load["status_counts"],
            error_samples=load["error_samples"],
            accepted_per_second=load["per_second"],
            slowest_requests=[{"ms": ms, "at_s": at} for ms, at in load["slowest"]],
            delivery_s=done["delivery_s"],
            dispatched_s=done["dispatched_s"],
            delivered=done["counts"].get("delivered", 0),
            final_counts=done["counts"],
            server_cpu_load_s=cpu_load,
            server_cpu_total_s=cpu_seconds(server.pid) - cpu_start,
            server_cores=cpu_load / duration,
            server_peak_rss_mb=peak_rss_mb(server.pid),
            loadgen_cpu_s=load["cpu_s"],
            machine_busy_s=machine_busy,
            postgres_cpu_s=pg_cpu if db == "postgres" else None,
            other_cpu_s=max(0.0, machine_busy - cpu_load - load["cpu_s"] - pg_cpu),
            machine_cores=machine_busy / duration,
            busy_cores_before=quiet_cores,
        )
        other_cores = run["other_cpu_s"] / duration
        if other_cores > QUIET_MAX_CORES:
            note = f"other processes kept {other_cores:.2f} cores busy during the load"
            run["note"] = f"{run['note']}; {note}" if run.get("note") else note
        if server.process and server.process.poll() is not None:
            run["error"] = f"server exited during the run:\n{server.log_tail()}"
    except BenchError as exc:
        run["error"] = str(exc)
    finally:
        if server is not None:
            server.close()
    run["targets"] = evaluate(run)
    return run


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the Send hot path against a local smsstreams server (127.0.0.1 "
        "only): SQLite always, PostgreSQL when reachable at SMSSTREAMS_TEST_POSTGRES_URL.",
    )
    p.add_argument("--messages", type=int, default=20_000, help="messages per run (default 20000)")
    p.add_argument(
        "--shape",
        choices=["single", "batch", "both"],
        default="both",
        help="single: 1 msg/request at 50 connections; batch: 100 at 10 (default both)",
    )
    p.add_argument(
        "--db",
        choices=["sqlite", "postgres", "both"],
        default="both",
        help="databases to run on (default both; PostgreSQL skipped when unreachable)",
    )
    p.add_argument("--json", metavar="FILE", type=Path, help="also write the results as JSON")
    p.add_argument("--timeout", type=float, default=1800, help="overall limit, s (default 1800)")
    p.add_argument(
        "--run-timeout", type=float, default=300, help="limit for one load run, s (default 300)"
    )
    p.add_argument(
        "--delivery-timeout",
        type=float,
        default=DELIVERY_GIVE_UP_S,
        metavar="S",
        help=f"give up on receipts S s after the last accept (default {DELIVERY_GIVE_UP_S:g})",
    )
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="S",
        help="before each run, wait up to S seconds for other processes to leave the CPUs idle",
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="SMSSTREAMS_X=V",
        help="extra server setting for experiments (repeatable); the defaults are the baseline",
    )
    args = p.parse_args(argv)
    for item in args.server_env:
        if not item.startswith("SMSSTREAMS_") or "=" not in item:
            p.error(f"--server-env takes SMSSTREAMS_NAME=value, got {item!r}")
        if item.split("=", 1)[0] in RESERVED_ENV:
            p.error(f"--server-env cannot change {item.split('=', 1)[0]}: the bench sets it")
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
    if not 1 <= args.messages <= 1_000_000:
        p.error("--messages must be between 1 and 1,000,000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    deadline = Deadline(args.timeout)
    shapes = ["single", "batch"] if args.shape == "both" else [args.shape]
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    notes = []
    if "postgres" in dbs:
        why = postgres_unavailable()
        if why:
            notes.append(f"PostgreSQL skipped: not reachable at {postgres_admin_url()}: {why}")
            dbs.remove("postgres")
            if not dbs:
                print(notes[0], file=sys.stderr)
                return 2
    plan = ", ".join(f"{d}/{s}" for d in dbs for s in shapes)
    if args.server_env:
        plan += (
            " (server settings: " + ", ".join(f"{k}={v}" for k, v in args.server_env.items()) + ")"
        )
    print(f"smsstreams bench: {args.messages:,} messages per run, {os.cpu_count()} CPUs: {plan}")
    runs: list[dict[str, Any]] = []
    interrupted = False
    try:
        for db in dbs:
            for shape in shapes:
                print(f"  {db}/{shape} ...", end="", flush=True)
                run = run_one(db, shape, args, deadline)
                runs.append(run)
                done = "failed" if run.get("error") else f"{run['msg_per_s']:,.0f} msg/s"
                print(f" {done}", flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: servers stopped, databases dropped", file=sys.stderr)
    except BenchError as exc:
        notes.append(str(exc))
    if runs:
        print()
        print(results_table(runs))
        print()
        print("Targets (issue 3, this 2-core machine, load generator included):")
        print(targets_table(runs))
    for run in runs:
        for key in ("error", "note"):
            if run.get(key):
                notes.append(f"{run['db']}/{run['shape']}: {run[key]}")
        if run.get("error_samples"):
            samples = "\n    ".join(run["error_samples"])
            notes.append(f"{run['db']}/{run['shape']}: first errors:\n    {samples}")
        if run.get("accepted") and run.get("delivered", 0) < run["accepted"]:
            notes.append(
                f"{run['db']}/{run['shape']}: delivered {run['delivered']} of {run['accepted']}; "
                f"last counts {run['final_counts']}"
            )
    if notes:
        print()
        print("\n".join(notes))
    if args.json:
        meta = {
            "messages": args.messages,
            "cpus": os.cpu_count(),
            "time": time.time(),
            "server_env": args.server_env,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "runs": runs, "notes": notes}, indent=2))
    if interrupted:
        return 130
    return 1 if any(r.get("error") for r in runs) or (notes and not runs) else 0
