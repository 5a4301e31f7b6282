"""PUBLISHER_METRICS_SCHEDULE: durations after publication, each later than the last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.engage.schedule import next_pull, parse

OUT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_the_default_reads_as_the_issue_asks():
    assert parse("1h,6h,1d,3d,7d,14d,21d,28d") == tuple(
        timedelta(hours=h) for h in (1, 6, 24, 72, 168, 336, 504, 672)
    )
    assert parse(" 30s , 15m,2w") == (
        timedelta(seconds=30),
        timedelta(minutes=15),
        timedelta(weeks=2),
    )


@pytest.mark.parametrize(
    "text,words",
    [
        ("1h,1h", "after the one before"),
        ("6h,1h", "after the one before"),
        ("0s,1h", "after publication"),
        ("1x", "not a duration"),
        ("", "not a duration"),
        ("1h,,2h", "not a duration"),
        ("-1h", "not a duration"),
        ("1.5h", "not a duration"),
    ],
)
def test_anything_else_is_refused_saying_what_is_wrong(text, words):
    with pytest.raises(ValueError, match=words):
        parse(text)


def test_the_next_pull_follows_the_schedule_and_ends():
    schedule = parse("1h,6h,1d")
    assert next_pull(OUT, 0, schedule) == OUT + timedelta(hours=1)
    assert next_pull(OUT, 2, schedule) == OUT + timedelta(days=1)
    assert next_pull(OUT, 3, schedule) is None
