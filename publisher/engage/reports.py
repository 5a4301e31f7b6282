"""A campaign's report over a window: what went out, what the platforms counted, the clicks
through its short links, the results its systems reported, against its goals.

Every figure is a sum of stored facts, computed in the database (a campaign with a
million clicks is grouped there, not read): publications published in the window; each
one's metrics as its last pull before the window's end found them (pulls are running
totals); clicks by people (bots apart) and conversions that happened in the window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, func, select, true
from sqlmodel import Session

from publisher.core.engagement_models import ClickBucket, ClickDay, LinkClick, MetricSnapshot
from publisher.core.errors import ValidationFailed, field_error
from publisher.core.models import (
    Campaign,
    Channel,
    Conversion,
    Member,
    Post,
    Publication,
)
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage.figures import (
    BASE_METRICS,
    BUCKET_S,
    Figures,
    PublicationFigures,
    bucket_of,
    label,
)

MAX_WINDOW = timedelta(days=400)
_TICK = timedelta(microseconds=1)  # the finest step of a stored instant
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Report:
    campaign: Campaign
    start: datetime
    end: datetime
    time_zone: str
    totals: Figures
    publications: list[PublicationFigures]
    by_channel: dict[int, Figures]
    by_day: dict[date, Figures]
    advocates: list[tuple[Member, int]]
    previous: Figures | None = None
    previous_start: datetime | None = None


def campaign_report(
    session: Session,
    actor: Actor,
    campaign_id: int,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    time_zone: str = "UTC",
    compare_previous: bool = False,
) -> Report:
    """The campaign's report over [start, end): by default from its start (else its
    creation) to its end, or now if it has not ended."""
    actor.require(Permission.READ)
    campaign = owned(session, Campaign, campaign_id, actor)
    start = start or campaign.starts_at or campaign.created_at
    end = end or min(campaign.ends_at or now, now)
    if end <= start:
        end = start  # an empty window: every figure 0
    if end - start > MAX_WINDOW:
        raise ValidationFailed(
            "a report covers 400 days at most",
            [field_error(["query", "from"], "more than 400 days before the window's end")],
        )
    if compare_previous and start - EPOCH < end - start:
        raise ValidationFailed(
            "the window before this one would start before 1970",
            [field_error(["query", "compare"], "no window before this one to compare with")],
        )
    clicks = click_counts(session, campaign.id, start, end)
    pubs = publication_figures(session, campaign.id, start, end, clicks)
    figures = window_figures(session, campaign.id, pubs, start, end, clicks)
    report = Report(
        campaign=campaign,
        start=start,
        end=end,
        time_zone=time_zone,
        totals=figures,
        publications=pubs,
        by_channel=_by_channel(session, pubs, clicks),
        by_day=_by_day(session, campaign.id, pubs, start, end, ZoneInfo(time_zone), clicks),
        advocates=_advocates(session, campaign.id, start, end),
    )
    if compare_previous:
        span = end - start
        report.previous_start = start - span
        before = click_counts(session, campaign.id, start - span, start)
        earlier = publication_figures(session, campaign.id, start - span, start, before)
        report.previous = window_figures(session, campaign.id, earlier, start - span, start, before)
    return report


def publication_figures(
    session: Session,
    campaign_id: int,
    start: datetime,
    end: datetime,
    clicks: ClickCounts | None = None,
) -> list[PublicationFigures]:
    """Each publication published in the window, with its last pull's metrics before the
    window's end and the clicks through its links in the window."""
    published = session.execute(
        select(Publication.id, Publication.channel_id, Channel.platform, Publication.published_at)
        .join(Post, Post.id == Publication.post_id)
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Post.campaign_id == campaign_id)
        .where(Publication.published_at >= start, Publication.published_at < end)
        .order_by(Publication.published_at, Publication.id)
    ).all()
    ids = [row.id for row in published]
    metrics = last_metrics(session, ids, end)
    clicks = clicks or click_counts(session, campaign_id, start, end)
    return [
        PublicationFigures(
            publication_id=row.id,
            channel_id=row.channel_id,
            platform=row.platform,
            published_at=row.published_at,
            metrics=metrics.get(row.id, {}),
            clicks=clicks.people.get(row.id, 0),
            conversions=clicks.results.get(row.id, {}),
        )
        for row in published
    ]


