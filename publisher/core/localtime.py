"""Wall-clock times in IANA time zones, and the one rule for the times a zone skips or repeats.

Recurrences and posting slots are planned in local time ("every Monday at 09:00
Europe/Paris" stays 09:00 across daylight-saving changes). Twice a year a local time
does not map to exactly one instant; RFC 5545 (3.3.5) fixes the rule we follow:

- a time that occurs twice (clocks go back) means its first occurrence, the one still
  on the offset before the change: 02:30 on Paris's last Sunday of October is 00:30 UTC;
- a time that does not occur (clocks go forward) is read with the offset before the
  gap, which lands as far after the gap as it was into it: 02:30 on Paris's last Sunday
  of March is 01:30 UTC, 03:30 local.

Python's `zoneinfo` with `fold=0` implements exactly this (PEP 495), so the rule is one line;
it is kept here, named, so that every caller uses it and the tests pin it down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def to_utc(local: datetime, time_zone: str) -> datetime:
    """The instant a naive local wall-clock time in `time_zone` stands for (RFC 5545 rule)."""
    return local.replace(tzinfo=ZoneInfo(time_zone), fold=0).astimezone(UTC)


def to_local(instant: datetime, time_zone: str) -> datetime:
    """The naive wall-clock time an aware instant shows in `time_zone`."""
    return instant.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)


def intended_local(moment: datetime, time_zone: str) -> datetime:
    """The wall-clock time a client meant by `moment` in `time_zone`: the time as written
    when its offset is one the zone gives that time (either of a repeated time, or the
    offset before or after a gap for a time the zone skips), else the instant's own local
    time. A series keeps this wall-clock time on every date where it exists."""
    written = moment.replace(tzinfo=None)
    zone = ZoneInfo(time_zone)
    offsets = {written.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1)}
    return written if moment.utcoffset() in offsets else to_local(moment, time_zone)


def parse_local(text: str) -> datetime:
    return datetime.fromisoformat(text)


def format_local(local: datetime) -> str:
    return local.replace(microsecond=0).isoformat()


def show_in(instant: datetime, time_zone: str) -> str:
    """`instant` as ISO 8601 in `time_zone`; in UTC when the zone cannot show it (a
    stored row from before times were bounded must not break a read)."""
    try:
        return instant.astimezone(ZoneInfo(time_zone)).isoformat()
    except (OverflowError, ValueError, KeyError):
        return instant.astimezone(UTC).isoformat()
