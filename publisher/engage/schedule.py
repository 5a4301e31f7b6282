"""When a published post's metrics are pulled: a decaying schedule after its publication
(PUBLISHER_METRICS_SCHEDULE, "1h,6h,1d,3d,7d,14d,21d,28d" by default). Pure."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")


def parse(text: str) -> tuple[timedelta, ...]:
    """Durations after publication, each later than the one before ("1h,6h,1d").
    ValueError, saying what is wrong, for anything else."""
    offsets = []
    for part in text.split(","):
        match = _DURATION.match(part.strip())
        if not match:
            raise ValueError(
                f"PUBLISHER_METRICS_SCHEDULE: {part.strip()!r} is not a duration such as 6h, "
                "3d or 1w (s, m, h, d, w)"
            )
        offsets.append(timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)]))
    if any(later <= earlier for earlier, later in zip(offsets, offsets[1:], strict=False)):
        raise ValueError("PUBLISHER_METRICS_SCHEDULE: each pull must come after the one before")
    if not offsets or offsets[0] <= timedelta(0):
        raise ValueError("PUBLISHER_METRICS_SCHEDULE: the first pull comes after publication")
    return tuple(offsets)


def next_pull(
    published_at: datetime, pulls_done: int, schedule: tuple[timedelta, ...]
) -> datetime | None:
    """When the pull after `pulls_done` is due, or None when the schedule is done."""
    if pulls_done >= len(schedule):
        return None
    return published_at + schedule[pulls_done]