def last_metrics(
    session: Session, ids: list[int], end: datetime | None = None
) -> dict[int, dict[str, int]]:
    """Each publication's metrics as its last successful pull (before `end`) found them."""
    found: dict[int, dict[str, int]] = {}
    for chunk in _chunks(ids, 500):
        last = (
            select(
                MetricSnapshot.publication_id.label("pid"),
                func.max(MetricSnapshot.taken_at).label("taken_at"),
            )
            .where(MetricSnapshot.publication_id.in_(chunk))
            .where(MetricSnapshot.metrics.is_not(None))
            .where(MetricSnapshot.taken_at < end if end is not None else true())
            .group_by(MetricSnapshot.publication_id)
            .subquery()
        )
        rows = session.execute(
            select(MetricSnapshot.publication_id, MetricSnapshot.metrics, MetricSnapshot.id)
            .join(
                last,
                and_(
                    MetricSnapshot.publication_id == last.c.pid,
                    MetricSnapshot.taken_at == last.c.taken_at,
                ),
            )
            .where(MetricSnapshot.metrics.is_not(None))
            .order_by(MetricSnapshot.id)
        ).all()
        for pid, counts, _ in rows:  # two pulls at the same instant: the later row
            found[pid] = {k: int(v) for k, v in (counts or {}).items() if k in BASE_METRICS}
    return found


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _sum_metrics(pubs: Iterable[PublicationFigures]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for pub in pubs:
        total.update(pub.metrics)
    return {name: total.get(name, 0) for name in BASE_METRICS}


def window_figures(
    session: Session,
    campaign_id: int,
    pubs: list[PublicationFigures],
    start: datetime,
    end: datetime,
    clicks: ClickCounts | None = None,
) -> Figures:
    figures = Figures(publications=len(pubs), metrics=_sum_metrics(pubs))
    clicks = clicks or click_counts(session, campaign_id, start, end)
    figures.clicks = sum(clicks.people.values())
    figures.bot_clicks = sum(clicks.bots.values())
    figures.clicks_on_these = sum(pub.clicks for pub in pubs)
    in_window = and_(
        Conversion.campaign_id == campaign_id,
        Conversion.occurred_at >= start,
        Conversion.occurred_at < end,
    )
    for kind, name, count, cents, currency in session.execute(
        select(
            Conversion.kind,
            Conversion.name,
            func.count(),
            func.sum(Conversion.value_cents),
            Conversion.currency,
        )
        .where(in_window)
        .group_by(Conversion.kind, Conversion.name, Conversion.currency)
    ).all():
        key = label(kind, name)
        figures.conversions[key] = figures.conversions.get(key, 0) + count
        if cents is not None and currency:
            figures.value_cents[currency] = figures.value_cents.get(currency, 0) + int(cents)
    people = session.execute(
        select(Member.id, Member.first_seen_at).where(
            Member.id.in_(select(Conversion.member_id).where(in_window))
        )
    ).all()
    for _, first_seen in people:
        if first_seen >= start:
            figures.new_members += 1
        else:
            figures.returning_members += 1
    return figures


def _by_channel(
    session: Session, pubs: list[PublicationFigures], clicks: ClickCounts
) -> dict[int, Figures]:
    """Publications, metrics, clicks and the results that came through the short links
    per channel (a result that named no link is the campaign's alone: in the totals)."""
    grouped: dict[int, list[PublicationFigures]] = defaultdict(list)
    for pub in pubs:
        grouped[pub.channel_id].append(pub)
    reached = set(clicks.people) | set(clicks.results)
    channel_of = dict(
        session.execute(
            select(Publication.id, Publication.channel_id).where(Publication.id.in_(list(reached)))
        ).all()
    )
    by_channel: Counter[int] = Counter()
    for publication_id, count in clicks.people.items():
        by_channel[channel_of[publication_id]] += count
    results: dict[int, Counter[str]] = defaultdict(Counter)
    for publication_id, kinds in clicks.results.items():
        results[channel_of[publication_id]].update(kinds)
    channels = set(grouped) | set(by_channel) | set(results)
    return {
        channel_id: Figures(
            publications=len(grouped.get(channel_id, [])),
            metrics=_sum_metrics(grouped.get(channel_id, [])),
            clicks=by_channel.get(channel_id, 0),
            clicks_on_these=sum(p.clicks for p in grouped.get(channel_id, [])),
            conversions=dict(sorted(results.get(channel_id, Counter()).items())),
        )
        for channel_id in sorted(channels)
    }


def _bucket(session: Session, column):
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
    bucket, instant = _bucket(session, LinkClick.at)
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


def _by_day(
    session: Session,
    campaign_id: int,
    pubs: list[PublicationFigures],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    clicks: ClickCounts,
) -> dict[date, Figures]:
    """Publications, clicks and conversions per day in `zone` (what happened that day; a
    publication's metrics stay with the day it went out)."""
    days: dict[date, Figures] = defaultdict(Figures)

    for pub in pubs:
        figures = days[pub.published_at.astimezone(zone).date()]
        figures.publications += 1
        figures.clicks_on_these += pub.clicks
        for name, value in pub.metrics.items():
            figures.metrics[name] = figures.metrics.get(name, 0) + value
    for moment, count in clicks.by_bucket.items():
        days[moment.astimezone(zone).date()].clicks += count
    bucket, instant = _bucket(session, Conversion.occurred_at)
    for moment, kind, name, count in session.execute(
        select(bucket, Conversion.kind, Conversion.name, func.count())
        .where(Conversion.campaign_id == campaign_id)
        .where(Conversion.occurred_at >= start, Conversion.occurred_at < end)
        .group_by(bucket, Conversion.kind, Conversion.name)
    ).all():
        key = label(kind, name)
        conversions = days[instant(moment).astimezone(zone).date()].conversions
        conversions[key] = conversions.get(key, 0) + count
    return dict(sorted(days.items()))


def _advocates(
    session: Session, campaign_id: int, start: datetime, end: datetime, top: int = 5
) -> list[tuple[Member, int]]:
    """The members whose referral codes brought the most results in the window."""
    rows = session.execute(
        select(Conversion.referrer_id, func.count().label("n"))
        .where(Conversion.campaign_id == campaign_id, Conversion.referrer_id.is_not(None))
        .where(Conversion.occurred_at >= start, Conversion.occurred_at < end)
        .group_by(Conversion.referrer_id)
        .order_by(func.count().desc(), Conversion.referrer_id)
        .limit(top)
    ).all()
    members = {
        m.id: m
        for m in session.execute(select(Member).where(Member.id.in_([r[0] for r in rows])))
        .scalars()
        .all()
    }
    return [(members[rid], n) for rid, n in rows if rid in members]
