"""Targets from the core issue, and the plain-text tables the benchmark prints."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

#: (shape, label, result key, comparison, threshold) — issue 3, "Benchmark (not a test)".
TARGETS: list[tuple[str, str, str, str, float]] = [
    ("single", "accepted msg/s >= 2,000", "msg_per_s", ">=", 2000),
    ("single", "p99 latency < 50 ms", "p99_ms", "<", 50),
    ("single", "all delivered <= 5 s after last accept", "delivery_s", "<=", 5),
    ("batch", "accepted msg/s >= 20,000", "msg_per_s", ">=", 20000),
    ("batch", "all delivered <= 5 s after last accept", "delivery_s", "<=", 5),
]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

COLUMNS: list[tuple[str, str, str]] = [
    # header, key, format
    ("db", "db", "s"),
    ("shape", "shape", "s"),
    ("conc", "concurrency", "d"),
    ("msgs", "accepted", "d"),
    ("req/s", "req_per_s", ",.0f"),
    ("msg/s", "msg_per_s", ",.0f"),
    ("p50 ms", "p50_ms", ".1f"),
    ("p95 ms", "p95_ms", ".1f"),
    ("p99 ms", "p99_ms", ".1f"),
    ("errors", "errors", "d"),
    ("deliver s", "delivery_s", ".2f"),
    ("srv cpu s", "server_cpu_load_s", ".1f"),
    ("(to dlvd)", "server_cpu_total_s", ".1f"),
    ("srv cores", "server_cores", ".2f"),
    ("rss MB", "server_peak_rss_mb", ".0f"),
    ("lg cpu s", "loadgen_cpu_s", ".1f"),
    ("pg cpu s", "postgres_cpu_s", ".1f"),
    ("other cpu s", "other_cpu_s", ".1f"),
    ("busy cores", "machine_cores", ".2f"),
]


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 0) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i >= right_from else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def results_table(runs: Sequence[dict[str, Any]]) -> str:
    rows = []
    for run in runs:
        if run.get("error"):
            rows.append([run["db"], run["shape"], "failed: see below", *[""] * (len(COLUMNS) - 3)])
        else:
            rows.append([_fmt(run.get(key), spec) for _, key, spec in COLUMNS])
    return table([h for h, _, _ in COLUMNS], rows, right_from=2)


def evaluate(run: dict[str, Any]) -> list[dict[str, Any]]:
    """One verdict per target that applies to this run's shape."""
    verdicts = []
    for shape, label, key, op, threshold in TARGETS:
        if shape != run["shape"]:
            continue
        value = run.get(key)
        met = value is not None and not run.get("error") and _OPS[op](value, threshold)
        if key == "delivery_s" and run.get("delivered", 0) < run.get("accepted", 0):
            met = False
        verdicts.append({"target": label, "key": key, "value": value, "met": met})
    return verdicts


def targets_table(runs: Sequence[dict[str, Any]]) -> str:
    rows = []
    for run in runs:
        for v in run.get("targets", []):
            if v["value"] is None:
                measured = "not reached" if v["key"] == "delivery_s" else "-"
            else:
                measured = _fmt(v["value"], ",.0f" if v["key"] == "msg_per_s" else ".2f")
            rows.append(
                [run["db"], run["shape"], v["target"], measured, "yes" if v["met"] else "NO"]
            )
    return table(["db", "shape", "target", "measured", "met"], rows, right_from=3)
