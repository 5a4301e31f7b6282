"""Posting slots: a channel's weekly timetable, and "add to queue" taking the next free slot.

A slot is a weekday and a local time in the timetable's time zone ("monday 09:00
Europe/Paris"); local times a zone skips or repeats follow `publisher.core.localtime`. A slot
is free when no live publication of the channel is scheduled at its instant (cancelled,
rejected and failed ones free it). Two clients adding to the same queue at once get two
different slots: the channel row is locked (PostgreSQL) or the write transaction is
exclusive (SQLite) while the slot is chosen.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from publisher.core.errors import Conflict
from publisher.core.localtime import to_local, to_utc
from publisher.core.models import Channel, Publication
from publisher.core.states import Status
from publisher.core.workspaces import Actor, Permission
from publisher.plan.channels import get_channel
from publisher.plan.schemas import WEEKDAYS, SlotsIn

# How far ahead "add to queue" looks for a free slot before answering 409.
SEARCH = timedelta(weeks=12)
_FREEING = (Status.CANCELLED, Status.REJECTED, Status.FAILED, Status.EXPIRED)


def update_slots(
    session: Session, actor: Actor, channel_id: int, data: SlotsIn, *, now: datetime
) -> Channel:
    """Replace the channel's timetable (an empty list removes it)."""
    actor.require(Permission.MANAGE_CHANNELS)
    channel = get_channel(session, actor, channel_id)
    slots = sorted({(WEEKDAYS.index(s.day), s.time) for s in data.slots})
    channel.slots = {
        "time_zone": data.time_zone,
        "slots": [{"day": WEEKDAYS[day], "time": at} for day, at in slots],
    }
    channel.updated_at = now
    return channel


def free_slots(
    session: Session, channel: Channel, *, after: datetime, count: int
) -> list[datetime]:
    """The next `count` free slot instants strictly after `after` (within SEARCH)."""
    timetable = channel.slots or {}
    weekly = _weekly(timetable)
    if not weekly:
        return []
    zone = timetable["time_zone"]
    taken = set(
        session.scalars(
            select(Publication.scheduled_at).where(
                Publication.channel_id == channel.id,
                Publication.scheduled_at > after,
                Publication.scheduled_at <= after + SEARCH,
                Publication.status.not_in(_FREEING),
            )
        )
    )
    found: list[datetime] = []
    first_day = to_local(after, zone).date()
    for offset in range(SEARCH.days + 1):
        day = first_day + timedelta(days=offset)
        # Sorted as instants: a skipped local time can land after a later one.
        for instant in sorted(_instant(day, at, zone) for at in weekly.get(day.weekday(), ())):
            if instant <= after or instant in taken or instant in found:
                continue
            found.append(instant)
            if len(found) == count:
                return found
    return found


def take_next_slot(session: Session, channel_id: int, *, now: datetime) -> tuple[datetime, str]:
    """Lock the channel and return its next free slot and the timetable's time zone.
    Raises Conflict when the timetable is full for the next SEARCH."""
    channel = session.scalars(
        select(Channel)
        .where(Channel.id == channel_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    found = free_slots(session, channel, after=now, count=1)
    if not found:
        weeks = SEARCH.days // 7
        raise Conflict(
            f"channel {channel.name!r} has no free posting slot in the next {weeks} weeks"
        )
    return found[0], channel.slots["time_zone"]


def has_slots(channel: Channel) -> bool:
    return bool(_weekly(channel.slots or {}))


def _weekly(timetable: dict[str, Any]) -> dict[int, list[time]]:
    weekly: dict[int, list[time]] = {}
    for slot in timetable.get("slots", ()):
        weekly.setdefault(WEEKDAYS.index(slot["day"]), []).append(time.fromisoformat(slot["time"]))
    return weekly


def _instant(day: date, at: time, zone: str) -> datetime:
    return to_utc(datetime.combine(day, at), zone)
