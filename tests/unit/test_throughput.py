"""The recent-throughput summary of a connector: rate over the last minute and buckets."""

from __future__ import annotations

from smsstreams.channels.throughput import RATE_WINDOW, Throughput


def test_a_new_link_has_an_empty_history() -> None:
    t = Throughput(started=1000.0)
    summary = t.summary(1000.0)
    assert summary["per_second_1m"] == 0
    history = summary["history"]
    assert history["step"] == 5.0
    assert history["accepted"] == [0] * 36 and history["failed"] == [0] * 36


def test_rate_is_averaged_since_start_then_over_the_last_minute() -> None:
    t = Throughput(started=0.0)
    for second in range(1, 31):  # 10 msg/s for 30 s
        t.record(float(second), second * 10, 0)
    assert t.per_second(30.0) == 10.0  # the link is younger than a minute
    for second in range(31, 121):  # then nothing for 90 s
        t.record(float(second), 300, 0)
    assert t.per_second(120.0) == 0.0
    t.record(150.0, 600, 0)  # 300 in the last 30 s of the minute
    assert t.per_second(150.0) == 300 / RATE_WINDOW


def test_buckets_count_what_happened_in_each_complete_step() -> None:
    t = Throughput(started=100.0, step=5.0, buckets=4)
    t.record(101.0, 3, 0)
    t.record(104.0, 5, 1)  # bucket [100, 105): 5 accepted, 1 failed
    t.record(106.0, 5, 1)
    t.record(112.0, 9, 1)  # [105, 110): 0; [110, 115): 4
    t.record(116.0, 20, 4)  # in the current bucket [115, 120): not shown yet
    history = t.history(116.0)
    assert history["accepted"] == [0, 5, 0, 4]  # [95, 100) is before the link started
    assert history["failed"] == [0, 1, 0, 0]
    assert t.history(119.9) == history  # the same series at every poll of a bucket
    assert t.history(120.0)["accepted"] == [5, 0, 4, 11]


def test_old_samples_are_forgotten_but_one_baseline_is_kept() -> None:
    t = Throughput(started=0.0, step=5.0, buckets=36)
    for second in range(1, 3601):
        t.record(float(second), second, 0)
    assert len(t._samples) < 200  # a few minutes of one-second samples
    assert t.per_second(3600.0) == 1.0
    assert t.history(3600.0)["accepted"] == [5] * 36


def test_counters_that_start_again_do_not_go_negative() -> None:
    t = Throughput(started=0.0, step=5.0, buckets=2)
    t.record(4.0, 50, 5)
    t.record(6.0, 2, 0)  # a new client: counters from zero
    assert t.history(10.0) == {"step": 5.0, "accepted": [50, 0], "failed": [5, 0]}
