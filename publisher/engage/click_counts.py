"""A campaign's clicks over a window, for its report: by publication (people and bots
apart) and people's by five minutes, each exactly the clicks stored in the window. Whole
UTC days and whole five minutes are read from the tallies the batch writes keep
(publisher/engage/clicks.py), the window's cut edges click by click; and the results that
came through each publication's short links."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Integer, case, cast, func, select
from sqlmodel import Session

from publisher.core.engagement_models import ClickBucket, ClickDay, LinkClick
from publisher.core.models import Conversion
from publisher.engage.figures import BUCKET_S, bucket_of, label

_TICK = timedelta(microseconds=1)  # the finest step of a stored instant


def five_minutes(session: Session, column):
    """The five minutes a stored instant falls in, and how to read it back as an instant.
    SQLite stores UTC instants as text: the five minutes are read from it without
    converting each row (strftime over a million rows took seconds)."""
    if session.get_bind().dialect.name == "postgresql":
        quarter = cast(func.floor(func.extract("epoch", column) / BUCKET_S), Integer)
        return quarter, lambda b: datetime.fromtimestamp(b * BUCKET_S, UTC)
    # "YYYY-MM-DD HH:M" and then 0 or 5: the five minutes, from the text as stored.
    fifth = case((func.substr(column, 16, 1) < "5", "0"), else_="5")
    return func.substr(column, 1, 15) + fifth, lambda b: datetime.fromisoformat(f"{b}:00").replace(
        tzinfo=UTC
    )


@dataclass
class ClickCounts:
    """The clicks of a campaign's window, counted once for the whole report."""

    people: dict[int, int]  # by publication
    bots: dict[int, int]
    by_bucket: dict[datetime, int]  # people's, by five minutes (UTC)
    # What came of them: the window's results through each publication's links, by kind.
    results: dict[int, dict[str, int]] = field(default_factory=dict)


def click_counts(session: Session, campaign_id: int, start: datetime, end: datetime) -> ClickCounts:
    """The window's clicks by publication (people and bots apart) from the whole UTC days
    inside it, and people's by five minutes from the whole five minutes, both tallied
    (publisher/engage/clicks.py); the clicks at each edge are read one by one. And the
    results that came through them."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # days are UTC days
    people: Counter[int] = Counter()
    bots: Counter[int] = Counter()
    first_day = (start + timedelta(days=1) - _TICK).astimezone(UTC).date()
    last_day = end.astimezone(UTC).date()
    day_edges = [(start, end)]
    if first_day < last_day:
        day_edges = [(start, _midnight(first_day)), (_midnight(last_day), end)]
        for publication_id, bot, count in session.execute(
            select(ClickDay.publication_id, ClickDay.bot, func.sum(ClickDay.count))
            .where(ClickDay.campaign_id == campaign_id)
            .where(ClickDay.day >= first_day, ClickDay.day < last_day)
            .group_by(ClickDay.publication_id, ClickDay.bot)
        ):
            (bots if bot else people)[publication_id] += int(count)
    for low, high in day_edges:
        if low < high:
            for publication_id, bot, count in session.execute(
                select(LinkClick.publication_id, LinkClick.bot, func.count())
                .where(LinkClick.campaign_id == campaign_id)
                .where(LinkClick.at >= low, LinkClick.at < high)
                .group_by(LinkClick.publication_id, LinkClick.bot)
            ):
                (bots if bot else people)[publication_id] += count
    return ClickCounts(
        dict(people),
        dict(bots),
        _people_by_bucket(session, campaign_id, start, end),
        _results_through_links(session, campaign_id, start, end),
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _people_by_bucket(
    session: Session, campaign_id: int, start: datetime, end: datetime
) -> dict[datetime, int]:
    """People's clicks by five minutes (UTC): the whole five minutes from the tallies (read
    on the connection: thousands of rows, no ORM objects), the two edges click by click."""
    found: Counter[datetime] = Counter()
    first, last = bucket_of(start + timedelta(seconds=BUCKET_S) - _TICK), bucket_of(end)
    edges = [(start, end)]
    if first < last:
        edges = [(start, first), (last, end)]
        for moment, count in session.connection().execute(
            select(ClickBucket.bucket, ClickBucket.count).where(
                ClickBucket.campaign_id == campaign_id,
                ClickBucket.bucket >= first,
                ClickBucket.bucket < last,
                ClickBucket.bot.is_(False),
            )
        ):
            found[moment] += count
    bucket, instant = five_minutes(session, LinkClick.at)
    for low, high in edges:
        if low < high:
            for b, count in session.execute(
                select(bucket, func.count())
                .where(LinkClick.campaign_id == campaign_id, LinkClick.bot.is_(False))
                .where(LinkClick.at >= low, LinkClick.at < high)
                .group_by(bucket)
            ):
                found[instant(b)] += count
    return dict(found)


def _results_through_links(
    session: Session, campaign_id: int, start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """The window's results that came through each publication's short links, by kind."""
    results: dict[int, dict[str, int]] = defaultdict(dict)
    for publication_id, kind, name, count in session.execute(
        select(Conversion.publication_id, Conversion.kind, Conversion.name, func.count())
        .where(Conversion.campaign_id == campaign_id, Conversion.publication_id.is_not(None))
        .where(Conversion.occurred_at >= start, Conversion.occurred_at < end)
        .group_by(Conversion.publication_id, Conversion.kind, Conversion.name)
    ).all():
        results[publication_id][label(kind, name)] = count
    return dict(results)
