"""The one rule for local times a zone skips or repeats, and RRULE checking."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from publisher.core.localtime import to_local, to_utc
from publisher.plan.rules import first_occurrence, normalise_rule, parse


def test_an_ordinary_local_time_takes_the_offset_of_its_season():
    assert to_utc(datetime(2027, 1, 4, 9, 0), "Europe/Paris") == datetime(
        2027, 1, 4, 8, 0, tzinfo=UTC
    )
    assert to_utc(datetime(2027, 7, 5, 9, 0), "Europe/Paris") == datetime(
        2027, 7, 5, 7, 0, tzinfo=UTC
    )


def test_a_skipped_local_time_moves_forward_by_the_gap():
    # Paris, 2027-03-28: 02:00 CET -> 03:00 CEST. 02:30 does not exist; RFC 5545 reads it
    # with the offset before the gap (+01:00): 01:30 UTC, which is 03:30 local.
    instant = to_utc(datetime(2027, 3, 28, 2, 30), "Europe/Paris")
    assert instant == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert to_local(instant, "Europe/Paris") == datetime(2027, 3, 28, 3, 30)
    # New York, 2027-03-14: the same rule, the other side of the Atlantic.
    assert to_utc(datetime(2027, 3, 14, 2, 30), "America/New_York") == datetime(
        2027, 3, 14, 7, 30, tzinfo=UTC
    )


def test_a_repeated_local_time_means_its_first_occurrence():
    # Paris, 2027-10-31: 03:00 CEST -> 02:00 CET, 02:30 happens twice; the first is CEST.
    instant = to_utc(datetime(2027, 10, 31, 2, 30), "Europe/Paris")
    assert instant == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_a_zone_with_no_daylight_saving_is_a_plain_offset():
    assert to_utc(datetime(2027, 3, 28, 2, 30), "Asia/Tokyo") == datetime(
        2027, 3, 27, 17, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("rule", "normalised"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("RRULE:freq=weekly;byday=mo,th", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=6", "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=6"),
        ("FREQ=DAILY;UNTIL=20270101T000000Z", "FREQ=DAILY;UNTIL=20270101T000000Z"),
        ("FREQ=HOURLY;INTERVAL=6", "FREQ=HOURLY;INTERVAL=6"),
    ],
)
def test_rules_in_rfc_5545_form_are_accepted(rule, normalised):
    assert normalise_rule(rule) == normalised


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=MINUTELY", "FREQ must be one of"),
        ("FREQ=SECONDLY;COUNT=3", "FREQ must be one of"),
        ("BYDAY=MO", "needs a FREQ"),
        ("every monday", "expected an RFC 5545 RRULE"),
        ("FREQ=WEEKLY;FREQ=DAILY", "once"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20270101T000000Z", "COUNT or UNTIL"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a valid RRULE"),
        ("FREQ=DAILY;BYHOUR=25", "not a valid RRULE"),
        ("FREQ=DAILY;WKST=ZZ", "not a valid RRULE"),
        ("FREQ=DAILY\nDTSTART:20270101T000000", "expected an RFC 5545 RRULE"),
    ],
)
def test_malformed_rules_say_what_is_wrong(rule, message):
    with pytest.raises(ValueError, match=message):
        normalise_rule(rule)


def test_a_rule_that_never_matches_has_no_first_occurrence():
    # Dateutil alone would search hour by hour to the year 9999 for a February 30th.
    rule = parse("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", datetime(2027, 1, 1, 9), "UTC")
    assert first_occurrence(rule, after_local=datetime(2027, 1, 1)) is None


def test_a_utc_until_is_read_in_the_series_time_zone():
    # UNTIL=...T080000Z is 09:00 in Paris in winter: the 09:00 occurrence that day counts.
    rule = parse("FREQ=DAILY;UNTIL=20270106T080000Z", datetime(2027, 1, 4, 9, 0), "Europe/Paris")
    assert list(rule) == [datetime(2027, 1, d, 9, 0) for d in (4, 5, 6)]


def test_a_count_spent_before_now_leaves_no_occurrence():
    rule = parse("FREQ=DAILY;COUNT=3", datetime(2027, 1, 4, 9, 0), "Europe/Paris")
    assert first_occurrence(rule, after_local=datetime(2027, 1, 10)) is None
    assert first_occurrence(rule, after_local=datetime(2027, 1, 5)) == datetime(2027, 1, 5, 9)


def test_a_rare_rule_is_found_however_far_its_next_match():
    # February 29th on a Monday: 2016, then 2044. The 400-year proxy must not miss it.
    rule = parse(
        "FREQ=HOURLY;INTERVAL=5;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
        datetime(2027, 1, 1, 9),
        "UTC",
    )
    found = first_occurrence(rule, after_local=datetime(2027, 1, 1))
    assert found is not None and found.date() == date(2044, 2, 29)
