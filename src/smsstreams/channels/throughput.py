"""A held connector's recent throughput, kept in memory by the process that binds it.

The connector manager samples each link's cumulative counters at every poll (about once a
second, ``SMSSTREAMS_CONNECTOR_POLL_SECONDS``). :class:`Throughput` keeps the last few
minutes of those samples and sums them up for the operator: the rate over the last minute
and the counts per :data:`STEP`-second bucket for a sparkline. That summary goes into the
connector's ``live_stats`` with the rest of its live state, so any process (console,
operator API, CLI) can show it; nothing else is stored. A re-bound connector starts a new
history (its counters start again, too).

No I/O and no clock of its own: callers pass ``now`` (the event loop's monotonic time).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

#: seconds per sparkline bucket, and how many buckets (three minutes)
STEP: Final = 5.0
BUCKETS: Final = 36
#: the rate is averaged over this many seconds (less while the link is younger)
RATE_WINDOW: Final = 60.0


@dataclass(slots=True)
class Throughput:
    """Samples of (time, accepted, failed) counters, oldest first."""

    started: float
    step: float = STEP
    buckets: int = BUCKETS
    _samples: deque[tuple[float, int, int]] = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        self._samples.append((self.started, 0, 0))

    def record(self, now: float, accepted: int, failed: int) -> None:
        """Add a sample of the cumulative counters; forget what no summary needs any more."""
        samples = self._samples
        samples.append((now, accepted, failed))
        horizon = now - max(self.step * (self.buckets + 1), RATE_WINDOW)
        # keep one sample at or before the horizon: the baseline of the oldest bucket
        while len(samples) > 1 and samples[1][0] <= horizon:
            samples.popleft()

    def _at_each(self, times: list[float]) -> list[tuple[float, int, int]]:
        """For each time (ascending), the latest sample at or before it (the first sample
        when there is none): one pass over the samples."""
        rest = iter(self._samples)
        current = next(rest)
        ahead = next(rest, None)
        out: list[tuple[float, int, int]] = []
        for when in times:
            while ahead is not None and ahead[0] <= when:
                current, ahead = ahead, next(rest, None)
            out.append(current)
        return out

    def per_second(self, now: float) -> float:
        """Accepted messages per second over the last minute (or since the link started)."""
        last = self._samples[-1]
        (base,) = self._at_each([now - RATE_WINDOW])
        span = last[0] - base[0]
        return (last[1] - base[1]) / span if span > 0 else 0.0

    def history(self, now: float) -> dict[str, Any]:
        """Counts per complete bucket, oldest first; buckets end on multiples of ``step``
        so that the same data gives the same series at every poll within a bucket."""
        end = math.floor(now / self.step) * self.step
        bounds = [end - k * self.step for k in range(self.buckets, -1, -1)]
        at = self._at_each(bounds)
        pairs = list(itertools.pairwise(at))
        return {
            "step": self.step,
            "accepted": [max(0, b[1] - a[1]) for a, b in pairs],
            "failed": [max(0, b[2] - a[2]) for a, b in pairs],
        }

    def summary(self, now: float) -> dict[str, Any]:
        return {
            "per_second_1m": round(self.per_second(now), 2),
            "history": self.history(now),
        }
