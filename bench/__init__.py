"""Benchmark of the Send hot path (issue 3): ``python -m bench`` (or ``make bench``).

Not a test: it starts real servers on SQLite and PostgreSQL, drives them from a separate
load-generator process, and prints throughput, latency, delivery time, CPU and memory
against the targets. See ``docs/benchmarks.md``.
"""
