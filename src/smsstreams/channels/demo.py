"""The demo channel: a carrier simulated in-process, with numbers that always behave the same.

A demo "submit" is accepted at once (status ``sent``, one carrier id per segment) and a
delivery receipt follows after ``SMSSTREAMS_DEMO_RECEIPT_DELAY_MIN..MAX`` seconds:
``delivered``, except a share ``SMSSTREAMS_DEMO_UNDELIVERED_RATE`` of ``undelivered``.

Test numbers (all valid North-American numbers in the fictional 555-01xx block):

=========================  ===========================================================
``+1 202 555 0100 - 0149``  always ``delivered`` (no random failures)
``+1 202 555 0150 - 0159``  always ``undelivered``
``+1 202 555 0160 - 0169``  always ``rejected``
``+1 202 555 0170 - 0179``  never a receipt: ``expired`` when the validity period ends
``+1 202 555 0180 - 0189``  ``delivered``, then (two-way streams) replies ``Echo: <text>``
=========================  ===========================================================

On two-way streams with a numeric sender, a share ``SMSSTREAMS_DEMO_REPLY_RATE`` of other
recipients replies "Thanks, got it" when the receipt comes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

ALWAYS_DELIVERED = range(12025550100, 12025550150)
ALWAYS_UNDELIVERED = range(12025550150, 12025550160)
ALWAYS_REJECTED = range(12025550160, 12025550170)
NEVER_RECEIPT = range(12025550170, 12025550180)
ALWAYS_REPLIES = range(12025550180, 12025550190)

RECEIPT_ERRORS = {
    "delivered": ("000", "DELIVRD"),
    "undelivered": ("001", "UNDELIV"),
    "rejected": ("002", "REJECTD"),
}


@dataclass(frozen=True, slots=True)
class DemoSubmit:
    carrier_ids: list[str]
    receipt_at: datetime | None


@dataclass(frozen=True, slots=True)
class DemoReceipt:
    status: str
    stat: str
    err: str


class DemoChannel:
    name = "demo"

    def __init__(
        self,
        *,
        delay_min: float = 1.0,
        delay_max: float = 2.0,
        undelivered_rate: float = 0.02,
        reply_rate: float = 0.0,
        rand: random.Random | None = None,
    ) -> None:
        self.reply_rate = reply_rate
        self.delay_min = delay_min
        self.delay_max = delay_max
        self.undelivered_rate = undelivered_rate
        self._rand = rand or random.Random()
        self._batch_at: datetime | None = None
        self._batch_delay = 0.0

    @staticmethod
    def _number(recipient: str) -> int:
        return int(recipient.lstrip("+"))

    def submit(self, recipient: str, segments: int, now: datetime) -> DemoSubmit:
        """Accept a message. All messages submitted at the same ``now`` (one dispatcher
        batch) share one receipt time and carry no carrier ids, so the batch is recorded
        with a few statements; the delay still varies from batch to batch."""
        if self._number(recipient) in NEVER_RECEIPT:
            return DemoSubmit([], None)
        return DemoSubmit([], self.receipt_time(now))

    def receipt_time(self, now: datetime) -> datetime:
        """When the receipts of the batch submitted at ``now`` are due."""
        if self._batch_at != now:
            self._batch_at = now
            self._batch_delay = self._rand.uniform(self.delay_min, self.delay_max)
        return now + timedelta(seconds=self._batch_delay)

    #: Recipients (E.164, as stored) that never get a receipt.
    NEVER_RECEIPT_RECIPIENTS = tuple(f"+{n}" for n in NEVER_RECEIPT)

    def receipt(self, recipient: str) -> DemoReceipt:
        number = self._number(recipient)
        if number in ALWAYS_UNDELIVERED:
            status = "undelivered"
        elif number in ALWAYS_REJECTED:
            status = "rejected"
        elif (
            number in ALWAYS_DELIVERED
            or number in ALWAYS_REPLIES
            or self._rand.random() >= self.undelivered_rate
        ):
            status = "delivered"
        else:
            status = "undelivered"
        err, stat = RECEIPT_ERRORS[status]
        return DemoReceipt(status, stat, err)

    def reply(self, recipient: str, text: str) -> str | None:
        """The phone's simulated answer to a delivered message, if it answers."""
        if self._number(recipient) in ALWAYS_REPLIES:
            return f"Echo: {text}"
        if self.reply_rate and self._rand.random() < self.reply_rate:
            return "Thanks, got it"
        return None
