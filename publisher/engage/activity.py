"""Members' activity: every result reported for a member and every interaction of theirs
on the networks, with the campaign it served. From it, a window's members new to the
community and those returning (recruitment and loyalty), the members active, and
week-over-week retention cohorts. A merged member's activity is the member they were
merged into's (a merge moves the rows); an erased member's stays theirs, anonymous, so
every count stays true. Grouped in the database (a campaign with a hundred thousand
interactions is not read out): the cohorts read one row per member and active week."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, case, cast, distinct, func, literal, select, union_all
from sqlmodel import Session

from publisher.core.models import Conversion, Interaction, Member

WEEK = timedelta(weeks=1)
WEEK_US = WEEK // timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _touches(
    workspace_id: int,
    end: datetime,
    *,
    start: datetime | None = None,
    campaign_id: int | None = None,
    any_campaign: bool = False,
):
    """(member, at) for every result and interaction of a member in [start, end) (from
    the beginning without `start`): those that served `campaign_id` if it is given, those
    that served any campaign with `any_campaign`."""
    results = select(
        Conversion.member_id.label("member"), Conversion.occurred_at.label("at")
    ).where(
        Conversion.workspace_id == workspace_id,
        Conversion.member_id.is_not(None),
        Conversion.occurred_at < end,
    )
    interactions = (
        select(Interaction.member_id.label("member"), Interaction.occurred_at.label("at"))
        .select_from(Interaction)
        .where(Interaction.member_id.is_not(None), Interaction.occurred_at < end)
    )
    if campaign_id is None:  # (a campaign's publications are its workspace's already)
        interactions = interactions.where(Interaction.workspace_id == workspace_id)
    if start is not None:
        results = results.where(Conversion.occurred_at >= start)
        interactions = interactions.where(Interaction.occurred_at >= start)
    if campaign_id is not None:
        results = results.where(Conversion.campaign_id == campaign_id)
        interactions = interactions.where(Interaction.campaign_id == campaign_id)
    elif any_campaign:
        results = results.where(Conversion.campaign_id.is_not(None))
        interactions = interactions.where(Interaction.campaign_id.is_not(None))
    return union_all(results, interactions).subquery()


def new_and_returning(
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    *,
    campaign_id: int | None = None,
    any_campaign: bool = False,
) -> tuple[int, int]:
    """Of the members active in [start, end) (in the campaign, or in any with
    `any_campaign`): how many the community first saw in it (new), and how many before
    it (returning). Each member once."""
    touched = _touches(
        workspace_id, end, start=start, campaign_id=campaign_id, any_campaign=any_campaign
    )
    new = case((Member.first_seen_at >= start, 1), else_=0).label("new")
    counts = dict(
        session.execute(
            select(new, func.count())
            .where(Member.id.in_(select(touched.c.member)))  # each member once
            .group_by(new)
        ).all()
    )
    return counts.get(1, 0), counts.get(0, 0)


def active_members(session: Session, workspace_id: int, start: datetime, end: datetime) -> int:
    """The members with a result or an interaction in [start, end)."""
    touched = _touches(workspace_id, end, start=start)
    return session.execute(select(func.count(distinct(touched.c.member)))).scalar_one()


def first_touches(workspace_id: int, campaign_id: int, end: datetime):
    """(member, first) for each member: their first touch of the campaign (ever, before
    `end`), as a subquery."""
    touched = _touches(workspace_id, end, campaign_id=campaign_id)
    return (
        select(touched.c.member.label("member"), func.min(touched.c.at).label("first"))
        .group_by(touched.c.member)
        .subquery()
    )


def first_seen(workspace_id: int):
    """(member, first) for each member: when the community first saw them (merged ones
    are the member kept's), as a subquery."""
    return (
        select(Member.id.label("member"), Member.first_seen_at.label("first"))
        .where(Member.workspace_id == workspace_id, Member.merged_into.is_(None))
        .subquery()
    )


def cohorts(
    session: Session,
    workspace_id: int,
    first,
    start: datetime,
    end: datetime,
    weeks: int,
    *,
    campaign_id: int | None = None,
) -> list[dict]:
    """Members by the week (from `start`) of their `first` date (a subquery of (member,
    first): first_touches or first_seen), and for each following week in the window the
    share of them active in it (in the campaign, if one is given): week-over-week
    retention."""
    span_s, week_s = int((end - start).total_seconds()), int(WEEK.total_seconds())
    count = min(weeks, max(0, -(-span_s // week_s)))
    # The weeks shown (what comes after is not read); compared as spans: the last week
    # of a window in 9999 ends past the last representable instant.
    until = end if count * WEEK >= end - start else start + count * WEEK
    origin = _micros(start)
    in_window = (first.c.first >= start) & (first.c.first < until)
    cohort_of = {  # in microseconds, as the database counts the weeks below
        member: (_micros(at) - origin) // WEEK_US
        for member, at in session.execute(select(first.c.member, first.c.first).where(in_window))
    }
    sizes: dict[int, int] = defaultdict(int)
    for week in cohort_of.values():
        sizes[week] += 1
    kept: dict[tuple[int, int], int] = defaultdict(int)
    if cohort_of:
        # The weeks each member was active in, a few per member, matched here (SQLite
        # joins two grouped subqueries row by row; a filter by the cohorts' members would
        # group all their touches again).
        touched = _touches(workspace_id, until, start=start, campaign_id=campaign_id)
        week = _week(session, touched.c.at, start)
        for member, n in session.execute(select(touched.c.member, week).distinct()):
            cohort = cohort_of.get(member)
            if cohort is not None and int(n) > cohort:
                kept[(cohort, int(n))] += 1
    out = []
    for n in range(count):
        size = sizes.get(n, 0)
        retention = [
            round(kept.get((n, later), 0) / size, 6) for later in range(n + 1, count) if size
        ]
        out.append(
            {"week": n, "starts_at": start + n * WEEK, "members": size, "retention": retention}
        )
    return out


def _week(session: Session, column, start: datetime):
    """The week (0, 1, ...) from `start` a stored instant falls in, to the microsecond.
    SQLite keeps UTC instants as text ('YYYY-MM-DD HH:MM:SS.ffffff'): whole seconds from
    strftime, the microseconds from the text."""
    origin = literal(_micros(start), BigInteger)
    if session.get_bind().dialect.name == "postgresql":
        micros = cast(func.floor(func.extract("epoch", column) * 1_000_000), BigInteger)
    else:
        seconds = cast(func.strftime("%s", column), BigInteger)
        micros = seconds * 1_000_000 + cast(func.substr(column, 21, 6), BigInteger)
    return (micros - origin) // WEEK_US


def _micros(at: datetime) -> int:
    """An instant in whole microseconds since 1970 (exact: no float on the way)."""
    return (at - EPOCH) // timedelta(microseconds=1)
