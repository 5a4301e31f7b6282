"""Recurrence rules, pure: an RFC 5545 RRULE read, checked and asked about.

`normalise_rule` checks a client's text; `parse` reads it over naive local times in a
zone (a UTC UNTIL turned into local time); `ever_matches` answers "is there any
occurrence at all" in milliseconds where dateutil would step to the year 9999;
`first_occurrence` is the first at or after a local time. No database, no clock:
`publisher.plan.series` materialises a series' occurrences with them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dateutil.rrule import rrule, rrulestr

from publisher.core.localtime import to_local

_CYCLE_YEARS = 400
# A proxy start this late leaves at least one whole cycle before dateutil's year 9999.
_PROXY_FROM_YEAR = 9999 - _CYCLE_YEARS - 1
FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")

_PART = re.compile(r"^[A-Z]+=[A-Z0-9,+\-]+$")
_UNTIL_UTC = re.compile(r"^(\d{8})(T\d{6})?Z$")


def normalise_rule(text: str) -> str:
    """The RRULE value, checked for form: `FREQ=...;...` (an `RRULE:` prefix is dropped).

    Raises ValueError with a message for a person. DTSTART comes from the target's
    `scheduled_at`; a rule finer than hourly is refused (no network wants that).
    """
    value = text.strip()
    if value.upper().startswith("RRULE:"):
        value = value[len("RRULE:") :]
    parts = [p for p in value.upper().split(";") if p]
    if not parts or not all(_PART.match(p) for p in parts):
        raise ValueError("expected an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=MO")
    names = [p.split("=", 1)[0] for p in parts]
    if len(names) != len(set(names)):
        raise ValueError("each RRULE part may appear once")
    freq = dict(p.split("=", 1) for p in parts).get("FREQ")
    if freq is None:
        raise ValueError("the rule needs a FREQ, e.g. FREQ=WEEKLY")
    if freq not in FREQUENCIES:
        raise ValueError(f"FREQ must be one of {', '.join(FREQUENCIES)} (not {freq})")
    if "COUNT" in names and "UNTIL" in names:
        raise ValueError("give COUNT or UNTIL, not both")
    rule = ";".join(parts)
    parse(rule, datetime(2026, 1, 5, 9, 0), "UTC")  # the library's own checks
    return rule


def parse(rule: str, starts_local: datetime, time_zone: str) -> rrule:
    """The dateutil rule over naive local times. A UTC UNTIL (as RFC 5545 asks for a
    zoned DTSTART) is turned into the zone's local time first."""
    parts = []
    for part in rule.split(";"):
        name, _, value = part.partition("=")
        if name == "UNTIL" and (m := _UNTIL_UTC.match(value)):
            try:
                until = datetime.strptime(m.group(1) + (m.group(2) or "T000000"), "%Y%m%dT%H%M%S")
                local = to_local(until.replace(tzinfo=UTC), time_zone)
            except (OverflowError, ValueError):
                raise ValueError(
                    f"UNTIL {value} is not a time {time_zone} can show (years 1 to 9999)"
                ) from None
            value = local.strftime("%Y%m%dT%H%M%S")
        parts.append(f"{name}={value}")
    try:
        return rrulestr(";".join(parts), dtstart=starts_local)
    except Exception as exc:  # noqa: BLE001 - a third-party parser of client text
        raise ValueError(f"not a valid RRULE: {exc}") from None


def ever_matches(rule: rrule) -> bool:
    """Whether the rule, COUNT and UNTIL aside, has any occurrence at all.

    A rule such as FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30 never matches, and dateutil learns
    it by stepping hour by hour to the year 9999 (seconds of CPU; its UNTIL is only
    checked on matches). The Gregorian calendar repeats exactly every 400 years (146,097
    days, weekdays included), so the same rule started 400*k years later, near the end of
    dateutil's range, matches iff the real one does, and the search there is short.
    """
    start = rule._dtstart  # noqa: SLF001 - dateutil exposes no getter
    years = _CYCLE_YEARS * ((_PROXY_FROM_YEAR - start.year) // _CYCLE_YEARS)
    proxy = rule.replace(dtstart=start.replace(year=start.year + years), count=None, until=None)
    return next(iter(proxy), None) is not None


def first_occurrence(rule: rrule, *, after_local: datetime) -> datetime | None:
    """The first occurrence at or after `after_local`, or None (never, or COUNT/UNTIL spent)."""
    if not ever_matches(rule):
        return None
    return rule.after(after_local, inc=True)
