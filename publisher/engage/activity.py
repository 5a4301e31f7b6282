"""Members' activity: every result reported for a member and every interaction of theirs
on the networks, with the campaign it served. From it, a window's members new to the
community and those returning (recruitment and loyalty), and week-over-week retention
cohorts. A merged member's activity is the member they were merged into's; an erased
member's stays theirs, anonymous, so every count stays true."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from publisher.core.models import Conversion, Interaction, Member, Post, Publication

WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class Touch:
    member: int
    at: datetime
    campaign: int | None  # the campaign the result or the publication served


def touches(
    session: Session,
    workspace_id: int,
    end: datetime,
    *,
    start: datetime | None = None,
    campaign_id: int | None = None,
) -> list[Touch]:
    """Every result and interaction of a member in [start, end) (from the beginning
    without `start`), only those that served `campaign_id` if it is given."""
    results = select(Conversion.member_id, Conversion.occurred_at, Conversion.campaign_id).where(
        Conversion.workspace_id == workspace_id,
        Conversion.member_id.is_not(None),
        Conversion.occurred_at < end,
    )
    interactions = (
        select(Interaction.member_id, Interaction.occurred_at, Post.campaign_id)
        .outerjoin(Publication, Publication.id == Interaction.publication_id)
        .outerjoin(Post, Post.id == Publication.post_id)
        .where(
            Interaction.workspace_id == workspace_id,
            Interaction.member_id.is_not(None),
            Interaction.occurred_at < end,
        )
    )
    if start is not None:
        results = results.where(Conversion.occurred_at >= start)
        interactions = interactions.where(Interaction.occurred_at >= start)
    if campaign_id is not None:
        results = results.where(Conversion.campaign_id == campaign_id)
        interactions = interactions.where(Post.campaign_id == campaign_id)
    return [Touch(*row) for query in (results, interactions) for row in session.execute(query)]


def first_seen(session: Session, members: Iterable[int]) -> dict[int, datetime]:
    """When each member was first seen by the community (a result, an interaction, or
    your systems telling the engine of them)."""
    ids, found = sorted(set(members)), {}
    for i in range(0, len(ids), 500):
        found.update(
            session.execute(
                select(Member.id, Member.first_seen_at).where(Member.id.in_(ids[i : i + 500]))
            ).all()
        )
    return found


def new_and_returning(
    session: Session, found: Iterable[Touch], start: datetime, end: datetime
) -> tuple[int, int]:
    """Of the members active in [start, end): how many were first seen in it (new), and
    how many before it (returning)."""
    active = {t.member for t in found if start <= t.at < end}
    first = first_seen(session, active)
    new = sum(1 for member in active if first[member] >= start)
    return new, len(active) - new


def first_touches(found: Iterable[Touch]) -> dict[int, datetime]:
    """Each member's first touch among these."""
    first: dict[int, datetime] = {}
    for touch in found:
        if touch.member not in first or touch.at < first[touch.member]:
            first[touch.member] = touch.at
    return first


def cohorts(
    first: dict[int, datetime],
    found: Iterable[Touch],
    start: datetime,
    end: datetime,
    weeks: int,
) -> list[dict]:
    """Members by the week (from `start`) of their `first` date, and for each following
    week in the window the share of them active in it: week-over-week retention."""

    def week_of(at: datetime) -> int:
        return int((at - start) / WEEK)

    active: dict[int, set[int]] = defaultdict(set)
    for touch in found:
        if start <= touch.at < end:
            active[touch.member].add(week_of(touch.at))
    span_s, week_s = int((end - start).total_seconds()), int(WEEK.total_seconds())
    count = min(weeks, max(0, -(-span_s // week_s)))
    by_week: dict[int, list[int]] = defaultdict(list)
    for member, at in first.items():
        if start <= at < end:
            by_week[week_of(at)].append(member)
    out = []
    for week in range(count):
        members = by_week.get(week, [])
        retention = [
            round(sum(1 for m in members if later in active[m]) / len(members), 6)
            for later in range(week + 1, count)
            if members
        ]
        out.append(
            {
                "week": week,
                "starts_at": start + week * WEEK,
                "members": len(members),
                "retention": retention,
            }
        )
    return out
