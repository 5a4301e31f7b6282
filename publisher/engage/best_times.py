"""When to post on a channel: its history by hour of the week, in a time zone (the
channel's posting slots' zone, unless another is asked for).

Two facts per hour of the week: how the posts published then did (engagements per
publication in their first days: each one's last pull within two days of going out, so
that a post of last week and one of two months ago are measured at the same age), and
when the audience was active (the interactions the platforms reported). The best hours
are those whose posts did best, among hours with enough posts to say so; the audience's
busiest hours fill the rest, said as such (`basis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from publisher.core.models import Channel, Interaction, MetricSnapshot, Publication
from publisher.core.states import Status
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage.figures import BASE_METRICS, ENGAGEMENTS
from publisher.plan.schemas import WEEKDAYS

LOOK_BACK = timedelta(days=90)
# Every post measured at the same age: its last pull within this of going out (the
# schedule's one-day point, however late it ran; the three-day one comes after).
FIRST_DAYS = timedelta(days=2)


@dataclass
class Hour:
    """One hour of the week (0 = Monday, 0-23) in the chosen zone."""

    day: int
    hour: int
    publications: int = 0
    impressions: int = 0
    engagements: int = 0
    interactions: int = 0

    @property
    def per_publication(self) -> float | None:
        return round(self.engagements / self.publications, 3) if self.publications else None

    @property
    def rate(self) -> float | None:
        return round(self.engagements / self.impressions, 6) if self.impressions else None

    @property
    def slot(self) -> dict[str, str]:
        return {"day": WEEKDAYS[self.day], "time": f"{self.hour:02d}:00"}


@dataclass
class BestTimes:
    channel: Channel
    time_zone: str
    start: datetime
    end: datetime
    hours: list[Hour]  # those with anything in them, Monday 00:00 first
    best: list[tuple[Hour, str]]  # the best hours and the basis of each


def first_days(session: Session, published: dict[int, datetime]) -> dict[int, dict[str, int]]:
    """Each publication's metrics as its last successful pull within FIRST_DAYS of going
    out found them (by publication id; `published`: when each went out)."""
    found: dict[int, dict[str, int]] = {}
    ids = list(published)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(MetricSnapshot.publication_id, MetricSnapshot.taken_at, MetricSnapshot.metrics)
            .where(MetricSnapshot.publication_id.in_(ids[start : start + 500]))
            .where(MetricSnapshot.error.is_(None))  # a refusal found nothing
            .order_by(MetricSnapshot.taken_at, MetricSnapshot.id)
        ).all()
        for pid, taken_at, counts in rows:  # in time: the last one inside wins
            if taken_at < published[pid] + FIRST_DAYS:
                found[pid] = {k: int(v) for k, v in (counts or {}).items() if k in BASE_METRICS}
    return found


def zone_of(channel: Channel) -> str:
    """The channel's zone: its posting slots', else UTC."""
    return (channel.slots or {}).get("time_zone") or "UTC"


def get_best_times(
    session: Session,
    actor: Actor,
    channel_id: int,
    *,
    now: datetime,
    time_zone: str | None = None,
    count: int = 5,
    min_posts: int = 2,
) -> BestTimes:
    actor.require(Permission.READ)
    channel = owned(session, Channel, channel_id, actor, noun="channel")
    zone_name = time_zone or zone_of(channel)
    zone = ZoneInfo(zone_name)
    start = now - LOOK_BACK
    grid = {(d, h): Hour(d, h) for d in range(7) for h in range(24)}

    def cell(moment: datetime) -> Hour:
        local = moment.astimezone(zone)
        return grid[(local.weekday(), local.hour)]

    published = session.execute(  # old enough to have had their first days
        select(Publication.id, Publication.published_at)
        .where(Publication.channel_id == channel.id)
        .where(Publication.status == Status.PUBLISHED)
        .where(Publication.published_at >= start, Publication.published_at < now - FIRST_DAYS)
    ).all()
    metrics = first_days(session, dict(published))
    for pid, at in published:
        if pid not in metrics:
            continue  # never measured in its first days: no figure to judge it by, not a 0
        hour, counts = cell(at), metrics[pid]
        hour.publications += 1
        hour.impressions += counts.get("impressions", 0)
        hour.engagements += sum(counts.get(name, 0) for name in ENGAGEMENTS)
    for (at,) in session.execute(
        select(Interaction.occurred_at)
        .where(Interaction.channel_id == channel.id)
        .where(Interaction.occurred_at >= start, Interaction.occurred_at < now)
    ).all():
        cell(at).interactions += 1

    proven = sorted(
        (h for h in grid.values() if h.publications >= min_posts),
        key=lambda h: (-(h.per_publication or 0), -h.interactions, h.day, h.hour),
    )
    best = [(h, "posts") for h in proven[:count]]
    chosen = {(h.day, h.hour) for h, _ in best}
    busy = sorted(
        (h for h in grid.values() if h.interactions and (h.day, h.hour) not in chosen),
        key=lambda h: (-h.interactions, h.day, h.hour),
    )
    best += [(h, "audience") for h in busy[: count - len(best)]]
    hours = [h for h in grid.values() if h.publications or h.interactions]
    return BestTimes(channel, zone_name, start, now, hours, best)
